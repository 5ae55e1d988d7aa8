"""``rau batch`` has no ``--overwrite``: its refusals of outputs that would replace an input, or land beside a label
table not its run's, offer another ``--out`` only, never an option it does not have."""

import shutil

from rau.cli import main
from test_reference_copy_structures import HC18, SPACING, TARGET_SPACING


def manifest(folder, name="m.csv"):
    shutil.copy(HC18 / "000_HC.png", folder)
    shutil.copy(HC18 / "000_HC_mask.png", folder)
    shutil.copy(HC18 / "001_HC.png", folder / "tgt.png")
    path = folder / name
    path.write_text("target_image,reference_image,reference_labels,target_spacing,reference_spacing\n"
                    f"tgt.png,000_HC.png,000_HC_mask.png,{TARGET_SPACING},{SPACING}\n")
    return path


def test_a_manifest_the_summary_would_replace_is_refused_offering_another_out(tmp_path, capsys):
    """Before: '... would replace the input .../batch_summary.csv (refused even with --overwrite)': batch has none."""
    path = manifest(tmp_path, "batch_summary.csv")
    assert main(["batch", str(path), "--out", str(tmp_path), "--no-deformable"]) == 2
    error = capsys.readouterr().err
    assert f"{path}: this output would replace the input {path}; choose another --out" in error, error
    assert "--overwrite" not in error
    assert not (tmp_path / "tgt.nii.gz").exists()


def test_an_output_beside_a_stray_label_table_is_refused_offering_another_out(tmp_path, capsys):
    path = manifest(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tgt.txt").write_text("1 head 255 0 0 255\n")
    assert main(["batch", str(path), "--out", str(out), "--no-deformable"]) == 2
    error = capsys.readouterr().err
    assert "would be read as its label table too, but this run does not write it; move it away, or choose another --out" in error, error
    assert "--overwrite" not in error
    assert not (out / "tgt.nii.gz").exists()
