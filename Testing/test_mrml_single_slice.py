"""1-slice volume and segmentation nodes (how Slicer holds 2D images) on real slicer-core MRML.

They are 2D images for ``rau`` and go back with their own IJK-to-RAS: axial, stored along i,
oblique, under a parent transform; and through ``RAUSlicerLogic.process``.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from single_slice import dice, hc18_picture, hc18_spacing, one_slice_volume, rotation, same_geometry
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node, image_from_volume_node, read_rau_tag, segmentation_from_node  # noqa: E402
from slicer.util import arrayFromVolume, arrayFromVTKMatrix, vtkMatrixFromArray  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

LAYOUTS = {
    "axial": ("k", np.diag([-1.0, -1.0, 1.0])),  # what an RAS-oriented NIfTI gives
    "sagittal-stored": ("i", np.eye(3)),
    "oblique": ("i", rotation((1, 2, 3), 27)),
}


@pytest.fixture(scope="module")
def head(shared_data):
    """HC18 examination 001 (half resolution) and its mask."""
    return hc18_picture(shared_data, "001"), hc18_picture(shared_data, "001", mask=True)


def stored(picture, layout):
    axis, direction = LAYOUTS[layout]
    return Image.from_sitk(one_slice_volume(picture, hc18_spacing("001"), axis, (-40.0, 25.5, 17.25), direction))


def ijk_to_ras(node) -> np.ndarray:
    matrix = vtkMatrixFromArray(np.eye(4))
    node.GetIJKToRASMatrix(matrix)
    return arrayFromVTKMatrix(matrix)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_1_slice_volume_node_is_2d_and_keeps_its_ijk_to_ras(mrml_scene, head, layout):
    image = stored(head[0], layout)
    node = add_volume_node(image, layout, mrml_scene)
    volume = image.as_stored()
    assert np.allclose(ijk_to_ras(node), np.diag([-1, -1, 1, 1]) @ volume.index_to_world)
    assert np.array_equal(arrayFromVolume(node), volume.array)  # the stored layout, not the working one

    back = image_from_volume_node(node)
    assert back.ndim == 2 and np.array_equal(back.array[0], head[0])
    assert back.same_grid(image, tolerance=1e-6) and back.stored.axis == image.stored.axis
    again = add_volume_node(back, "again", mrml_scene)
    assert np.allclose(ijk_to_ras(again), ijk_to_ras(node))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_1_slice_segmentation_node_round_trip(mrml_scene, head, layout):
    image = stored(head[0], layout)
    node = add_volume_node(image, layout, mrml_scene)
    geometry = image_from_volume_node(node)
    masks = {"fetal head": head[1][np.newaxis] > 0}
    segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), LabelSet((Structure("fetal head", 1),)), masks)
    segment_node = add_segmentation_node(segmentation, "head", mrml_scene, node)
    back = segmentation_from_node(segment_node, geometry)
    assert np.array_equal(back.masks["fetal head"], masks["fetal head"])


@pytest.mark.parametrize("layout", ["axial", "oblique"])
def test_process_segments_a_1_slice_target_and_exports_on_its_grid(mrml_scene, head, layout, tmp_path):
    picture, mask = head
    reference_image = stored(picture, "sagittal-stored")
    reference = add_volume_node(reference_image, "reference frame", mrml_scene)
    structure = Structure("fetal head", 1, (0.9, 0.7, 0.2))
    reference_geometry = image_from_volume_node(reference)
    truth = {"fetal head": mask[np.newaxis] > 0}
    segmentation = Segmentation(reference_geometry.with_array(np.zeros(reference_geometry.shape, np.uint8)), LabelSet((structure,)), truth)
    reference_segmentation = add_segmentation_node(segmentation, "reference head", mrml_scene, reference)
    target = add_volume_node(stored(picture, layout), "target frame", mrml_scene)
    moved = np.eye(4)
    moved[:3, :3], moved[:3, 3] = rotation((0, 0, 1), 5), (8.0, -6.0, 4.0)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "probe position")
    transform.SetMatrixTransformToParent(vtkMatrixFromArray(moved))
    target.SetAndObserveTransformNodeID(transform.GetID())

    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, ["fetal head"], "registration", {"deformable": False})

    target_image = image_from_volume_node(target)
    assert target_image.ndim == 2
    found = segmentation_from_node(node, target_image)
    assert dice(found.masks["fetal head"], truth["fetal head"]) > 0.95
    box = read_rau_tag(node, "fetal head")["box"]  # in the node's own index order, as result.json has it
    dimensions = target.GetImageData().GetDimensions()
    assert all(0 <= low < high <= size for low, high, size in zip(box["lower_ijk"], box["upper_ijk"], dimensions)), (box, dimensions)

    nifti, _ = logic.exportLabelMap(node, target, tmp_path / "target.nii.gz")
    exported = sitk.ReadImage(str(nifti))
    file_grid = target_image.as_stored().to_sitk()
    assert exported.GetDimension() == 3 and same_geometry(exported, file_grid, tolerance=1e-4)
    assert np.array_equal(target_image.stored.to_working(sitk.GetArrayFromImage(exported)) == 1, found.masks["fetal head"])


def test_a_colour_volume_node_reads_as_the_grey_picture_the_cli_reads(mrml_scene, head, tmp_path):
    from PIL import Image as Picture
    from slicer.util import updateVolumeFromArray

    from rau.io import read_image

    grey = head[0]
    colour = np.stack([grey, grey[::-1], np.full_like(grey, 90)], axis=-1)  # channels that differ
    Picture.fromarray(colour, "RGB").save(tmp_path / "colour.png")
    node = mrml_scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "colour")  # how Slicer loads a colour PNG
    updateVolumeFromArray(node, colour[np.newaxis])
    from_node = image_from_volume_node(node)
    assert from_node.ndim == 2
    np.testing.assert_array_equal(from_node.array, read_image(tmp_path / "colour.png").array)


def test_a_1_slice_reference_for_a_volume_target_is_refused_naming_both_nodes(mrml_scene, head):
    """Before, the message named the reference node and gave the target by its size only."""
    from rau.image import GeometryError

    picture, mask = head
    reference = add_volume_node(stored(picture, "axial"), "reference frame", mrml_scene)
    geometry = image_from_volume_node(reference)
    segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), LabelSet((Structure("fetal head", 1),)),
                                {"fetal head": mask[np.newaxis] > 0})
    reference_segmentation = add_segmentation_node(segmentation, "reference head", mrml_scene, reference)
    target = add_volume_node(Image(np.zeros((6, 20, 30), np.int16), spacing=(1.0, 1.0, 2.0)), "patient CT", mrml_scene)

    with pytest.raises(GeometryError, match=r"reference 'reference frame' is 2D but the target 'patient CT' is 3D \(30 x 20 x 6 voxels\)"):
        load_rauslicer().RAUSlicerLogic().process(reference, reference_segmentation, target, ["fetal head"], "registration", {"deformable": False})
