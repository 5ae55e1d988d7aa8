"""The dimensionality rule: a 1-slice volume along any axis is a 2D image, and goes back as it came."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage
from single_slice import dice, hc18_picture, hc18_spacing, one_slice_volume, rotation, same_geometry

from rau.errors import InputError
from rau.image import Image, resample_to
from rau.io import read_image, read_segmentation, write_image, write_seg_nrrd
from rau.labels import LabelSet, Segmentation, Structure

OBLIQUE = rotation((1, 2, 3), 27)
LAYOUTS = [  # (singleton axis, direction, file suffix, origin)
    ("k", np.diag([-1.0, 1.0, 1.0]), ".nrrd", (-40.0, 25.5, 17.25)),
    ("k", np.eye(3), ".nii.gz", (0.0, 0.0, 0.0)),  # its plane frame is its grid: still written as a volume
    ("i", np.eye(3), ".nrrd", (-40.0, 25.5, 17.25)),  # stored sagittal
    ("j", np.eye(3), ".nii.gz", (-40.0, 25.5, 17.25)),  # stored coronal
    ("k", OBLIQUE, ".nrrd", (-40.0, 25.5, 17.25)),
    ("i", OBLIQUE, ".mha", (-40.0, 25.5, 17.25)),
]


@pytest.fixture(scope="module")
def picture(shared_data):
    return hc18_picture(shared_data, "001")


@pytest.mark.parametrize("axis,direction,suffix,origin", LAYOUTS)
def test_one_slice_volume_reads_as_2d_and_writes_back_on_its_own_grid(picture, tmp_path, axis, direction, suffix, origin):
    stored = one_slice_volume(picture, hc18_spacing("001"), axis, origin=origin, direction=direction)
    sitk.WriteImage(stored, str(tmp_path / f"in{suffix}"))

    image = read_image(tmp_path / f"in{suffix}")
    assert image.ndim == 2 and np.array_equal(image.array[0], picture)
    assert image.spacing[:2] == pytest.approx((hc18_spacing("001"),) * 2)
    assert image.to_sitk().GetDimension() == 2

    write_image(image.with_array((image.array > 100).astype(np.uint8)), tmp_path / f"out{suffix}")
    written = sitk.ReadImage(str(tmp_path / f"out{suffix}"))
    assert written.GetDimension() == 3 and same_geometry(written, stored)
    assert np.array_equal(sitk.GetArrayFromImage(written), (sitk.GetArrayFromImage(stored) > 100).astype(np.uint8))


@pytest.mark.parametrize("axis,direction", [(a, d) for a, d, _, _ in LAYOUTS])
def test_world_positions_of_the_2d_image_are_those_of_the_volume(picture, axis, direction):
    stored = Image.from_sitk(one_slice_volume(picture, 0.3, axis, origin=(5.0, -7.0, 11.0), direction=direction))
    volume = stored.as_stored()
    rows, cols = np.meshgrid(np.arange(0, picture.shape[0], 37), np.arange(0, picture.shape[1], 41), indexing="ij")
    working = np.stack([cols.ravel(), rows.ravel(), np.zeros(rows.size)], axis=1)
    world = stored.volume().to_world(working)
    back = np.rint(volume.to_index(world)).astype(int)
    assert np.allclose(volume.to_world(back), world, atol=1e-9)
    assert np.array_equal(volume.array[tuple(back[:, ::-1].T)], picture[rows.ravel(), cols.ravel()])
    # in-plane distances are kept by the 2D plane frame
    plane = stored.to_world(working)[:, :2]
    assert np.allclose(np.linalg.norm(plane - plane[0], axis=1), np.linalg.norm(world - world[0], axis=1))


@pytest.mark.parametrize("axis,direction", [("k", np.eye(3)), ("k", np.diag([-1.0, -1.0, 1.0])), ("i", OBLIQUE)])
def test_a_picture_and_its_1_slice_copies_have_the_same_plane_frame(picture, axis, direction):
    as_picture = Image(picture[np.newaxis], spacing=(0.2, 0.2, 1.0), ndim=2)
    as_volume = Image.from_sitk(one_slice_volume(picture, 0.2, axis, origin=(-40.0, 25.5, 17.25), direction=direction))
    assert as_volume.same_grid(as_picture)  # an RAS-oriented NIfTI is not turned upside down
    assert resample_to(as_volume, as_picture, labels=False) is as_volume
    sitk_picture, sitk_volume = as_picture.to_sitk(), as_volume.to_sitk()  # what 2D engines see: identical
    assert same_geometry(sitk_picture, sitk_volume) and np.array_equal(sitk.GetArrayFromImage(sitk_volume), picture)


def test_a_2d_file_keeps_its_own_geometry(picture, tmp_path):
    flipped = sitk.GetImageFromArray(picture)
    flipped.SetDirection((-1.0, 0.0, 0.0, -1.0))
    flipped.SetOrigin((12.0, -3.0))
    sitk.WriteImage(flipped, str(tmp_path / "flipped.nrrd"))
    image = read_image(tmp_path / "flipped.nrrd")
    assert image.ndim == 2 and np.allclose(image.direction, np.eye(3)) and image.origin == (0.0, 0.0, 0.0)
    write_image(image, tmp_path / "again.nrrd")
    again = sitk.ReadImage(str(tmp_path / "again.nrrd"))
    assert again.GetDimension() == 2 and same_geometry(again, flipped)


def test_placed_2d_images_are_resampled_in_the_world(picture):
    sagittal = Image.from_sitk(one_slice_volume(picture, 0.4, "i", origin=(3.0, 10.0, 20.0)))
    shifted = Image.from_sitk(one_slice_volume(picture[:, 10:], 0.4, "i", origin=(3.0, 14.0, 20.0)))  # 10 columns in
    moved = resample_to(sagittal, shifted, labels=True)
    assert moved.shape == shifted.shape and moved.stored == shifted.stored
    assert np.array_equal(moved.array, shifted.array)
    elsewhere = Image.from_sitk(one_slice_volume(picture[:, 10:], 0.4, "i", origin=(9.0, 14.0, 20.0)))  # another plane
    assert not resample_to(sagittal, elsewhere, labels=True).array.any()


def test_a_2d_file_at_origin_0_is_placed_there_and_only_a_picture_is_not(picture, tmp_path):
    """A 2D NRRD's header places it even where its frame is a picture's (origin 0, identity); labels 5 mm off
    their image are refused, not laid on it pixel for pixel."""
    at = {}
    for name, origin in (("at_0", (0.0, 0.0)), ("at_5", (5.0, 0.0))):
        stored = sitk.GetImageFromArray(picture)
        stored.SetOrigin(origin)
        sitk.WriteImage(stored, str(tmp_path / f"{name}.nrrd"))
        at[name] = read_image(tmp_path / f"{name}.nrrd")
    PILImage.fromarray(picture).save(tmp_path / "picture.png")
    assert at["at_0"].stored is not None and read_image(tmp_path / "picture.png").stored is None
    with pytest.raises(InputError, match="at_0.nrrd: labels cover"):
        read_segmentation(tmp_path / "at_0.nrrd", geometry=at["at_5"], image_path=tmp_path / "at_5.nrrd")
    moved = resample_to(at["at_0"], at["at_5"], labels=True)  # physical space: five columns over
    assert np.array_equal(moved.array[0, :, :-5], picture[:, 5:])
    on_picture = read_segmentation(tmp_path / "at_0.nrrd", geometry=read_image(tmp_path / "picture.png"))  # a picture has no place
    assert on_picture.geometry.stored is None


def test_seg_nrrd_of_a_1_slice_volume_keeps_its_grid(shared_data, tmp_path):
    mask = hc18_picture(shared_data, "001", mask=True)
    stored = one_slice_volume(mask, 0.3, "i", origin=(1.0, 2.0, 3.0), direction=OBLIQUE)
    geometry = Image.from_sitk(stored)
    segmentation = Segmentation(geometry, LabelSet((Structure("fetal head", 1),)), {"fetal head": geometry.array > 0})
    write_seg_nrrd(segmentation, tmp_path / "head.seg.nrrd")
    back = read_segmentation(tmp_path / "head.seg.nrrd")
    assert back.geometry.ndim == 2 and back.geometry.same_grid(geometry, tolerance=1e-6)
    assert back.geometry.stored.axis == 0
    assert dice(back.masks["fetal head"], segmentation.masks["fetal head"]) == 1.0


@pytest.mark.parametrize("order", ["columns reversed", "rows and columns reversed", "rows and columns swapped"])
def test_one_slice_in_another_pixel_order_is_registered_where_it_lies(shared_data, order):
    """The same slice stored in two pixel orders (as converters write one slice RAS- or LPS-ordered): before, they
    were registered as pictures, pixel order only (HC18: Dice 0.53, 0.36; a CT slice's liver and spleen swapped sides)."""
    from rau.engines import Request, create_engine
    from rau.engines.base import Reference

    picture, mask = hc18_picture(shared_data, "001"), hc18_picture(shared_data, "001", mask=True)
    spacing, (rows, columns) = hc18_spacing("001"), picture.shape
    reference_volume = one_slice_volume(picture, spacing, origin=(5.0, -3.0, 7.0))
    flip = {"columns reversed": [True, False, False], "rows and columns reversed": [True, True, False]}.get(order)
    moved = (lambda image: sitk.Flip(image, flip)) if flip else (lambda image: sitk.PermuteAxes(image, [1, 0, 2]))
    reference_image = Image.from_sitk(reference_volume)
    labels = Segmentation(reference_image.with_array(np.zeros(reference_image.shape, np.uint8)), LabelSet((Structure("head", 1),)),
                          {"head": mask[np.newaxis] > 0})
    target = Image.from_sitk(moved(reference_volume))
    assert target.ndim == 2 and not np.array_equal(target.array, reference_image.array)
    found = create_engine("registration", {"deformable": False}).run(Request([Reference(reference_image, labels)], target)).get("head").mask
    truth = Image.from_sitk(moved(one_slice_volume(mask, spacing, origin=(5.0, -3.0, 7.0)))).array > 0
    assert dice(found, truth) > 0.98
