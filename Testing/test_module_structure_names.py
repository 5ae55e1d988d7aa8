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



def test_the_two_step_correction_takes_any_spelling_and_keeps_one_record(mrml_scene):
    """The panel's worker-thread steps (correctionJob, applyCorrection, undoJob, applyUndo) match names as correct() and
    undo() do, and key the session, the segment and the undo record by the result's own spelling; rau.mrml's
    Correction takes only that spelling, refused before any change. Before: correctionJob(node, 'DISK') corrected the
    session and applyCorrection wrote the segment, then raised KeyError: 'DISK' with no undo record left; applyUndo
    with nothing to undo closed the session, saying it had already undone a correction."""
    from rau.mrml.segments import segment_mask

    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, options={"deformable": False})
    correction = logic.correction(node)
    before = segment_mask(node, "disk", correction.result.target).copy()
    with pytest.raises(ValueError, match="nothing to undo for 'disk'"):
        logic.applyUndo(node, "Disk")
    assert logic.correction(node) is correction  # the session stays open
    prompt = Prompt(points=[(34.0, 30.0, 0.0)], labels=[1])
    with pytest.raises(ValueError, match="'DISK': call the structure 'disk'"):
        correction.sync_work("DISK")
    item = logic.correctionJob(node, "DISK", prompt)(None)
    with pytest.raises(ValueError, match="'Disk': call the structure 'disk'"):
        correction.apply("Disk", item)
    assert (segment_mask(node, "disk", correction.result.target) == before).all()
    logic.applyCorrection(node, " disk ", item)
    assert correction.can_undo("disk") and correction.result.session.can_undo("disk")
    assert (segment_mask(node, "disk", correction.result.target) != before).any()
    logic.undoJob(node, "D-I-S-K")(None)
    logic.applyUndo(node, "DISK")
    assert (segment_mask(node, "disk", correction.result.target) == before).all()
    assert not correction.can_undo("disk")
