"""A reference whose image is a pixel-identical copy of another's (re-saved, so its bytes differ) with the same labels
is one reference given twice: refused before any registration, as a byte copy is (it would vote twice)."""

import shutil

from PIL import Image as PILImage

from rau.cli import main

SPACING = "0.077068008"


def test_a_resaved_copy_of_a_reference_image_is_refused_as_voting_twice(shared_data, tmp_path, capsys):
    """Before: accepted (only the files' bytes were compared), the one reference voting twice in the ranking and fusion."""
    folder = shared_data / "hc18_fetal_head_us"
    rows = ["image,labels,pixel_spacing"]
    for name in ("000", "003", "006"):
        shutil.copy(folder / f"masks/{name}_HC_mask.png", tmp_path / f"{name}_mask.png")
        rows.append(f"{folder / f'images/{name}_HC.png'},{tmp_path / f'{name}_mask.png'},{SPACING}")
    resaved = tmp_path / "resaved_003.png"
    PILImage.open(folder / "images/003_HC.png").save(resaved, compress_level=1)
    assert resaved.read_bytes() != (folder / "images/003_HC.png").read_bytes()
    rows.append(f"{resaved},{tmp_path / '003_mask.png'},{SPACING}")
    bank = tmp_path / "bank.csv"
    bank.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out" / "seg.nii.gz"
    code = main(["segment", "--reference-bank", str(bank), "--target", str(folder / "images/058_HC.png"),
                 "--target-spacing", SPACING, "--out", str(out)])
    error = capsys.readouterr().err
    assert code == 2
    labels = tmp_path / "003_mask.png"  # given twice, named by its whole path
    assert (f"{bank} line 5: reference 'resaved_003.png' (labels '{labels}') is a copy of '003_HC.png' (labels '{labels}', "
            f"{bank} line 3) for 'label_255': the same image and the same voxels of it; it would vote twice on it") in error, error
    assert not (tmp_path / "out").exists()
