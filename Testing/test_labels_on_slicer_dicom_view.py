"""Labels for a DICOM reference that rau reads at its tags' pixel size while ITK, and so Slicer, shows it at 1 mm
(:func:`rau.io.images.dicom_read_apart`): labels on ITK's grid (drawn on what Slicer shows: a label map or a
.seg.nrrd, whatever part of the image its segment covers) are refused saying why and the ways through; labels on
rau's grid are read; other labels that do not fit are refused without that note."""

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_files import xray_dicom

from rau.errors import InputError
from rau.io import read_image
from rau.io.segmentations import read_segmentation, write_seg_nrrd

DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"
MULTI_FRAME_CAPTURE = "1.2.840.10008.5.1.4.1.1.7.3"
NOTE = (r"ITK, and so Slicer, reads chest.dcm at 1 x 1 mm, while rau reads the pixel size its tags give \(0.25 x 0.3 mm\): "
        r"in Slicer set Volumes module > Volume Information > Image Spacing to 0.25 x 0.3 mm before drawing and exporting "
        r"them, or give the labels as a .png label map$")


def _label_map(path, size, spacing, rows, cols):
    """A NIfTI label map (value 1 at ``rows`` x ``cols``) of ``size`` (columns, rows) pixels of ``spacing`` mm."""
    array = np.zeros(size[::-1], np.uint8)
    array[rows, cols] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


def _seg_nrrd(tmp_path, rows, cols):
    """A .seg.nrrd on Slicer's 1 mm grid of the 40 x 30 pixel DX, as Slicer saves it."""
    drawn = _label_map(tmp_path / "drawn.nii.gz", (40, 30), (1.0, 1.0), rows, cols)
    return write_seg_nrrd(read_segmentation(drawn), tmp_path / "drawn.seg.nrrd")


@pytest.fixture
def chest(tmp_path):
    """A DX giving PixelSpacing alone: rau reads 0.25 x 0.3 mm pixels, ITK 1 mm."""
    return xray_dicom(tmp_path / "chest.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[0.3, 0.25])


def test_a_seg_nrrd_drawn_in_slicer_near_the_origin_is_refused_with_the_note(tmp_path, chest):
    """Before: accepted without a word, its segment at rows 6..21, cols 5..24 of what was drawn at rows 2..5, cols 2..7."""
    labels = _seg_nrrd(tmp_path, slice(2, 6), slice(2, 8))
    with pytest.raises(InputError, match=r"drawn.seg.nrrd: labels on the grid of chest.dcm as Slicer shows it, not as rau reads it; " + NOTE):
        read_segmentation(labels, read_image(chest), image_path=chest)


def test_a_seg_nrrd_drawn_in_slicer_reaching_further_is_refused_with_the_note(tmp_path, chest):
    """Before: "labelled voxels reach ... outside the image", without the note."""
    labels = _seg_nrrd(tmp_path, slice(8, 22), slice(10, 30))
    with pytest.raises(InputError, match=r"drawn.seg.nrrd: labels on the grid of chest.dcm as Slicer shows it, .*; " + NOTE):
        read_segmentation(labels, read_image(chest), image_path=chest)


def test_a_label_map_on_itks_grid_is_refused_with_the_note(tmp_path, chest):
    labels = _label_map(tmp_path / "exported.nii.gz", (40, 30), (1.0, 1.0), slice(8, 22), slice(10, 30))
    with pytest.raises(InputError, match=r"exported.nii.gz: labels on the grid of chest.dcm as Slicer shows it, .*; " + NOTE):
        read_segmentation(labels, read_image(chest), image_path=chest)


def test_an_unrelated_label_map_is_refused_without_the_note(tmp_path, chest):
    """Before: the note on Slicer's 1 mm view was added to any label map that did not fit."""
    labels = _label_map(tmp_path / "other.nii.gz", (64, 64), (1.0, 1.0), slice(8, 22), slice(10, 30))
    with pytest.raises(InputError) as refused:
        read_segmentation(labels, read_image(chest), image_path=chest)
    assert "Slicer" not in str(refused.value) and str(refused.value).startswith(f"{labels}: ")


@pytest.mark.parametrize("seg_nrrd", [False, True])
def test_labels_on_raus_grid_are_read(tmp_path, chest, seg_nrrd):
    labels = _label_map(tmp_path / "tags.nii.gz", (40, 30), (0.25, 0.3), slice(8, 22), slice(10, 30))
    if seg_nrrd:
        labels = write_seg_nrrd(read_segmentation(labels), tmp_path / "tags.seg.nrrd")
    mask = next(iter(read_segmentation(labels, read_image(chest), image_path=chest).masks.values()))
    assert mask.sum() == 14 * 20 and mask[8:22, 10:30].all()


def test_the_note_for_a_3d_reference_offers_no_png_label_map(tmp_path):
    """Before: "give the labels as a .png label map" for a multi-frame reference, which a .png cannot hold."""
    frames = xray_dicom(tmp_path / "frames.dcm", "OT", MULTI_FRAME_CAPTURE, frames=6, PixelSpacing=[0.2, 0.25],
                        SpacingBetweenSlices="2.0")
    array = np.zeros((6, 30, 40), np.uint8)
    array[1:5, 8:22, 10:30] = 1
    sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / "exported.nii.gz"))
    with pytest.raises(InputError, match=r"ITK, and so Slicer, reads frames.dcm at 1 x 1 x 1 mm, .*: in Slicer set .* to 0.25 x 0.2 x 2 mm "
                                         r"before drawing and exporting them$") as refused:
        read_segmentation(tmp_path / "exported.nii.gz", read_image(frames), image_path=frames)
    assert ".png" not in str(refused.value)
