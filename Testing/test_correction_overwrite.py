"""Corrections in a session as ``rau correct`` writes them: the overwrite choice reaches a vessel session, the
session goes on from what was written, a box a vessel session cannot use is refused, a correction that changes
nothing keeps the confidence, a structure emptied by another is said to be, names match as everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)
from test_correction import result_2d

import rau
from rau.cli import main
from rau.correction import CorrectorSession
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.image import Image
from rau.io import read_segmentation
from rau.labels import Structure
from rau.result import Result, StructureResult
from rau.serve.sessions import Entry, correct
from rau.vessels.session import VesselSession

TRACE = [(5.0, 32.0, 0.0), (60.0, 32.0, 0.0)]  # along the whole vessel of vessel_session(), through "second"


def vessel_session() -> VesselSession:
    """One straight vessel along row 32: "first" on its left part, "second" on its middle."""
    vesselness = np.zeros((64, 64))
    vesselness[30:35, 4:61] = 0.5
    vesselness[32, 4:61] = 1.0
    return _session_on(vesselness, np.s_[30:35, 30:50])


def branched_session() -> VesselSession:
    """A vessel along row 32 with a branch up column 32: "first" on the left of row 32, "second" on the branch."""
    vesselness = np.zeros((64, 64))
    vesselness[30:35, 4:61] = vesselness[4:35, 30:35] = 0.5
    vesselness[32, 4:61] = vesselness[4:33, 32] = 1.0
    return _session_on(vesselness, np.s_[4:30, 30:35])


def _session_on(vesselness: np.ndarray, second) -> VesselSession:
    """A session on the vessels of ``vesselness`` (64 x 64): "first" on rows 30-34, columns 4-29; "second" at ``second``."""
    target = Image(100 * vesselness[None], (1.0, 1.0, 1.0), ndim=2)
    first_structure, second_structure = Structure("first", 1), Structure("second", 2)
    masks = np.zeros((2, 64, 64), bool)
    masks[0, 30:35, 4:30] = masks[1][second] = True
    results = {"first": StructureResult(first_structure, masks[0][None], 0.8, "vessels"),
               "second": StructureResult(second_structure, masks[1][None], 0.4, "vessels")}
    return VesselSession(target, [first_structure, second_structure], results, vesselness, vesselness > 0.4, "vessels")


def test_the_overwrite_choice_reaches_the_vessel_session_and_an_emptied_segment_names_its_taker():
    session = vessel_session()
    kept = session.reprompt("first", Prompt(points=TRACE, labels=[1, 1]))
    assert session.changed == ("first",) and session.results["second"].confidence == 0.4
    assert not (kept.mask & session.results["second"].mask).any()
    session.undo("first")
    session.reprompt("first", Prompt(points=TRACE, labels=[1, 1]), overwrite=True)
    second = session.results["second"]
    assert session.changed == ("first", "second")
    assert not second.found and second.confidence == 0.0 and "'first'" in second.message


def test_slicer_overwrite_reaches_the_vessel_session(mrml_scene):  # noqa: F811
    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask

    session = vessel_session()
    result = Result(session.target, list(session.results.values()), "vessels", session=session)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    Correction(result, node, overwrite=True).update("first", Prompt(points=TRACE, labels=[1, 1]))
    assert not segment_mask(node, require_segment_id(node, "second"), result.target).any()


def test_a_vessel_correction_keeps_the_hand_edits_of_the_segment_it_takes_a_piece_from(mrml_scene):  # noqa: F811
    """Before: only the corrected segment's hand edits reached the session, and "second", written back from the
    session after the trace took its piece, lost the voxels the user had painted into it."""
    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask, write_segment_mask

    session = vessel_session()
    result = Result(session.target, list(session.results.values()), "vessels", session=session)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    painted = segment_mask(node, require_segment_id(node, "second"), result.target)
    painted[0, 10:14, 50:54] = True  # a Segment Editor stroke away from the vessel
    write_segment_mask(node, "second", painted, result.target)
    Correction(result, node, overwrite=True).update("first", Prompt(points=TRACE, labels=[1, 1]))
    second = segment_mask(node, require_segment_id(node, "second"), result.target)
    assert second[0, 10:14, 50:54].all() and not second[0, 30:35, 30:50].any()  # its stroke kept, its piece taken


def test_the_module_logic_passes_its_overwrite_choice_to_the_vessel_session(mrml_scene):  # noqa: F811
    """Slicer's "overwrite other segments" reaches the correction itself, not only its write (it did not)."""
    from slicer_module import load_rauslicer

    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask

    session = vessel_session()
    result = Result(session.target, list(session.results.values()), "vessels", session=session)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    logic = load_rauslicer().RAUSlicerLogic()
    logic.corrections[node.GetID()] = Correction(result, node)
    logic.correct(node, "first", Prompt(points=TRACE, labels=[1, 1]), overwrite=True)
    assert not segment_mask(node, require_segment_id(node, "second"), result.target).any()


def test_the_module_logic_says_why_a_vessel_correction_changed_nothing(mrml_scene):  # noqa: F811
    """Before, Slicer said nothing of an outside click on another segment's piece ("first: confidence 0.80"), while
    ``rau correct`` said why it changed nothing; the correction stays undoable, as the session's own undo stack keeps it."""
    from slicer_module import load_rauslicer

    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask
    from rau.user_warnings import collected_warnings

    session = branched_session()
    result = Result(session.target, list(session.results.values()), "vessels", session=session)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    logic = load_rauslicer().RAUSlicerLogic()
    logic.corrections[node.GetID()] = Correction(result, node)
    before = {name: segment_mask(node, require_segment_id(node, name), result.target) for name in ("first", "second")}
    with collected_warnings() as said:
        logic.correct(node, "first", Prompt(points=[(32.0, 12.0, 0.0)], labels=[0]))  # on "second"'s branch
    assert said == ["'first' is unchanged: the vessel piece under the outside click is held by 'second', not by 'first'"]
    assert all(np.array_equal(segment_mask(node, require_segment_id(node, name), result.target), before[name]) for name in before)
    with collected_warnings() as said:
        logic.correct(node, "first", Prompt(points=[(10.0, 32.0, 0.0)], labels=[0]))  # on its own piece: removed
    assert said == [] and not segment_mask(node, require_segment_id(node, "first"), result.target).any()
    for _ in range(2):  # the removal, then the correction that changed nothing: the node's and the session's undo in step
        logic.undo(node, "first")
        assert np.array_equal(segment_mask(node, require_segment_id(node, "first"), result.target), before["first"])
    assert not logic.correction(node).can_undo("first") and not session.can_undo("first")


def test_a_vessel_session_refuses_a_box_with_its_points():
    session = vessel_session()
    with pytest.raises(InputError, match=r"takes points only \(inside and outside clicks, strokes\): a box is not used"):
        session.reprompt("first", Prompt(points=TRACE, labels=[1, 1], box=session.results["first"].box))  # no CLI options: Slicer, server
    assert session.results["first"].confidence == 0.8 and not session.can_undo("first")


def test_a_vessel_correction_without_points_says_it_needs_a_point_not_that_a_box_is_unused():
    """Before: "a box is not used on vessels", though no box was given."""
    session = vessel_session()
    with pytest.raises(InputError, match=r"^a vessel correction needs at least one inside or outside point \(a click or a stroke\)$"):
        session.reprompt("first", Prompt())
    assert session.results["first"].confidence == 0.8 and not session.can_undo("first")


def test_a_click_on_no_vessel_is_refused_and_keeps_the_confidence():
    session = vessel_session()
    with pytest.raises(InputError, match="vessel clicks must lie on a vessel: the point \\[5, 5\\] is more than 8 px"):
        session.reprompt("second", Prompt(points=[(5.0, 5.0, 0.0)], labels=[1]))
    assert session.results["second"].confidence == 0.4 and not session.can_undo("second")
    assert session.reprompt("second", Prompt(points=[(55.0, 32.0, 0.0)], labels=[1])).confidence == 1.0


def test_session_names_match_as_everywhere():
    session = vessel_session()
    assert session.reprompt(" SECOND", Prompt(points=[(55.0, 32.0, 0.0)], labels=[1])).structure.name == "second"
    with pytest.raises(InputError, match="no structure 'third'"):
        session.reprompt("third", Prompt(points=[(55.0, 32.0, 0.0)], labels=[1]))


def test_a_result_names_its_structures_when_one_asked_for_is_not_there():
    """Before: ``Result.get`` raised a bare ``KeyError('SECOND')``, naming neither the rule nor the structures there are."""
    session = vessel_session()
    result = Result(session.target, list(session.results.values()), "vessels")
    assert result.named(" SECOND") is result.get("second")
    with pytest.raises(KeyError, match="no structure called exactly 'SECOND' .*Result.named.*available: 'first', 'second'"):
        result.get("SECOND")
    with pytest.raises(InputError, match="unknown structure 'third'; available: 'first' and 'second'"):
        result.named("third")


@pytest.mark.parametrize("overwrite", [False, True])
def test_put_correction_lets_the_session_go_on_from_what_was_written(overwrite):
    """The corrected structure gave way (or took the neighbour's voxels): the session holds what the result holds."""
    result, _ = result_2d()
    result.session = CorrectorSession(result)
    item = result.session.reprompt("head", Prompt(points=[(48, 62, 0)], labels=[1]))
    assert (item.mask & result.get("other").mask).any()
    result.put_correction(item, result.session, overwrite)
    for name in ("head", "other"):
        assert np.array_equal(result.session.results[name].mask, result.get(name).mask)


def test_a_correction_that_gives_way_back_to_what_it_was_keeps_the_confidence():
    """Before: grown only over another structure, it gave way to it, was written unchanged ("this prompt changes
    nothing"), and still lost its review flag (confidence 1.0), in rau correct and on the server."""
    from dataclasses import replace

    result, _ = result_2d()
    result.session = CorrectorSession(result)
    head = result.get("head")
    grown = replace(head, mask=head.mask | result.get("other").mask, confidence=1.0)  # grew over "other" only
    written = result.put_correction(grown, result.session)
    assert np.array_equal(written.mask, head.mask) and written.confidence == result.get("head").confidence == 0.5


@pytest.mark.parametrize("overwrite_on_undo", [False, True])
def test_undo_gives_back_the_voxels_an_overwrite_took(overwrite_on_undo):
    result, _ = result_2d()
    result.session, start = CorrectorSession(result), list(result.structures)
    item = result.session.reprompt("head", Prompt(points=[(48, 62, 0)], labels=[1]), overwrite=True)
    result.put_correction(item, result.session, overwrite=True)
    assert result.get("other").mask.sum() < start[1].mask.sum()
    result.put_correction(result.session.undo("head"), result.session, overwrite_on_undo)
    for name, before in zip(("head", "other"), start):
        assert np.array_equal(result.get(name).mask, before.mask) and result.get(name).confidence == before.confidence
        assert np.array_equal(result.session.results[name].mask, before.mask)


@pytest.mark.parametrize("order", [("other", "head"), ("head", "other")])
def test_undoing_overwrites_of_two_structures_in_either_order_ends_at_the_start(order):
    """"other" grows over part of "head", then "head" grows back over part of it (both with overwrite). Before, undoing
    "other" first gave it back voxels only its undone correction had given it, and "head" lost those it had at the start."""
    result, _ = result_2d()
    result.session, start = CorrectorSession(result), {item.structure.name: item.mask.copy() for item in result.structures}
    for name, point in (("other", (50, 60, 0)), ("head", (48, 62, 0))):
        result.put_correction(result.session.reprompt(name, Prompt(points=[point], labels=[1]), overwrite=True), result.session, overwrite=True)
    assert not (start["head"] & ~result.get("head").mask).any()  # head took back what other took from it
    for name in order:
        result.put_correction(result.session.undo(name), result.session)
    for name, mask in start.items():
        assert np.array_equal(result.get(name).mask, mask) and np.array_equal(result.session.results[name].mask, mask)


def test_voxels_an_undo_gives_way_on_return_when_the_correction_that_grew_over_them_is_undone():
    """"head" is removed by an outside click, "other" grows over part of where it was; head undone first gives way
    there. Before, undoing other then left those voxels to the background (the Slicer node, where segments may
    overlap, gave them back to head)."""
    result, _ = result_2d()
    result.session, start = CorrectorSession(result), {item.structure.name: item.mask.copy() for item in result.structures}
    for name, point, label in (("head", (45, 42, 0), 0), ("other", (58, 36, 0), 1)):
        result.put_correction(result.session.reprompt(name, Prompt(points=[point], labels=[label]), overwrite=True), result.session, overwrite=True)
    assert (result.get("other").mask & start["head"]).any()
    for name in ("head", "other"):
        result.put_correction(result.session.undo(name), result.session)
    assert all(np.array_equal(result.get(name).mask, mask) for name, mask in start.items())


def test_overwrite_that_empties_a_structure_leaves_it_not_found_naming_its_taker():
    result, _ = result_2d()
    other = result.get("other")
    item = StructureResult(result.get("head").structure, result.get("head").mask | other.mask, 0.5, "test")
    result.put(item, overwrite=True)
    emptied = result.get("other")
    assert not emptied.found and emptied.confidence == 0.0 and "'head'" in emptied.message


def test_an_edit_that_empties_a_structure_leaves_it_not_found_with_confidence_0():
    """The server's edit with mask null, as rau.serve.sessions.correct applies it."""
    result, _ = result_2d()
    result.session = CorrectorSession(result)
    [item] = correct(Entry(result, 0, 0.0), "edit", "other", np.zeros(result.target.shape, bool))
    assert not item.found and item.confidence == 0.0 and item.message
    assert not result.get("other").found and result.get("other").confidence == 0.0


@pytest.fixture(scope="module")
def vessel_run(shared_data, tmp_path_factory):
    """A ``rau segment --engine vessels`` result on an ARCADE pair."""
    folder, out = shared_data / "arcade_syntax_dev", tmp_path_factory.mktemp("vessels") / "run.nii.gz"
    assert main(["segment", "--engine", "vessels", "--top-k", "1", "--reference", str(folder / "arcade_train_928_img.png"),
                 "--reference-labels", str(folder / "arcade_train_928_lab.png"), "--label-table", str(folder / "labels.csv"),
                 "--reference-spacing", "1", "--target", str(folder / "arcade_train_204_img.png"), "--target-spacing", "1", "--out", str(out)]) == 0
    return out.with_name("run.result.json")


def vessel_pixels(path) -> dict[str, int]:
    return {name: int(mask.sum()) for name, mask in read_segmentation(path).masks.items()}


def test_rau_correct_overwrite_others_takes_pixels_on_a_vessels_result(vessel_run, tmp_path, capsys):
    trace = ["--inside", "290,161", "--inside", "272,394"]  # S7's far end to S8's: through S8_LAD_apical
    warnings = []
    for flag in ([], ["--overwrite-others"]):
        assert main(["correct", str(vessel_run), "--structure", "S7_LAD_mid", *trace, *flag, "--out", str(tmp_path / f"c{len(flag)}.nii.gz")]) == 0
        warnings.append(capsys.readouterr().err)
    # S8_LAD_apical holds the second click unless S7 may take it (the first lies a pixel off the vessel: held)
    assert warnings == ["warning: 'S7_LAD_mid' leaves out 1 of the 2 inside points given (the engine's answer; add points, "
                        "or --overwrite-others where another structure holds them)\n", ""]  # before: "or a box", refused on vessels
    before, kept, taken = (vessel_pixels(path) for path in (vessel_run.with_name("run.nii.gz"), tmp_path / "c0.nii.gz", tmp_path / "c1.nii.gz"))
    assert kept["S8_LAD_apical"] == before["S8_LAD_apical"]
    assert taken["S8_LAD_apical"] < before["S8_LAD_apical"] // 2 and taken["S7_LAD_mid"] > kept["S7_LAD_mid"]


def test_a_rau_correct_chain_keeps_the_confidence_and_count_of_a_corrected_structure_a_later_one_takes_from(vessel_run, tmp_path):
    """Before: the rebuilt session took the saved masks only, so S8 (corrected: confidence 1, one correction) went back to
    the engine's 0.92 and no count once S7's correction took pixels from it; one session (API, server, Slicer) keeps them."""
    def saved(path) -> dict:
        return {row["name"]: (row["confidence"], row["prompts"].get("corrections")) for row in json.loads(path.read_text())["structures"]}

    assert main(["correct", str(vessel_run), "--structure", "S8_LAD_apical", "--inside", "272,394", "--out", str(tmp_path / "c1.nii.gz")]) == 0
    assert main(["correct", str(tmp_path / "c1.result.json"), "--structure", "S7_LAD_mid", "--inside", "290,161", "--inside", "272,394",
                 "--overwrite-others", "--out", str(tmp_path / "c2.nii.gz")]) == 0
    first, second = saved(tmp_path / "c1.result.json"), saved(tmp_path / "c2.result.json")
    assert vessel_pixels(tmp_path / "c2.nii.gz")["S8_LAD_apical"] < vessel_pixels(tmp_path / "c1.nii.gz")["S8_LAD_apical"]  # S7 took from it
    assert first["S8_LAD_apical"][1] == 1 and second["S8_LAD_apical"] == first["S8_LAD_apical"]
    assert second["S7_LAD_mid"][1] == 1


def test_a_vessels_result_is_corrected_with_the_names_it_recorded_when_its_label_table_changed(shared_data, tmp_path):
    """Before: the vessels engine ran again with the label table as it read now: a renamed or moved value, or a table
    gone, and the structure could not be corrected under either name."""
    import shutil

    folder = shared_data / "arcade_syntax_dev"
    table = shutil.copy(folder / "labels.csv", tmp_path / "labels.csv")
    assert main(["segment", "--engine", "vessels", "--top-k", "1", "--reference", str(folder / "arcade_train_928_img.png"),
                 "--reference-labels", str(folder / "arcade_train_928_lab.png"), "--label-table", str(table), "--reference-spacing", "1",
                 "--target", str(folder / "arcade_train_204_img.png"), "--target-spacing", "1", "--out", str(tmp_path / "run.nii.gz"),
                 "--no-deformable"]) == 0  # the names, not the bend, are the point (the rerun takes the recorded options)
    before = vessel_pixels(tmp_path / "run.nii.gz")
    (tmp_path / "labels.csv").unlink()
    trace = ["--inside", "290,161", "--inside", "272,394"]
    assert main(["correct", str(tmp_path / "run.result.json"), "--structure", "S7_LAD_mid", *trace, "--out", str(tmp_path / "c.nii.gz")]) == 0
    after = vessel_pixels(tmp_path / "c.nii.gz")
    assert set(after) == set(before) and after["S7_LAD_mid"] != before["S7_LAD_mid"]


def test_rau_correct_reruns_the_vessels_engine_without_warning_of_values_the_table_named(shared_data, tmp_path, capsys):
    """Before: the rerun read the second reference with the run's own structures as its table and warned that its
    values 10 and 11, which labels.csv names, had no names."""
    folder = shared_data / "arcade_syntax_dev"
    references = [argument for case in ("117", "11") for argument in ("--reference", str(folder / f"arcade_train_{case}_img.png"),
                  "--reference-labels", str(folder / f"arcade_train_{case}_lab.png"), "--reference-spacing", "1")]
    assert main(["segment", "--engine", "vessels", "--top-k", "1", *references, "--label-table", str(folder / "labels.csv"),
                 "--target", str(folder / "arcade_train_144_img.png"), "--target-spacing", "1", "--out", str(tmp_path / "run.nii.gz"),
                 "--no-deformable"]) == 0  # the references' reading, not the bend, is the point (the rerun reads them again)
    assert "does not name" not in capsys.readouterr().err
    assert main(["correct", str(tmp_path / "run.result.json"), "--structure", "S7_LAD_mid", "--inside", "290,161",
                 "--out", str(tmp_path / "c.nii.gz")]) == 0
    assert "does not name" not in capsys.readouterr().err


def test_rau_correct_refuses_a_box_with_points_on_a_vessels_result(vessel_run, tmp_path, capsys, monkeypatch):
    """Before: refused only after the vessels engine had run again (seconds), now at once."""
    from rau.engines.vessels import VesselEngine

    monkeypatch.setattr(VesselEngine, "run", lambda *args, **kwargs: pytest.fail("the engine ran again before the box was refused"))
    out = tmp_path / "boxed.nii.gz"
    assert main(["correct", str(vessel_run), "--structure", "S7_LAD_mid", "--inside", "290,161", "--box", "250,100,300,200", "--out", str(out)]) == 2
    assert "a box is not used on vessels" in capsys.readouterr().err and not out.exists()


def test_rau_correct_refuses_a_click_off_every_vessel_and_writes_nothing(vessel_run, tmp_path, capsys):
    out = tmp_path / "missed.nii.gz"
    assert main(["correct", str(vessel_run), "--structure", "S8_LAD_apical", "--inside", "3,3", "--out", str(out)]) == 2
    assert "vessel clicks must lie on a vessel: --inside '3,3' is more than 8 px" in capsys.readouterr().err  # before: "the click at 3,3"
    assert not list(tmp_path.iterdir())


def test_rau_correct_says_why_an_outside_click_on_another_segment_changes_nothing(vessel_run, tmp_path, capsys):
    """Before, every vessel correction that changed nothing said "vessel clicks must lie on a vessel", also for a click
    on a vessel that is another segment's."""
    masks = read_segmentation(vessel_run.with_name("run.nii.gz")).masks
    rows, cols = np.nonzero(masks["S5_left_main"][0])
    click = f"{cols[len(cols) // 2]},{rows[len(rows) // 2]}"
    out = tmp_path / "outside.nii.gz"
    assert main(["correct", str(vessel_run), "--structure", "S8_LAD_apical", "--outside", click, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "(unchanged: the vessel piece under the outside click is held by 'S5_left_main' and 'S6_LAD_proximal', not by 'S8_LAD_apical')" in said, said


def test_undoing_every_correction_gives_a_structure_taken_whole_its_answer_back_with_its_confidence():
    """A structure another correction took whole (overwrite), then corrected itself: undoing both gave its voxels back
    with confidence 0 and "every voxel was removed by an edit" (the server, the Python API and Slicer's session)."""
    from rau.correction import attach_session

    result, truth = result_2d()
    small = np.zeros(truth.shape, bool)
    small[0, 60:64, 46:50] = True  # where an inside click grows "head"
    result.structures[1].mask = small
    session = attach_session(result).session
    result.put_correction(session.reprompt("head", Prompt(points=[(48, 62, 0)], labels=[1]), overwrite=True), session, True)
    assert not result.get("other").found
    result.put_correction(session.reprompt("other", Prompt(points=[(48, 62, 0)], labels=[1]), overwrite=True), session, True)
    result.put_correction(session.undo("head"), session)
    result.put_correction(session.undo("other"), session)
    back = result.get("other")
    assert np.array_equal(back.mask, small) and (back.confidence, back.message) == (0.5, "")
    assert (session.results["other"].confidence, session.results["other"].message) == (0.5, "")


def test_a_structure_an_edit_emptied_gets_its_confidence_back_when_an_edit_fills_it_again_also_after_an_undo():
    """The record of what an edit emptied goes back with an undo: before, a refill after undoing a correction kept the
    confidence of the undone correction's answer, or 0 and "every voxel was removed by an edit"."""
    result, _ = result_2d()
    session = CorrectorSession(result)
    head = session.results["head"].mask.copy()
    for correction in (Prompt(points=[(48, 48, 0)], labels=[1]), Prompt(points=[(48, 48, 0)], labels=[0])):
        session.edit("head", np.zeros_like(head))
        session.reprompt("head", correction)  # fills it (confidence 1), or leaves it empty
        session.edit("head", np.zeros_like(head) if correction.labels == [1] else head)
        session.undo("head")
        session.edit("head", head)
        assert (session.results["head"].confidence, session.results["head"].message) == (0.5, "")


def test_the_warning_of_inside_points_left_out_offers_a_box_to_every_engine_that_takes_one():
    """Before: a vessels+sam2 answer was told "add points" only, the plain vessel corrector's words, though it takes a box."""
    from rau.labels import Structure
    from rau.result import StructureResult
    from rau.reprompt_notes import inside_points_warning

    item = StructureResult(Structure("S1", 1), np.zeros((1, 8, 8), bool), 1.0, "vessels+sam2")
    prompt = Prompt(points=np.array([[0, 4, 4]]), labels=np.array([1]))
    said = {engine: inside_points_warning("S1", prompt, item, np.zeros((1, 8, 8), bool), engine, None) for engine in ("vessels", "vessels+sam2", "registration")}
    assert said["vessels"].endswith("(the engine's answer; add points)")
    assert said["vessels+sam2"].endswith("(the engine's answer; add points or a box)") and said["registration"] == said["vessels+sam2"]


def test_undo_after_a_hand_edit_keeps_the_edit_as_the_slicer_module_does():
    """An inside click, then a hand edit (:meth:`Session.edit`), then undo of the click. Before, the undo gave back the
    run's mask and the edit was lost (the Slicer module kept it): now it takes away only the voxels the click added
    (:func:`rau.session.undone_voxels`) and keeps the answer's confidence and count from before the click."""
    from rau.engines import Request, create_engine
    from rau.io import read_image
    from rau.references import load_reference

    data = Path(rau.__file__).parent / "sample_data" / "hc18"
    reference = load_reference(data / "000_HC.png", data / "000_HC_mask.png", pixel_spacing=0.069135804)
    result = create_engine("registration").run(Request([reference], read_image(data / "001_HC.png", pixel_spacing=0.08965852)))
    session, run = result.session, result.structures[0]
    clicked = session.reprompt("fetal head", Prompt(points=[(292, 352, 0)], labels=[1]))
    result.put_correction(clicked, session)
    added = clicked.mask & ~run.mask
    assert added.any() and not (run.mask & ~clicked.mask).any()
    edited = np.zeros(result.target.shape, bool)
    edited[0, 100:110, 100:116] = True
    edited |= added  # the edit keeps what the click added: the undo takes that away
    session.edit("fetal head", edited)
    undone = session.undo("fetal head")
    assert undone.mask.sum() == 160 and np.array_equal(undone.mask, edited & ~added)
    assert undone.confidence == run.confidence and undone.prompts == run.prompts
