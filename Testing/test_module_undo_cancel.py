"""A Cancel pressed during an Undo stops it at its next step, as it stops a Run or an Update: nothing changed, the
correction left to undo (slicer-core MRML, the registration engine's real session)."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Cancelled, Progress, Prompt  # noqa: E402
from rau.mrml.segments import segment_mask  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


def test_an_undo_cancelled_before_its_work_changes_nothing(mrml_scene):
    """Before: the undo's work never reported progress, so it undid the session all the same and the panel said
    "Cancel came after the work had finished: its answer was written"."""
    (reference, reference_segmentation, target), image = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, ["disk"], "registration", {"deformable": False})
    logic.correct(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    corrected, session = segment_mask(node, "disk", image), logic.correction(node).result.session
    answer = session.results["disk"]
    steps = []
    with pytest.raises(Cancelled):
        logic.undoJob(node, "disk")(Progress(lambda step, fraction: steps.append(step), is_cancelled=lambda: bool(steps)))
    assert steps == ["Undoing disk"]
    assert session.results["disk"] is answer and session.can_undo("disk") and logic.correction(node).can_undo("disk")
    assert np.array_equal(segment_mask(node, "disk", image), corrected)
    logic.undoJob(node, "disk")(Progress())  # not cancelled: undone as ever
    logic.applyUndo(node, "disk")
    assert not np.array_equal(segment_mask(node, "disk", image), corrected)
