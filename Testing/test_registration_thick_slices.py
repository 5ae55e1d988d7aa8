"""A slab is thin in millimetres, not in stored slices (:func:`rau.registration.thin_axes`).

Before, an axis with fewer than 16 working-grid voxels was a slab (scale kept, a refinement allowed to lower the
correlation by 0.25, no field stage), so 90 mm of abdomen stored in 6 mm slices (15 voxels) was one while the same
90 mm in 3 mm slices (30 voxels) was not: patient B's CT -> patient A's resampled to 1 x 1 x 6 mm scored mean Dice
0.149 against 0.320 now (README, "Thick slices are no slab")."""

import SimpleITK as sitk

from rau.registration import THIN_AXIS_VOXELS, thin_axes


def grid(size, spacing):
    image = sitk.Image(list(size), sitk.sitkFloat32)
    image.SetSpacing(list(spacing))
    return image


def test_thick_slices_of_a_normal_extent_are_no_slab():
    assert thin_axes(grid((128, 101, 15), (3.0, 3.0, 6.0))) == []  # 90 mm in 6 mm slices
    assert thin_axes(grid((122, 101, 9), (3.0, 3.0, 10.0))) == []  # 90 mm in 10 mm slices


def test_a_slab_thin_in_millimetres_stays_thin_whatever_its_slices():
    assert thin_axes(grid((128, 101, 2), (3.0, 3.0, 3.0))) == [2]  # a 2-slice target
    assert thin_axes(grid((128, 101, 3), (3.0, 3.0, 10.0))) == [2]  # 30 mm in 10 mm slices
    assert thin_axes(grid((128, 101, THIN_AXIS_VOXELS - 1), (3.0, 3.0, 3.0))) == [2]  # 45 mm in 3 mm slices
    assert thin_axes(grid((128, 101, THIN_AXIS_VOXELS), (3.0, 3.0, 3.0))) == []


def test_a_picture_has_no_thin_axis():
    assert thin_axes(grid((800, 540), (0.1, 0.1))) == []
