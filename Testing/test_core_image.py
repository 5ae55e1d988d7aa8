"""The geometry-aware image: SimpleITK round trips, world <-> voxel, resampling in physical space."""

import numpy as np
import pytest
import SimpleITK as sitk

from rau.image import GeometryError, Image, orient_lps, resample_mask, resample_to, single_precision


def oblique_volume() -> Image:
    rng = np.random.default_rng(0)
    angle = np.deg2rad(20)
    direction = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    return Image(rng.normal(size=(5, 7, 9)).astype(np.float32), spacing=(0.7, 1.3, 2.5), origin=(10.0, -20.0, 30.0), direction=direction)


def test_3d_round_trip_through_simpleitk_keeps_voxels_and_geometry():
    image = oblique_volume()
    back = Image.from_sitk(image.to_sitk())
    assert back.same_grid(image)
    np.testing.assert_array_equal(back.array, image.array)
    assert back.ndim == 3


def test_2d_image_is_a_single_slice_volume_and_converts_back_to_2d():
    picture = sitk.GetImageFromArray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    picture.SetSpacing((0.2, 0.3))
    image = Image.from_sitk(picture)
    assert image.shape == (1, 3, 4) and image.ndim == 2 and image.spacing[:2] == (0.2, 0.3)
    again = image.to_sitk()
    assert again.GetDimension() == 2 and again.GetSpacing() == (0.2, 0.3)


@pytest.mark.parametrize("pixel", [0.090818183, 0.1, 0.077068008])
def test_a_picture_and_its_oblique_1_slice_file_are_the_same_2d_image(pixel, tmp_path):
    """The file keeps an oblique grid's spacing in its direction vectors, which read back a bit off."""
    from single_slice import one_slice_volume, rotation

    pixels = np.arange(20, dtype=np.uint8).reshape(4, 5)
    picture = sitk.GetImageFromArray(pixels)
    picture.SetSpacing((pixel, pixel))
    for axis in "ijk":
        sitk.WriteImage(one_slice_volume(pixels, pixel, axis, (-40.0, 25.5, 17.25), rotation((1, 2, 3), 27)), str(tmp_path / "copy.nrrd"))
        copy = Image.from_sitk(sitk.ReadImage(str(tmp_path / "copy.nrrd")))
        assert copy.ndim == 2 and copy.spacing[:2] == Image.from_sitk(picture).spacing[:2] == (pixel, pixel)
        assert np.array_equal(copy.array, pixels[np.newaxis])


def test_world_and_index_agree_with_simpleitk():
    image = oblique_volume()
    reference = image.to_sitk()
    index = np.array([3.0, 2.0, 4.0])
    np.testing.assert_allclose(image.to_world(index), reference.TransformContinuousIndexToPhysicalPoint(index.tolist()))
    np.testing.assert_allclose(image.to_index(image.to_world(index)), index)


def test_geometry_a_step_off_single_precision_is_read_as_that_number():
    """Slicer's NIfTI reader gives a CT's 0.9765625 mm pixels as 0.9765625000000001; both must be one image."""
    image = Image.from_grid(np.zeros((3, 4, 5)), (0.9765625000000001, 0.9765625, 2.0), (-249.51171875000003, -437.51171875000006, -804.5),
                            np.diag([1.0, 1.0, 0.9999999999999998]))
    assert image.spacing == (0.9765625, 0.9765625, 2.0)
    assert image.origin == (-249.51171875, -437.51171875, -804.5)
    assert np.array_equal(image.direction, np.eye(3))
    oblique = [0.8660254037844387, 0.5, 0.09081818299999998, 1e39]  # not a step from single precision: kept
    assert single_precision(oblique).tolist() == oblique


def test_geometry_written_with_15_digits_is_read_as_its_single_precision_number():
    """An NRRD header gives a single-precision spacing with 15 digits (3.04687595367432, 8 steps off); Slicer's oblique
    origins come back up to 6 steps off: each is read as the single-precision number, so all are one image."""
    image = Image.from_grid(np.zeros((3, 4, 5)), (3.04687595367432, 1.0, 10.0), (-11.319000244140636, 0.0, 0.0), np.eye(3))
    assert image.spacing == (float(np.float32(3.04687595367432)), 1.0, 10.0)
    assert image.origin == (-11.319000244140625, 0.0, 0.0)


def test_oblique_directions_a_step_apart_are_one_image():
    """Slicer gives an oblique NIfTI's direction cosines back a step off the command line's: rounded, they are equal."""
    angle = np.radians(35)
    direction = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    apart = [Image.from_grid(np.zeros((3, 4, 5)), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), cosines) for cosines in
             (direction, np.nextafter(direction, 2), np.nextafter(direction, -2))]
    assert all(np.array_equal(image.direction, apart[0].direction) for image in apart)
    assert np.abs(apart[0].direction - direction).max() < 1e-12


def test_4d_and_vector_images_are_refused():
    with pytest.raises(GeometryError, match="4D"):
        Image.from_sitk(sitk.Image([2, 2, 2, 2], sitk.sitkFloat32))
    with pytest.raises(GeometryError, match="components"):
        Image.from_sitk(sitk.Image([2, 2], sitk.sitkVectorFloat32, 3))


@pytest.mark.parametrize("size, pixel, refused", [([4, 4], sitk.sitkVectorUInt8, None), ([4, 4, 1], sitk.sitkVectorUInt8, None),
                                                   ([4, 4], sitk.sitkVectorUInt16, "uint16 voxels"),
                                                   ([4, 4, 3], sitk.sitkVectorUInt8, "a volume of several slices")])
def test_two_components_per_voxel_are_grey_and_alpha_only_in_an_8_bit_picture(size, pixel, refused):
    """Before, a 16-bit pair (e.g. two measurements) or a 2-layer .seg.nrrd given as the target was read as its first
    component (of 16 bits, the high byte)."""
    image = sitk.Image(size, pixel, 2)
    if refused is None:
        assert Image.from_sitk(image).ndim == 2
    else:
        with pytest.raises(GeometryError, match=f"got 2 components per voxel in {refused}; grey \\+ alpha is read only in an 8-bit picture"):
            Image.from_sitk(image)


def test_bad_spacing_is_refused():
    with pytest.raises(GeometryError, match="spacing"):
        Image(np.zeros((1, 2, 2)), spacing=(0.0, 1.0, 1.0))


def test_resampling_a_flipped_copy_restores_the_original_in_physical_space():
    image = oblique_volume()
    flipped_direction = image.direction @ np.diag([-1.0, 1.0, 1.0])
    last_column = image.to_world([image.size[0] - 1, 0, 0])
    flipped = Image(image.array[:, :, ::-1].copy(), image.spacing, tuple(last_column), flipped_direction)
    back = resample_to(flipped, image, labels=True)
    np.testing.assert_array_equal(back.array, image.array)


def test_orient_lps_reorders_voxels_without_moving_them():
    image = Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), direction=np.diag([-1.0, -1.0, 1.0]))
    oriented = orient_lps(image)
    np.testing.assert_allclose(oriented.direction, np.eye(3))
    np.testing.assert_array_equal(resample_to(oriented, image, labels=True).array, image.array)


def test_a_mask_on_a_grid_lined_up_with_the_reference_is_placed_as_resampling_places_it():
    """A Slicer segment is cropped to its voxels on the volume's own grid: placed there directly (a whole 512 x 512
    grid is not resampled per segment read), with the voxels nearest-neighbour resampling gives, also where the
    mask reaches beyond the reference and on a turned grid."""
    rng = np.random.default_rng(0)
    turned = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    for direction in (np.diag([-1.0, 1.0, 1.0]), turned):
        reference = Image.from_grid(np.zeros((7, 20, 30)), (0.7, 0.9, 2.5), (10.0, -5.0, 3.0), direction, ndim=3)
        offset = np.array([-3, 12, 4])  # voxels along i, j, k: beyond the reference's first columns
        origin = np.array(reference.origin) + reference.direction @ (offset * np.array(reference.spacing))
        mask = Image.from_grid((rng.random((5, 9, 8)) > 0.5).astype(np.uint8), reference.spacing, tuple(origin), reference.direction, ndim=3)
        resampled = resample_to(mask, reference, labels=True).array > 0
        assert resampled.any()
        np.testing.assert_array_equal(resample_mask(mask, reference), resampled)
