"""A picture target's pixel size as Slicer shows it (a JPEG's or TIFF's resolution in dots per inch, which ITK and so
Slicer read; else 1 mm: a PNG's is not read) against the one rau used (given, else 1 mm): where they differ, a volume
file written for it (NIfTI, NRRD, .seg.nrrd) would not overlay the picture in Slicer, and rau warns of it once; a .png
output keeps no pixel size and overlays."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from conftest import REPO
from rau.cli import main
from rau.io import read_image
from rau.io.images import overlay_problem
from rau.user_warnings import collected_warnings

HC18 = REPO / "RAUSlicer" / "Logic" / "rau" / "sample_data" / "hc18"
HC18_PIXEL_SIZE = "0.085455513"  # 041_HC's, as the HC18 challenge gives it
OVERLAY = "will not overlay it in Slicer"


def _picture(path, dpi=None):
    """A small grey gradient saved at ``path`` (format from the suffix) with resolution ``dpi``, if given."""
    array = (np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)
    PILImage.fromarray(array).save(path, **({"dpi": dpi} if dpi else {}))
    return path


def _segment(target, out, target_spacing=None, *given) -> int:
    """``rau segment`` of ``target`` from HC18's 000_HC, at its pixel size when ``target_spacing`` is given (else both in pixels)."""
    sizes = ["--reference-spacing", "0.069135804", "--target-spacing", target_spacing] if target_spacing else []
    return main(["segment", "--reference", str(HC18 / "000_HC.png"), "--reference-labels", str(HC18 / "000_HC_mask.png"),
                 "--target", str(target), *sizes, *given, "--out", str(out)])


def test_a_png_target_given_its_pixel_size_written_as_nifti_is_warned_of_once_naming_both_sizes_and_the_remedy(tmp_path, capsys):
    """Before: written at 0.0855 mm pixels while Slicer shows the PNG at 1 mm, without a word."""
    target = HC18 / "041_HC.png"
    before = target.read_bytes()
    assert _segment(target, tmp_path / "new.nii.gz", HC18_PIXEL_SIZE, "--seg-nrrd") == 0
    err = capsys.readouterr().err
    warning = (f"warning: {target}: Slicer shows it with 1 mm pixels (it stores none), but rau read it at 0.0854555 mm as given, "
               f"so the segmentation written for it as a volume file {OVERLAY}; to make them agree, in Slicer set "
               "Volumes module > Volume Information > Image Spacing to 0.0854555 x 0.0854555 mm; or write a .png label map")
    assert warning in err and err.count(OVERLAY) == 1
    assert sitk.ReadImage(str(tmp_path / "new.nii.gz")).GetSpacing()[:2] == pytest.approx((0.085455513,) * 2)
    assert any(OVERLAY in said for said in json.loads((tmp_path / "new.result.json").read_text())["warnings"])
    assert target.read_bytes() == before


def test_a_png_output_keeps_no_pixel_size_and_is_not_warned_of(tmp_path, capsys):
    assert _segment(HC18 / "041_HC.png", tmp_path / "new.png", HC18_PIXEL_SIZE) == 0
    assert OVERLAY not in capsys.readouterr().err


def test_a_72_dpi_jpeg_given_the_pixel_size_slicer_shows_is_not_warned_of(tmp_path, capsys):
    target = tmp_path / "us.jpg"
    PILImage.open(HC18 / "041_HC.png").save(target, dpi=(72, 72), quality=95)
    assert sitk.ReadImage(str(target)).GetSpacing() == pytest.approx((0.352778, 0.352778), rel=1e-5)  # as Slicer loads it
    assert _segment(target, tmp_path / "new.nii.gz", "0.3527778") == 0
    assert OVERLAY not in capsys.readouterr().err


def test_a_72_dpi_jpeg_target_read_at_1_mm_is_warned_of_once_with_the_pixel_size_to_give(tmp_path, capsys):
    target = tmp_path / "us.jpg"
    PILImage.open(HC18 / "041_HC.png").save(target, dpi=(72, 72), quality=95)
    before = target.read_bytes()
    assert _segment(target, tmp_path / "new.seg.nrrd") == 0
    err = capsys.readouterr().err
    assert (f"warning: {target}: Slicer shows it with 0.352778 mm pixels (its resolution, dots per inch), but rau read it at 1 mm, "
            "as a picture given no pixel size") in err
    assert ("to make them agree, in Slicer set Volumes module > Volume Information > Image Spacing to 1 x 1 mm; or write a .png "
            "label map, which keeps no pixel size; or give it a pixel size of 0.352778 mm (--target-spacing or a manifest's "
            "spacing column)\n") in err  # the command line's remedies, not a server job's
    assert err.count(OVERLAY) == 1  # at writing only: reading it says nothing
    assert sitk.ReadImage(str(tmp_path / "new.seg.nrrd")).GetSpacing()[:2] == (1.0, 1.0)  # what rau writes is unchanged
    assert target.read_bytes() == before


def test_a_283_dpi_tiff_is_told_with_its_slicer_pixel_size(tmp_path):
    problem = overlay_problem(_picture(tmp_path / "us.tif", (283.3, 283.3)), None, [tmp_path / "out.nrrd"])
    assert problem.startswith(f"{tmp_path / 'us.tif'}: Slicer shows it with 0.0896576 mm pixels (its resolution, dots per inch)")


def test_a_tiff_named_png_is_told_as_itk_reads_its_resolution(tmp_path):
    picture = tmp_path / "us.png"
    PILImage.open(_picture(tmp_path / "us.tif", (72, 72))).save(picture, format="TIFF", dpi=(72, 72))
    assert "shows it with 0.352778 mm pixels" in overlay_problem(picture, None, [tmp_path / "out.nii.gz"])


def test_a_tiff_of_unequal_resolutions_is_told_both(tmp_path):
    problem = overlay_problem(_picture(tmp_path / "us.tif", (72, 100)), 0.3, [tmp_path / "out.nii.gz"])
    assert "shows it with 0.352778 x 0.254 mm pixels" in problem and "--target-spacing" not in problem


@pytest.mark.parametrize("name, dpi", [("us.png", (300, 300)), ("us.bmp", (300, 300)), ("us.jpg", None), ("us.tif", (25.4, 25.4))])
def test_nothing_to_tell_where_slicer_also_shows_1_mm_pixels(tmp_path, name, dpi):
    picture = _picture(tmp_path / name, dpi)
    assert sitk.ReadImage(str(picture)).GetSpacing() == pytest.approx((1.0, 1.0), rel=1e-4)
    assert overlay_problem(picture, None, [tmp_path / "out.nii.gz"]) is None
    assert overlay_problem(picture, 0.5, [tmp_path / "out.png"]) is None
    assert OVERLAY in overlay_problem(picture, 0.5, [tmp_path / "out.nii.gz"])


def test_reading_a_picture_with_a_resolution_says_nothing(tmp_path):
    """The output is what would not overlay: reading (a reference, a target, its labels) warns of nothing."""
    labels = tmp_path / "labels.tif"
    PILImage.fromarray(np.pad(np.ones((8, 8), np.uint8), 20)).save(labels, dpi=(72, 72))
    with collected_warnings() as said:
        image = read_image(_picture(tmp_path / "us.jpg", (72, 72)))
        label_map = read_image(labels, label_map=True)
    assert said == [] and image.spacing[:2] == label_map.spacing[:2] == (1.0, 1.0)
