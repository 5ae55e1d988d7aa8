"""Where a DICOM file's pixel size comes from: an enhanced file's functional groups (also when they give 1 mm, ITK's
default), or a legacy multi-frame file's tags; a multi-frame file that gives no pixel size is refused whatever its
modality, saying what it gives."""

import pytest
from dicom_files import enhanced_ct, xray_dicom

from rau.io import ImageReadError, read_image

MULTI_FRAME_CAPTURE = "1.2.840.10008.5.1.4.1.1.7.3"
NUCLEAR_MEDICINE = "1.2.840.10008.5.1.4.1.1.20"


def test_an_enhanced_dicom_of_1_mm_voxels_is_read_at_its_functional_groups_size(tmp_path):
    """Before: refused as giving "neither its pixel size nor the gap between its 4 frames", though ITK and Slicer read
    it at 1 x 1 x 1 mm from its functional groups."""
    enhanced = enhanced_ct(tmp_path / "enhanced.dcm", [(0, 0, z) for z in range(4)], pixel_size=1.0)
    assert read_image(enhanced).spacing == (1.0, 1.0, 1.0)
    with pytest.raises(ImageReadError, match=r"enhanced.dcm: a pixel size of 0.5 mm was given, but its header says 1 x 1 x 1 mm"):
        read_image(enhanced, pixel_spacing=0.5)


def test_a_one_frame_enhanced_dicom_of_1_mm_pixels_keeps_them(tmp_path):
    """Before: read as a DICOM file without a pixel size, and a pixel size of 0.5 mm given for it silently taken."""
    enhanced = enhanced_ct(tmp_path / "enhanced.dcm", [(0, 0, 0)], frames=1, pixel_size=1.0)
    image = read_image(enhanced)
    assert image.spacing[:2] == (1.0, 1.0) and image.pixel_size_known
    with pytest.raises(ImageReadError, match=r"enhanced.dcm: a pixel size of 0.5 mm was given, but its header says 1 x 1 mm"):
        read_image(enhanced, pixel_spacing=0.5)


@pytest.mark.parametrize("modality, sop_class", [("OT", MULTI_FRAME_CAPTURE), ("NM", NUCLEAR_MEDICINE)])
def test_a_multi_frame_dicom_that_gives_its_frame_gap_but_no_pixel_size_is_refused_saying_so(tmp_path, modality, sop_class):
    """Before: a secondary capture was refused as giving "neither its pixel size nor the gap" (it gives the gap), and a
    nuclear medicine file read silently at ITK's 1 x 1 mm pixels."""
    frames = xray_dicom(tmp_path / "frames.dcm", modality, sop_class, frames=4, SpacingBetweenSlices="2")
    with pytest.raises(ImageReadError, match=r"frames.dcm: a multi-frame DICOM file that gives the gap between its 4 frames "
                                             r"\(SpacingBetweenSlices\) but not its pixel size \(PixelSpacing\); load it in Slicer"):
        read_image(frames)


RT_IMAGE = "1.2.840.10008.5.1.4.1.1.481.1"


@pytest.mark.parametrize("frames", [3, 1])
def test_an_rt_image_of_1_mm_pixels_keeps_its_image_plane_pixel_spacing(tmp_path, frames):
    """Before: 3 frames were refused as giving "not its pixel size (PixelSpacing)", and 1 frame read as giving none
    (another pixel size silently taken), though ITK reads ImagePlanePixelSpacing, as for 0.5 mm."""
    rt_image = xray_dicom(tmp_path / "rt.dcm", "RTIMAGE", RT_IMAGE, frames=frames, ImagePlanePixelSpacing=[1, 1], SpacingBetweenSlices="2")
    image = read_image(rt_image)
    assert image.spacing[:2] == (1.0, 1.0) and image.pixel_size_known
    assert frames == 1 or image.spacing == (1.0, 1.0, 2.0)
    with pytest.raises(ImageReadError, match=r"rt.dcm: a pixel size of 0.5 mm was given, but its header says 1 x 1"):
        read_image(rt_image, pixel_spacing=0.5)
