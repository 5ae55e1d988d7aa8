"""A reference whose image is a pixel-identical copy of another's (re-saved, so its bytes differ) with the same labels
is one reference given twice: refused before any registration, as a byte copy is (it would vote twice); so is a
conversion of a picture to a one-slice volume file."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

import rau
from rau.cli import main
from rau.engines.base import ReferenceInputError, check_references
from rau.references import load_reference

SPACING = "0.077068008"
PICTURE_SPACING = "0.069135804"


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
    assert (f"{bank} line 5: reference 'resaved_003.png' (labels '003_mask.png') is a copy of '003_HC.png' (labels '003_mask.png', "
            f"{bank} line 3) for 'label_255': the same image and the same voxels of it; it would vote twice on it") in error, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz"])
def test_a_one_slice_conversion_of_a_picture_reference_is_a_copy(tmp_path, suffix):
    """Before: the NIfTI conversion was accepted (NIfTI stores the spacing 0.069135804 in single precision, as
    0.06913580... a few digits on, and the spacings were compared exactly), voting twice; the NRRD one was refused."""
    hc18 = Path(rau.__file__).parent / "sample_data" / "hc18"
    for source, name in ((hc18 / "000_HC.png", "img"), (hc18 / "000_HC_mask.png", "labels")):
        converted = sitk.GetImageFromArray(np.asarray(PILImage.open(source))[None])
        converted.SetSpacing((float(PICTURE_SPACING), float(PICTURE_SPACING), 1.0))
        sitk.WriteImage(converted, str(tmp_path / f"{name}{suffix}"))
    shutil.copy(hc18 / "000_HC_mask.labels.csv", tmp_path / "labels.labels.csv")
    picture = load_reference(hc18 / "000_HC.png", hc18 / "000_HC_mask.png", float(PICTURE_SPACING))
    conversion = load_reference(tmp_path / f"img{suffix}", tmp_path / f"labels{suffix}")
    with pytest.raises(ReferenceInputError, match=f"reference 'img{suffix}' .* is a copy of '000_HC.png' .* for 'fetal head'"):
        check_references([picture, conversion])
