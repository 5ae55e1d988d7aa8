"""The panel's "Flag below confidence" is a confidence, 0 to 1: a level outside it is refused before any work, naming
the field, and nothing is written (a level of 2 flagged every structure, -1 none)."""

from __future__ import annotations

import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import InputError  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


def _segmentation_nodes(scene):
    return scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode")


@pytest.mark.parametrize("level", [2.0, -1.0, float("nan"), "0.5", None, True])
def test_a_flag_level_outside_0_to_1_is_refused_and_nothing_is_written(mrml_scene, level):
    """Before: process ran and wrote a node whose every structure was flagged (2.0) or none (-1)."""
    inputs, _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    before = _segmentation_nodes(mrml_scene)
    with pytest.raises(InputError, match=r"^'Flag below confidence' must be a confidence from 0 to 1, not "):
        logic.process(*inputs, ["disk"], lowConfidence=level)
    assert _segmentation_nodes(mrml_scene) == before


def test_writing_a_result_with_a_flag_level_outside_0_to_1_is_refused_and_nothing_is_written(mrml_scene):
    inputs, _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    result = logic.runEngine("registration", None, logic.request(*inputs, ["disk"]))
    before = _segmentation_nodes(mrml_scene)
    with pytest.raises(InputError, match=r"'Flag below confidence'.* not 2\.0$"):
        logic.writeResult(result, inputs[2], 2.0)
    assert _segmentation_nodes(mrml_scene) == before and not logic.corrections


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_the_ends_of_the_range_are_flag_levels(mrml_scene, level):
    inputs, _ = disk_inputs(mrml_scene)
    node = load_rauslicer().RAUSlicerLogic().process(*inputs, ["disk"], lowConfidence=level)
    status = slicer.vtkSlicerSegmentationsModuleLogic.GetSegmentStatus(node.GetSegmentation().GetSegment("disk"))
    assert status == (slicer.vtkSlicerSegmentationsModuleLogic.Flagged if level == 1.0 else slicer.vtkSlicerSegmentationsModuleLogic.InProgress)
