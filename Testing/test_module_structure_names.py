"""The module matches structure names as the command line does, ignoring case, spaces and punctuation (README: Names
are matched ...): picking a reference's segment for a run, and correcting a result's structure (slicer-core MRML)."""

from __future__ import annotations

import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


def test_the_module_picks_and_corrects_a_structure_spelled_otherwise(mrml_scene):
    """Before: structures=['DISK'] raised 'has no segment', correct(node, ' Disk') 'is not a structure RAUSlicer found'."""
    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, structures=["DISK"], options={"deformable": False})
    segmentation = node.GetSegmentation()
    assert [segmentation.GetNthSegment(n).GetName() for n in range(segmentation.GetNumberOfSegments())] == ["disk"]
    logic.correct(node, " Disk", Prompt(points=[(34.0, 30.0, 0.0)], labels=[1]))
    assert logic.correction(node).can_undo("disk")
    logic.undo(node, "D-I-S-K")
    assert not logic.correction(node).can_undo("disk")


def test_the_two_step_correction_takes_the_results_own_spelling_only(mrml_scene):
    """correctionJob / applyCorrection (the panel's worker-thread path) key the session and the undo record by the
    result's own name. Before: correctionJob(node, 'DISK') passed the check, the session was corrected and the
    node's segment written, then applyCorrection raised KeyError: 'DISK', leaving no undo record."""
    from rau.mrml.segments import segment_mask

    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, options={"deformable": False})
    correction = logic.correction(node)
    before = segment_mask(node, "disk", correction.result.target).copy()
    with pytest.raises(ValueError, match="'DISK'.*'disk'"):
        logic.correctionJob(node, "DISK", Prompt(points=[(34.0, 30.0, 0.0)], labels=[1]))
    with pytest.raises(ValueError, match="'D-I-S-K'.*'disk'"):
        logic.undoJob(node, "D-I-S-K")
    assert (segment_mask(node, "disk", correction.result.target) == before).all()
    assert not correction.result.session.can_undo("disk") and not correction.can_undo("disk")
