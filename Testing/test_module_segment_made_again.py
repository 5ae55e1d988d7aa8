"""A structure's segment the user deleted and made again under the structure's name (a new segment id) is corrected
from the panel, which passes the picked segment's id, as from the console by name: one rule
(:meth:`rau.mrml.correction.Correction.structure_of`) for both, and for the panel's Update and Undo buttons
(slicer-core MRML)."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from slicer_module import MODULE_FILE, load_rauslicer  # noqa: E402
from test_module_widget_wiring import calls, method  # noqa: E402

PROMPT = Prompt(points=[(34.0, 30.0, 0.0)], labels=[1])


def _made_again(node, target, name: str) -> str:
    """Add a segment called ``name`` holding a small square; returns its (generated) id."""
    from rau.mrml.segments import write_segment_mask

    segment_id = node.GetSegmentation().AddEmptySegment("", name, [0.9, 0.9, 0.1])
    square = np.zeros(target.shape, bool)
    square[0, 26:34, 30:38] = True
    write_segment_mask(node, segment_id, square, target)
    return segment_id


def _run_on_disk(mrml_scene):
    """The module's logic, its result node of a Run on the disk scene, and that result's correction."""
    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, options={"deformable": False})
    return logic, node, logic.correction(node)


def test_a_segment_made_again_is_corrected_by_its_id_as_by_its_name(mrml_scene):
    """Before: correct(node, <its id>) raised "'disk' is not a structure RAUSlicer found in ...; only those can be
    corrected: 'disk'" (the id was looked up as a structure name), while correct(node, 'disk') corrected it."""
    from rau.mrml.segments import segment_mask

    logic, node, correction = _run_on_disk(mrml_scene)
    node.GetSegmentation().RemoveSegment("disk")
    segment_id = _made_again(node, correction.result.target, "disk")
    assert segment_id != "disk"
    before = segment_mask(node, segment_id, correction.result.target).sum()
    logic.correct(node, segment_id, PROMPT)
    assert correction.structure_of(segment_id) == correction.structure_of("disk") == "disk"
    assert segment_mask(node, segment_id, correction.result.target).sum() > before
    assert correction.can_undo(correction.structure_of(segment_id))
    logic.undo(node, segment_id)
    assert segment_mask(node, segment_id, correction.result.target).sum() == before


def test_a_second_segment_under_a_structures_name_is_refused_saying_which_segment_is_the_structures(mrml_scene):
    """The structure's own segment renamed, a new one added under the structure's name: corrections of the structure
    go to its own segment, so the new one's id names no structure and the refusal says why (before, it said the name
    was not a structure found, then listed it as one)."""
    logic, node, correction = _run_on_disk(mrml_scene)
    node.GetSegmentation().GetSegment("disk").SetName("old disk")
    segment_id = _made_again(node, correction.result.target, "disk")
    with pytest.raises(ValueError, match="segment 'disk' of 'target segmentation' was added by hand: RAUSlicer corrects the structure 'disk' in its segment 'old disk'"):
        logic.correct(node, segment_id, PROMPT)
    assert correction.structure_of(segment_id) is None and correction.structure_of("old disk") is None


def test_the_panel_enables_corrections_by_the_same_rule():
    """The panel's Update, Propagate and Undo follow :meth:`Correction.structure_of` of the picked segment id (before:
    ``segment in correction.result.session.results``, greyed for a segment made again)."""
    assert "structure_of" in calls(method(MODULE_FILE, "_updateButtons"))


def test_two_segments_made_again_alike_grey_the_panel_and_are_refused_naming_them(mrml_scene):
    """Before: structure_of(<one's id>), which the panel calls at every refresh, raised (the refresh stopped)."""
    from rau.errors import InputError

    logic, node, correction = _run_on_disk(mrml_scene)
    node.GetSegmentation().RemoveSegment("disk")
    first = _made_again(node, correction.result.target, "disk")
    _made_again(node, correction.result.target, "Disk")
    assert correction.structure_of(first) is None
    with pytest.raises(InputError, match="2 segments called 'disk'"):
        logic.correct(node, first, PROMPT)
