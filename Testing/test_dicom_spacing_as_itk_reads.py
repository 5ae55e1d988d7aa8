"""A DICOM file rau reads at another spacing than ITK, and so Slicer, does (its tags give a pixel size or frame gap ITK
leaves at 1 mm): a volume written for it is warned of naming both full sizes, a label map exported from Slicer for it
as a reference is refused saying why; an NRRD or MetaImage converted from such a file keeps its header's size."""

import pytest
import SimpleITK as sitk
from dicom_files import xray_dicom

from rau.errors import InputError
from rau.io import read_image
from rau.io.images import overlay_problem
from rau.io.segmentations import read_segmentation

DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"
MULTI_FRAME_CAPTURE = "1.2.840.10008.5.1.4.1.1.7.3"
CT = "1.2.840.10008.5.1.4.1.1.2"


def test_a_multi_frame_capture_is_warned_of_with_its_frame_gap_and_no_png_label_map(tmp_path):
    """Before: "Image Spacing to 0.25 x 0.2 mm" (no 2 mm gap) and a .png label map offered for a 3D target."""
    frames = xray_dicom(tmp_path / "frames.dcm", "OT", MULTI_FRAME_CAPTURE, frames=6, PixelSpacing=[0.2, 0.25],
                        SpacingBetweenSlices="2.0")
    problem = overlay_problem(frames, None, [tmp_path / "out.nii.gz"])
    assert problem.startswith(f"{frames}: Slicer shows it with 1 x 1 x 1 mm voxels (ITK, and so Slicer, reads it at that, while "
                              "rau reads the pixel size its tags give), but rau read it at 0.25 x 0.2 x 2 mm")
    assert "Image Spacing to 0.25 x 0.2 x 2 mm" in problem and ".png" not in problem


def test_a_multi_frame_capture_of_1_mm_pixels_2_mm_apart_is_warned_of(tmp_path):
    """Before: no warning, though rau wrote it 2 mm apart and Slicer shows it 1 mm apart."""
    frames = xray_dicom(tmp_path / "frames.dcm", "OT", MULTI_FRAME_CAPTURE, frames=6, PixelSpacing=[1.0, 1.0],
                        SpacingBetweenSlices="2.0")
    assert "Image Spacing to 1 x 1 x 2 mm" in overlay_problem(frames, None, [tmp_path / "out.nii.gz"])


def test_a_ct_slice_with_imager_pixel_spacing_alone_is_told_in_neutral_words(tmp_path):
    """Before: "ITK reads no pixel size from this kind of file's tags", false of a CT slice (ITK reads its PixelSpacing)."""
    ct = xray_dicom(tmp_path / "ct.dcm", "CT", CT, ImagerPixelSpacing=[0.5, 0.5])
    problem = overlay_problem(ct, None, [tmp_path / "out.nrrd"])
    assert "Slicer shows it with 1 x 1 mm pixels (ITK, and so Slicer, reads it at that" in problem
    assert "0.5 x 0.5 mm" in problem and "reads no pixel size" not in problem and ".png label map" in problem


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_a_volume_file_converted_from_a_dx_keeps_its_header_size(tmp_path, suffix):
    """Before: read at the DICOM tags' 0.25 x 0.2 mm its metadata carries, not the 1 mm of its header."""
    dx = xray_dicom(tmp_path / "dx.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[0.2, 0.25])
    converted = tmp_path / f"dx{suffix}"
    sitk.WriteImage(sitk.ReadImage(str(dx)), str(converted))
    assert sitk.ReadImage(str(converted)).HasMetaDataKey("0008|0016")  # the tags travel with it
    assert read_image(converted).spacing[:2] == (1.0, 1.0)
    assert overlay_problem(converted, None, [tmp_path / "out.nii.gz"]) is None


def test_a_label_map_exported_from_slicer_for_a_dx_reference_is_refused_naming_the_way_through(tmp_path):
    """Before: "... are they the same picture ...?", with no word of the 1 mm Slicer shows nor of a way through."""
    dx = xray_dicom(tmp_path / "ref.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[0.2, 0.25])
    labels = sitk.Cast(sitk.ReadImage(str(dx)) > 600, sitk.sitkUInt8)  # on the 1 mm grid Slicer shows
    sitk.WriteImage(labels, str(tmp_path / "labels.nii.gz"))
    with pytest.raises(InputError, match=r"labels.nii.gz: labels on the grid of ref.dcm as Slicer shows it, not as rau reads it; "
                                         r"ITK, and so Slicer, reads ref.dcm at 1 x 1 mm, while rau reads the pixel size its tags give "
                                         r"\(0.25 x 0.2 mm\): in Slicer set .*Image Spacing to 0.25 x 0.2 mm before drawing and "
                                         r"exporting them, or give the labels as a .png label map$"):
        read_segmentation(tmp_path / "labels.nii.gz", read_image(dx), image_path=dx)
