"""The module undoes as many corrections of a structure as its engine session keeps, and no fewer: one undo depth,
the session's (slicer-core MRML, the registration engine's real session)."""

from __future__ import annotations

import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


def test_the_module_undoes_every_step_the_session_keeps(mrml_scene):
    """Before: the node kept 10 undos (rau.mrml.correction.UNDO_DEPTH) while the session kept 20 steps
    (Session.undo_depth), 10 of them, each holding its answers, never reachable from Slicer."""
    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, ["disk"], "registration", {"deformable": False})
    session = logic.correction(node).result.session
    corrections = session.undo_depth + 2
    for step in range(corrections):
        logic.correct(node, "disk", Prompt([(34 + step % 2, 30, 0)], [1]))
    undone = 0
    while logic.correction(node).can_undo("disk"):
        logic.undo(node, "disk")
        undone += 1
    assert undone == session.undo_depth
    assert not session.can_undo("disk")  # the session holds no step the module cannot reach
