"""Slice <-> SAM2 frame geometry: axis choice, physically square fields, box and point mapping."""

import numpy as np
import pytest
import torch

from rau.image import Image
from rau.sam2.frames import Frames, SliceGeometry, SliceSource, intensity_window, matching_axis, slice_axis


def test_default_axis_is_the_coarsest_spacing_and_names_are_checked():
    assert slice_axis(Image(np.zeros((5, 6, 7)), spacing=(0.7, 0.7, 5.0))) == 0  # k
    assert slice_axis(Image(np.zeros((5, 6, 7)), spacing=(4.0, 1.0, 1.0))) == 2  # i
    assert slice_axis(Image(np.zeros((5, 6, 7))), "j") == 1
    assert slice_axis(Image(np.zeros((1, 6, 7)), ndim=2), "i") == 0  # 2D: the only slice
    with pytest.raises(ValueError, match="slice axis"):
        slice_axis(Image(np.zeros((5, 6, 7))), "x")


def test_reference_axis_follows_world_direction_not_array_order():
    target = Image(np.zeros((4, 4, 4)))
    permuted = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], float)  # reference i runs along world z
    reference = Image(np.zeros((4, 4, 4)), direction=permuted)
    assert matching_axis(reference, target, 0) == 2  # target k (world z) is reference i


def test_anisotropic_slice_fills_a_physically_square_field():
    image = Image(np.zeros((3, 20, 40)), spacing=(0.5, 2.0, 1.0))  # rows 20 x 2 mm, cols 40 x 0.5 mm
    geometry = SliceGeometry.of(image, 0, 64)
    assert (geometry.field_rows, geometry.field_cols) == (20, 80)  # 40 mm both ways
    assert geometry.box_to_frame(0, 0, 20, 40) == [0, 0, 32, 64]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_mask_round_trip_through_the_frame_lands_on_the_same_pixels(axis):
    image = Image(np.zeros((12, 30, 45)), spacing=(0.8, 1.3, 3.0))
    geometry = SliceGeometry.of(image, axis, 256)
    plane = torch.zeros(geometry.rows, geometry.cols)
    plane[3:9, 5:20] = 1
    back = geometry.from_frame(geometry.to_frame(plane)) >= 0.5
    assert torch.equal(back, plane.bool())


def test_point_maps_to_the_frame_pixel_under_the_voxel_centre():
    image = Image(np.zeros((1, 32, 32)), ndim=2)
    geometry = SliceGeometry.of(image, 0, 64)
    x, y = geometry.point_to_frame(row=3, col=10)
    assert (x + 0.5, y + 0.5) == (21.0, 7.0)  # centre of voxel (3, 10) at 2 frame px per voxel


def test_frames_are_windowed_in_float_and_leave_the_volume_untouched():
    array = np.linspace(-1000, 1000, 2 * 8 * 8).reshape(2, 8, 8).astype(np.float32)
    original = array.copy()
    image = Image(array)
    source = SliceSource(image, 0, 1, (-100.0, 100.0), SliceGeometry.of(image, 0, 16))
    frame = Frames([source], "cpu", torch.float32, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))[0]
    assert frame.shape == (3, 16, 16) and frame.dtype == torch.float32
    assert np.array_equal(array, original)
    values = frame[0].unique()
    assert len(values) > 3  # a ramp, not a uint8-style two-level image
    assert intensity_window(image, (-160, 240)) == (-160.0, 240.0)


@pytest.mark.parametrize("order", ["RAS", "PIR", "ASL"])
def test_a_large_volumes_window_does_not_depend_on_its_voxel_order(shared_data, order):
    """The automatic window of a CT over a million voxels was taken from a flat stride in file order: the same
    512x512x20 CT stored LPS got (-1024, 495), stored PIR (-1024, 496), and SAM2 another segmentation (978 voxels)."""
    import SimpleITK as sitk

    from rau.io import read_image

    stored = read_image(shared_data / "totalseg_test_fixtures/subjB_ct/image.nii.gz")
    reordered = Image.from_sitk(sitk.DICOMOrient(stored.to_sitk(), order))
    assert stored.array.size > 2_000_000 and not reordered.same_grid(stored)
    assert intensity_window(reordered) == intensity_window(stored)


def test_frames_use_the_checkpoints_normalisation():
    image = Image(np.full((1, 4, 4), 100.0, np.float32), ndim=2)
    source = SliceSource(image, 0, 0, (0.0, 200.0), SliceGeometry.of(image, 0, 4))
    frame = Frames([source], "cpu", torch.float32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))[0]
    assert torch.allclose(frame, torch.zeros(3, 4, 4))  # 0.5 in the window, (0.5 - 0.5) / 0.5


def test_the_automatic_axis_cuts_one_volume_into_the_same_planes_whatever_its_voxel_order():
    """Before, ties went to the earliest array axis: 3 x 3 x 2 mm stored PIR or ASL was cut sagittally (L-R),
    stored LPS or RAS coronally (A-P)."""
    import SimpleITK as sitk

    volume = sitk.Image([8, 7, 6], sitk.sitkInt16)  # stored LPS; spacing (x, y, z) below, world axis 0 L-R, 1 A-P, 2 S-I
    for spacing, world in (((3.0, 2.0, 3.0), 2), ((3.0, 3.0, 2.0), 1), ((3.0, 3.0, 3.0), 2), ((2.0, 3.0, 3.0), 2), ((3.0, 2.0, 2.0), 0)):
        volume.SetSpacing(spacing)
        chosen = set()
        for order in ("LPS", "RAS", "PIR", "ASL", "ILP", "SRA"):
            image = Image.from_sitk(sitk.DICOMOrient(volume, order))
            axis = slice_axis(image)
            chosen.add(int(np.argmax(np.abs(image.direction[:, 2 - axis]))))
        assert chosen == {world}, (spacing, chosen)


def test_axes_that_run_alike_head_foot_are_told_apart_front_back_despite_single_precision():
    """Two isotropic axes 0.6 head-foot, turned about head-foot: the one more front-back is cut, whichever array axis
    holds it and whatever single precision (a NIfTI header's) made of the directions; before, rounding noise decided."""
    u, v = np.array([0.0, 0.8, 0.6]), np.array([np.sqrt(0.4375), -0.45, 0.6])
    for turn in np.linspace(0.1, 3.0, 12):
        rotation = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
        a, b = rotation @ u, rotation @ v
        front_back, other = (a, b) if abs(a[1]) > abs(b[1]) else (b, a)
        other = other + [0.0, 0.0, 2e-7]  # single precision's noise, here against the rule
        for columns in ((np.cross(front_back, other), front_back, other), (np.cross(other, front_back), other, front_back)):
            direction = np.column_stack(columns).astype(np.float32).astype(float)
            image = Image(np.zeros((4, 4, 4)), direction=direction)
            assert np.allclose(direction[:, 2 - slice_axis(image)], front_back, atol=1e-6), turn


def test_a_volume_in_any_voxel_order_is_shown_to_sam2_as_the_same_frames_and_points():
    """Before, the frames followed the file's rows, columns and slice order (the same CT stored RAS was shown mirrored)."""
    import SimpleITK as sitk

    from rau.sam2.frames import View, shown_slices

    volume = Image(np.random.default_rng(0).normal(size=(6, 7, 8)).astype(np.float32), spacing=(0.8, 1.0, 2.0))
    voxel_world = volume.to_world((5, 1, 2))
    shown, points = [], []
    for order in ("LPS", "RAS", "PIR", "ASL", "ILP", "SRA"):
        image = Image.from_sitk(sitk.DICOMOrient(volume.to_sitk(), order))
        axis = slice_axis(image)
        geometry = SliceGeometry.of(image, axis, 32)
        slices = shown_slices(image, axis)
        frames = Frames([SliceSource(image, axis, k, (-2.0, 2.0), geometry) for k in slices], "cpu", torch.float32, (0.5,) * 3, (0.5,) * 3)
        shown.append(torch.stack([frames[n] for n in range(len(frames))]))
        index = [int(v) for v in np.rint(image.to_index(voxel_world))[::-1]]  # (k, j, i)
        row, col = [index[a] for a in range(3) if a != axis]
        points.append((slices.index(index[axis]), geometry.point_to_frame(row, col)))
        plane = torch.from_numpy(np.take(image.array, index[axis], axis=axis) > 0.5)
        assert torch.equal(geometry.from_frame(geometry.to_frame(plane, "nearest")) >= 0.5, plane)  # back in the file's order
    for other in shown[1:]:
        assert torch.equal(other, shown[0])
    assert all(point == points[0] for point in points[1:]), points
    assert View.of(Image(np.zeros((1, 5, 6)), direction=np.diag([-1.0, -1.0, 1.0]), ndim=2), 0) == View()  # a picture: its own order
