"""The synthetic and cross-subject set builders of benchmarks/ (make_chest_ct_pair.py, make_brain_mr_sets.py,
make_ct_slice_pairs.py, make_totalseg_warped.py, make_heldout_like_sets.py): each writes manifests that rau reads, with
every pair's target labels non-empty and on the target's grid; make_hc18_variants.py changes HC18's targets as it says."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, script_environment
from refused_scripts import refused
from rau.evaluation.manifest import read_manifest
from rau.io import read_image, read_segmentation
from shared_data import PROTOCOLS, protocol_path, protocol_rows

BUILDERS = {
    "make_chest_ct_pair.py": {"manifest.csv": 1},
    "make_brain_mr_sets.py": {"brain2d/manifest.csv": 16, "brain3d/manifest.csv": 2},
    "make_ct_slice_pairs.py": {"manifest.csv": 20},
    "make_totalseg_warped.py": {"a_warp.csv": 3, "onto_a.csv": 2},
    "make_heldout_like_sets.py": {"drr/manifest.csv": 2, "ct_to_mr/manifest.csv": 12, "colin_t2/manifest.csv": 6},
}
"""Script -> {manifest: rows}. All but the chest CT pair (slicerio's data) read ../shared/data."""
OPTIONS = {"make_heldout_like_sets.py": ["--sets", "drr", "ct_to_mr", "colin_t2"]}
"""A builder's options in that test: three of the five held-out-like sets (mr_to_mr is built as ct_to_mr, colin_bias as
colin_t2), to keep it short."""
OUT_AND_DATA_BUILDERS = sorted(BUILDERS) + ["make_hc18_variants.py"]
"""The builders taking OUT and --data (make_hc18_variants.py's own test is below)."""


@pytest.mark.parametrize("script", sorted(BUILDERS))
def test_the_built_manifests_read_with_labels_on_the_target_grid(tmp_path, request, script):
    data = [] if script == "make_chest_ct_pair.py" else ["--data", str(request.getfixturevalue("shared_data"))]
    subprocess.run([sys.executable, str(REPO / "benchmarks" / script), str(tmp_path), *data, *OPTIONS.get(script, [])], check=True,
                   capture_output=True, timeout=300, env=script_environment())

    for manifest, rows in BUILDERS[script].items():
        cases = read_manifest(tmp_path / manifest)
        assert sum(len(case.references) for case in cases) == rows
        for case in cases:
            truth = read_segmentation(case.target_labels, label_table=case.label_table, pixel_spacing=case.target_spacing)
            assert truth.geometry.same_grid(read_image(case.target_image, case.target_spacing)), case.target_labels
            assert len(truth.present()) > 0, case.target_labels


def test_one_slice_copies_refuses_a_missing_or_foreign_manifest_without_making_its_folder(tmp_path, monkeypatch, capsys):
    """Before: a traceback (FileNotFoundError, KeyError 'reference_image'), and an empty output folder left."""
    (tmp_path / "notes.csv").write_text("image,labels\na.png,b.png\n")
    for manifest, said in ((tmp_path / "absent.csv", "manifest .*absent.csv does not exist"),
                           (tmp_path / "notes.csv", "notes.csv: manifest lacks column\\(s\\) reference_image")):
        run = refused(monkeypatch, capsys, "one_slice_copies", manifest, tmp_path / "out")
        assert run.returncode == 2 and "Traceback" not in run.stderr and not (tmp_path / "out").exists()
        assert re.search(said, run.stderr), run.stderr


def test_one_slice_copies_refuses_to_write_over_its_inputs(tmp_path, monkeypatch, capsys):
    """OUT the manifest's folder, one-slice NIfTI inputs: before, the copies were written over their sources, then
    shutil.SameFileError (exit 1). Now refused before anything is written."""
    import numpy as np
    import SimpleITK as sitk

    for name, value in (("ref", 60), ("ref_labels", 1), ("tgt", 70), ("tgt_labels", 1)):
        array = np.zeros((1, 12, 12), np.uint8)
        array[0, 3:9, 3:9] = value
        sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / f"{name}.nii.gz"))
    (tmp_path / "ref_labels.labels.csv").write_text("value,name\n1,disc\n")
    (tmp_path / "manifest.csv").write_text("reference_image,reference_labels,target_image,target_labels\n"
                                           "ref.nii.gz,ref_labels.nii.gz,tgt.nii.gz,tgt_labels.nii.gz\n")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    run = refused(monkeypatch, capsys, "one_slice_copies", tmp_path / "manifest.csv", tmp_path, "--suffix", ".nii.gz")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert re.search(r"OUT: .*ref.nii.gz would overwrite the input file .*ref.nii.gz; give another folder", run.stderr), run.stderr
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


@pytest.mark.parametrize("script", sorted(set(OUT_AND_DATA_BUILDERS) - {"make_chest_ct_pair.py"}))
def test_builders_refuse_a_missing_or_empty_data_folder_without_making_out(tmp_path, monkeypatch, capsys, script):
    """Before: a traceback (exit 1) and an empty OUT left behind."""
    (tmp_path / "empty").mkdir()
    for data, said in ((tmp_path / "absent", "absent: no such folder"), (tmp_path / "empty", "empty: lacks ")):
        run = refused(monkeypatch, capsys, script.removesuffix(".py"), tmp_path / "out", "--data", data)
        assert run.returncode == 2 and "Traceback" not in run.stderr and f"error: --data {data}" in run.stderr, run.stderr
        assert said in run.stderr and not (tmp_path / "out").exists(), run.stderr


def test_one_slice_copies_refuses_a_missing_file_or_an_unwritable_out_without_making_its_folder(tmp_path, monkeypatch, capsys):
    """Before: a traceback (ImageReadError after the rows before it were copied, or FileNotFoundError), exit 1, and
    a half-filled output folder with no manifest."""
    (tmp_path / "manifest.csv").write_text("reference_image,reference_labels,target_image,target_labels\n"
                                           "absent.png,absent_mask.png,t.png,t_mask.png\n")
    (tmp_path / "file").write_text("")
    for out, said in ((tmp_path / "out", "manifest.csv: 4 files it names cannot be read: line 2: reference_image "),
                      (tmp_path / "file" / "out", f"argument out: folder {tmp_path / 'file' / 'out'}: {tmp_path / 'file'} is a file")):
        run = refused(monkeypatch, capsys, "one_slice_copies", tmp_path / "manifest.csv", out)
        assert run.returncode == 2 and "Traceback" not in run.stderr and said in run.stderr, run.stderr
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("script", OUT_AND_DATA_BUILDERS)
def test_builders_refuse_a_file_as_out(tmp_path, monkeypatch, capsys, script):
    """Before: a traceback (FileExistsError, NotADirectoryError), exit 1."""
    (tmp_path / "file").write_text("")
    run = refused(monkeypatch, capsys, script.removesuffix(".py"), tmp_path / "file")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"error: argument out: folder {tmp_path / 'file'}: a file, not a folder" in run.stderr, run.stderr


def _hc18_layout(shared_data, folder, image_path: str, labels_path: str) -> None:
    """Two shrunk HC18 frames and masks at ``image_path`` / ``labels_path`` ({n}: the frame), a label table beside
    each mask, and the manifest pairing them."""
    from PIL import Image as PILImage

    for n in ("001", "002"):
        for picture, path, resample in (("images/{n}_HC.png", image_path, PILImage.BILINEAR), ("masks/{n}_HC_mask.png", labels_path, PILImage.NEAREST)):
            source = PILImage.open(shared_data / "hc18_fetal_head_us" / picture.format(n=n)).convert("L")
            (folder / path.format(n=n)).parent.mkdir(parents=True, exist_ok=True)
            source.resize((source.width // 8, source.height // 8), resample).save(folder / path.format(n=n))
        (folder / labels_path.format(n=n)).with_suffix(".labels.csv").write_text("value,name\n255,fetal head\n")
    (folder / "manifest.csv").write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
                                         f"{image_path.format(n='001')},{labels_path.format(n='001')},0.7,"
                                         f"{image_path.format(n='002')},{labels_path.format(n='002')},0.5\n")


@pytest.mark.parametrize("image_path, labels_path, names", [
    # the chest X-ray set's layout (make_jsrt_chest_xray_set.py); before: "would both be copied to .../001.nrrd; rename one"
    ("images/{n}.png", "labels/{n}.png", ["images_001.nrrd", "labels_001.nrrd", "images_002.nrrd", "labels_002.nrrd"]),
    ("{n}.png", "{n}_mask.png", ["001.nrrd", "001_mask.nrrd", "002.nrrd", "002_mask.nrrd"]),  # no clash: names as ever
])
def test_one_slice_copies_name_an_image_and_its_mask_of_one_stem_apart(tmp_path, shared_data, image_path, labels_path, names):
    _hc18_layout(shared_data, tmp_path, image_path, labels_path)
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "one_slice_copies.py"), str(tmp_path / "manifest.csv"), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, env=script_environment())
    assert run.returncode == 0, run.stderr
    (case,) = read_manifest(tmp_path / "out" / "manifest.csv")
    assert [path.name for path in (case.references[0].image, case.references[0].labels, case.target_image, case.target_labels)] == names
    for n, (image, labels) in (("001", names[:2]), ("002", names[2:])):
        assert (read_image(tmp_path / "out" / image).array == read_image(tmp_path / image_path.format(n=n)).array).all()
        truth = read_segmentation(tmp_path / "out" / labels)
        assert truth.labels.names == ["fetal head"], labels  # the label table beside the mask travels with its copy


def test_one_slice_copies_refuse_two_files_whose_copies_would_still_clash(tmp_path, shared_data, monkeypatch, capsys):
    _hc18_layout(shared_data, tmp_path, "{n}/images/x.png", "{n}/labels/x.png")  # stems and folders alike
    run = refused(monkeypatch, capsys, "one_slice_copies", tmp_path / "manifest.csv", tmp_path / "out")
    assert run.returncode == 2 and "Traceback" not in run.stderr and not (tmp_path / "out").exists(), run.stderr
    assert re.search(r"002/images/x.png and .*001/images/x.png would both be copied to .*out/images_x.nrrd; rename one", run.stderr), run.stderr


def _grey(path) -> np.ndarray:
    """A picture's grey values, signed (differences of two fit)."""
    return np.asarray(Image.open(path).convert("L")).astype(np.int16)


def _expected_target(variant: str, image: np.ndarray, mask: np.ndarray, spacing: float) -> tuple:
    """The shape, pixel size and mask (None: not checked pixel for pixel) make_hc18_variants.py gives a target."""
    (height, width), even = image.shape, np.s_[:image.shape[0] // 2 * 2:2, :image.shape[1] // 2 * 2:2]
    if variant == "half":
        return (height // 2, width // 2), spacing * 2, mask[even]
    if variant == "crop":
        return (height - 1, width - 1), spacing, mask[1:, 1:]
    if variant == "r075":
        return (round(0.75 * height), round(0.75 * width)), spacing / 0.75, None
    return image.shape, spacing, mask


def test_hc18_variants_change_the_first_targets_as_the_docstring_says(tmp_path, shared_data):
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_hc18_variants.py"), str(tmp_path), "--limit", "2", "--data", str(shared_data)],
                         capture_output=True, text=True, timeout=120, env=script_environment())
    assert run.returncode == 0, run.stderr
    protocol = PROTOCOLS / "hc18_single.csv"
    rows = protocol_rows(protocol)[:2]
    for variant in ("half", "noise", "crop", "r075", "invert", "lowc"):
        cases = read_manifest(tmp_path / variant / "manifest.csv")
        assert len(cases) == 2, variant
        for case, row in zip(cases, rows):
            assert case.references[0].image == protocol_path(row["reference_image"], protocol, shared_data)  # as it is
            original, mask = (_grey(protocol_path(row[column], protocol, shared_data)) for column in ("target_image", "target_labels"))
            image, labels = _grey(case.target_image), _grey(case.target_labels)
            shape, spacing, expected_mask = _expected_target(variant, original, mask, float(row["target_spacing"]))
            assert image.shape == labels.shape == shape and case.target_spacing == pytest.approx(spacing), variant
            assert expected_mask is None or (labels == expected_mask).all(), variant
            if variant == "crop":
                assert (image == original[1:, 1:]).all()
            elif variant == "noise":
                assert np.abs(image - original).max() == 1
            elif variant == "invert":
                assert (image == 255 - original).all()
            elif variant == "lowc":
                assert np.abs(image - (0.25 * original + 96)).max() < 6
