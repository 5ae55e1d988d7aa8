"""An ROI turned against an oblique target's axes (drawn on Slicer's default axial view) is refused: a box prompt is a
box along the image's axes. One along them, or turned by a hair, gives the voxels whose centres it holds."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.boxes import Box  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.mrml import add_volume_node, image_from_volume_node, prompt_from_markups  # noqa: E402
from rau.mrml.geometry import lps_to_ras  # noqa: E402
from rau.mrml.prompts import PromptError  # noqa: E402
from test_mrml_geometry import rotation  # noqa: E402

LOW, HIGH = np.array([8, 6, 5]), np.array([21, 22, 5])  # (i, j, k): a box on slice 5


@pytest.fixture
def turned(mrml_scene):  # noqa: F811
    """A target turned 25 degrees about its i axis (a tilted MR), read back from a real volume node."""
    image = Image(np.zeros((12, 32, 32), np.int16), spacing=(1.0, 1.2, 2.5), origin=(-12.0, 30.0, 100.0),
                  direction=rotation((1, 0, 0), 25))
    return image_from_volume_node(add_volume_node(image, "oblique", mrml_scene))


def ras_of(image, ijk):
    return lps_to_ras(image.to_world(np.asarray(ijk, float))).tolist()


def roi_in(scene, target, axes_ras, size_ijk):
    """An ROI "RAU box" with the axes ``axes_ras`` (columns, RAS), centred on the box LOW..HIGH of ``target``, its
    edges ``size_ijk`` voxels long."""
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "RAU box")
    frame = np.eye(4)
    frame[:3, :3] = axes_ras
    roi.SetAndObserveObjectToNodeMatrix(slicer.util.vtkMatrixFromArray(frame))
    roi.SetCenterWorld(ras_of(target, (LOW + HIGH) / 2))
    roi.SetSize((np.asarray(size_ijk) * np.asarray(target.spacing)).tolist())
    return roi


def target_axes_ras(target):
    return np.diag([-1.0, -1.0, 1.0]) @ np.asarray(target.direction).reshape(3, 3)


@pytest.mark.parametrize("thickness", [0.0, 4.0])
def test_an_roi_drawn_on_the_axial_view_over_a_turned_target_is_refused(mrml_scene, turned, thickness):  # noqa: F811
    """Before: the flat one became a box 3 slices thick (a correction acted on all three), the 4 mm thick one (1.6
    slices) a box 5 slices thick."""
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "RAU box")
    roi.SetCenter(ras_of(turned, (LOW + HIGH) / 2))
    roi.SetSize(14.0, 20.0, thickness)  # along R, A, S: Slicer's default axial slice view
    with pytest.raises(PromptError, match=r"^the box 'RAU box' is turned against the target's axes \(an edge drifts 3.4 voxels "
                                          r"off them, along axis k\); boxes are taken along the image's axes: choose 'Rotate to "
                                          r"volume plane' in the slice view's menu and draw the box there again \(points work in any view\)$"):
        prompt_from_markups(turned, roi=roi)


def test_a_flat_roi_turned_with_the_target_takes_its_slice_exactly(mrml_scene, turned):  # noqa: F811
    roi = roi_in(mrml_scene, turned, target_axes_ras(turned), (HIGH - LOW + 0.5) * [1, 1, 0])  # corners a quarter voxel out
    assert prompt_from_markups(turned, roi=roi).box == Box(tuple(LOW), tuple(HIGH + 1))


@pytest.mark.parametrize(("thickness", "slices"), [(0.0, (5, 6)), (2.5, (4, 7))])
def test_an_roi_turned_by_a_hair_against_the_target_gives_the_voxels_it_gave_before(mrml_scene, turned, thickness, slices):  # noqa: F811
    hair = rotation((1, 1, 1), 0.05)  # its edges drift 0.01 voxels off the target's axes
    roi = roi_in(mrml_scene, turned, hair @ target_axes_ras(turned), (*(HIGH - LOW + 0.5)[:2], thickness))
    assert prompt_from_markups(turned, roi=roi).box == Box((*LOW[:2], slices[0]), (*(HIGH[:2] + 1), slices[1]))


@pytest.mark.parametrize("slices", [1, 3])
def test_a_flat_roi_on_the_axial_view_over_a_slightly_tilted_picture_is_taken_on_one_slice_only(mrml_scene, slices):  # noqa: F811
    """A 2D picture (one slice) tilted 1 degree about i: the box's drift along k (0.7 voxels) cannot take voxels off
    its one slice, so it gives the box it gave before boxes were checked (before: refused, 'drifts 0.7 voxels off
    them, along axis k'). The same box over 3 slices turned alike still is refused."""
    image = Image(np.zeros((slices, 200, 200), np.int16), spacing=(0.5, 0.5, 1.0), origin=(0.0, 0.0, 0.0),
                  direction=rotation((1, 0, 0), 1))
    target = image_from_volume_node(add_volume_node(image, "picture", mrml_scene))
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "RAU box")
    roi.SetCenter(ras_of(target.volume(), (100, 100, slices // 2)))
    roi.SetSize(40.0, 40.0, 0.0)  # flat, along R, A, S: drawn on Slicer's default axial slice view
    if slices == 1:
        assert prompt_from_markups(target, roi=roi).box == Box((60, 61, 0), (141, 140, 1))
    else:
        with pytest.raises(PromptError, match=r"an edge drifts 0.7 voxels off them, along axis k\)"):
            prompt_from_markups(target, roi=roi)
