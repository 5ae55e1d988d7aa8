"""A JPEG's or TIFF's resolution (dots per inch), which ITK and so Slicer read as the pixel size, is warned of when
rau reads the picture at 1 mm per pixel; the geometry rau reads and writes stays 1 mm."""

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.cli import main
from rau.io import read_image
from rau.user_warnings import collected_warnings


def _picture(path, dpi=None):
    """A small grey gradient saved at ``path`` (format from the suffix) with resolution ``dpi``, if given."""
    array = (np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)
    PILImage.fromarray(array).save(path, **({"dpi": dpi} if dpi else {}))
    return path


def _read_saying(path, pixel_spacing=None):
    with collected_warnings() as said:
        image = read_image(path, pixel_spacing)
    return image, said


def test_segment_warns_that_slicer_shows_a_72_dpi_jpeg_target_at_another_pixel_size_and_writes_1_mm(shared_data, tmp_path, capsys):
    folder = shared_data / "hc18_fetal_head_us"
    target = tmp_path / "us.jpg"
    PILImage.open(folder / "images/001_HC.png").save(target, dpi=(72, 72), quality=95)
    before = target.read_bytes()
    out = tmp_path / "us.seg.nrrd"
    assert main(["segment", "--reference", str(folder / "images/000_HC.png"), "--reference-labels", str(folder / "masks/000_HC_mask.png"),
                 "--target", str(target), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert sitk.ReadImage(str(target)).GetSpacing() == pytest.approx((0.352778, 0.352778), rel=1e-5)  # as Slicer loads it
    assert f"warning: {target}: its resolution (dots per inch) makes Slicer show it with 0.352778 mm pixels" in err
    assert "give it a pixel size of 0.352778 mm" in err
    assert err.count("its resolution (dots per inch)") == 1
    assert sitk.ReadImage(str(out)).GetSpacing()[:2] == (1.0, 1.0)  # what rau writes is unchanged
    assert target.read_bytes() == before


def test_a_283_dpi_tiff_read_without_a_pixel_size_is_warned_of_naming_the_file_and_its_slicer_pixel_size(tmp_path):
    image, said = _read_saying(_picture(tmp_path / "us.tif", (283.3, 283.3)))
    assert image.spacing[:2] == (1.0, 1.0)
    assert len(said) == 1 and said[0].startswith(f"{tmp_path / 'us.tif'}: its resolution (dots per inch) makes Slicer show it with 0.0896576 mm pixels")


def test_a_tiff_named_png_is_warned_of_as_itk_reads_its_resolution(tmp_path):
    picture = tmp_path / "us.png"
    PILImage.open(_picture(tmp_path / "us.tif", (72, 72))).save(picture, format="TIFF", dpi=(72, 72))
    _, said = _read_saying(picture)
    assert len(said) == 1 and "show it with 0.352778 mm pixels" in said[0]


def test_a_tiff_of_unequal_resolutions_is_warned_of_with_advice_to_save_it_otherwise(tmp_path):
    _, said = _read_saying(_picture(tmp_path / "us.tif", (72, 100)))
    assert len(said) == 1 and "show it with 0.352778 x 0.254 mm pixels" in said[0]
    assert "save it without its resolution, or as NRRD with its pixel sizes" in said[0]


@pytest.mark.parametrize("name, dpi", [("us.png", (300, 300)), ("us.bmp", (300, 300)), ("us.jpg", None), ("us.tif", (25.4, 25.4))])
def test_no_warning_where_slicer_also_reads_1_mm_pixels(tmp_path, name, dpi):
    picture = _picture(tmp_path / name, dpi)
    assert sitk.ReadImage(str(picture)).GetSpacing() == pytest.approx((1.0, 1.0), rel=1e-4)
    image, said = _read_saying(picture)
    assert said == [] and image.spacing[:2] == (1.0, 1.0)


def test_no_warning_for_a_jpeg_with_a_resolution_when_a_pixel_size_is_given(tmp_path):
    image, said = _read_saying(_picture(tmp_path / "us.jpg", (72, 72)), pixel_spacing=0.5)
    assert said == [] and image.spacing[:2] == (0.5, 0.5)


def test_a_label_picture_with_a_resolution_reads_at_1_mm_without_a_warning(tmp_path):
    labels = tmp_path / "labels.tif"
    PILImage.fromarray(np.pad(np.ones((8, 8), np.uint8), 20)).save(labels, dpi=(72, 72))
    with collected_warnings() as said:
        label_map = read_image(labels, label_map=True)
    assert said == [] and label_map.spacing[:2] == (1.0, 1.0)
