"""A vessel correction that changes two segments (a piece renamed away from its wrong name) reaches every writer:
the session's ``changed``, a Slicer segmentation node, ``rau correct``'s label map and a server session."""

from __future__ import annotations

import copy
import json
import shutil
from collections import namedtuple

import numpy as np
import pytest
from serve_helpers import running_server
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

from rau.cli import main
from rau.engines import Request, create_engine
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.io import read_image, read_segmentation
from rau.references import load_reference
from rau.vessels.naming import far_ends

WRONG, RIGHT = "S8_LAD_apical", "S7_LAD_mid"  # the piece in the middle of S8 is renamed S7
UNTOUCHED = ("S5_left_main", "S6_LAD_proximal")


@pytest.fixture(scope="module")
def files(shared_data):
    return pair(shared_data, 928, 204)


def pair(shared_data, reference: int, target: int):
    """The reference film, its labels, the target film and the label table of an ARCADE dev pair."""
    folder = shared_data / "arcade_syntax_dev"
    return (folder / f"arcade_train_{reference}_img.png", folder / f"arcade_train_{reference}_lab.png", folder / f"arcade_train_{target}_img.png",
            folder / "labels.csv")


RUNS = {}
"""The engine's answers by ``(files, size)``, each run once in this module: :func:`run_vessels` hands out copies."""


def run_vessels(files, size: int = 512):
    """The engine on the pair; ``size`` px: the target film at another resolution (same field of view). A copy of the
    module's one run of it: the test may correct it (the engine gives the same answer to the same request)."""
    if (files, size) not in RUNS:
        RUNS[files, size] = _engine_run(files, size)
    return copy.deepcopy(RUNS[files, size])


def _engine_run(files, size: int):
    image, labels, target, table = files
    reference = load_reference(image, labels, 1.0, table)
    target = read_image(target, 1.0)
    if size != 512:
        from skimage.transform import resize

        from rau.image import Image

        enlarged = resize(target.array[0].astype(float), (size, size), order=1, preserve_range=True)
        target = Image(enlarged[None], (512 / size, 512 / size, 1.0), ndim=2)
    return create_engine("vessels", {"top_k": 1}).run(Request([reference], target))


def rename_prompt(mask: np.ndarray) -> tuple[Prompt, tuple[int, int]]:
    """One positive click in the middle of the wrongly named segment (its ``mask``)."""
    rows, cols = np.nonzero(mask[0])
    point = (int(rows[len(rows) // 2]), int(cols[len(cols) // 2]))
    return Prompt(points=[(float(point[1]), float(point[0]), 0.0)], labels=[1]), point


def test_the_session_names_every_structure_a_correction_changed(files):
    result = run_vessels(files)
    session = result.session
    prompt, _ = rename_prompt(result.get(WRONG).mask)
    session.reprompt(RIGHT, prompt)
    assert session.changed == (RIGHT, WRONG)
    session.undo(RIGHT)
    assert session.changed == (RIGHT, WRONG)
    start, end = far_ends(session.results[RIGHT].mask[0])
    points = [(float(c), float(r), 0.0) for r, c in (start, end)]
    session.reprompt(RIGHT, Prompt(points=points, labels=[1, 1]))  # a trace without overwrite takes nothing
    assert session.changed == (RIGHT,)


def test_undoing_one_segment_keeps_a_later_correction_of_another_and_any_order_ends_at_the_start(files):
    """Before, an undo restored the whole label map of its correction's time: undoing the rename also took back a
    later correction of another segment, and undoing that one next brought the undone rename back."""
    result = run_vessels(files)
    session, start = result.session, {name: item.mask.copy() for name, item in result.session.results.items()}
    prompt, _ = rename_prompt(result.get(WRONG).mask)
    session.reprompt(RIGHT, prompt)
    renamed = {name: item.mask.copy() for name, item in session.results.items()}
    outside = Prompt(points=rename_prompt(start[UNTOUCHED[1]])[0].points, labels=[0])  # removes the piece under it
    removed = session.reprompt(UNTOUCHED[1], outside)
    assert removed.mask.sum() < start[UNTOUCHED[1]].sum()
    session.undo(RIGHT)
    assert np.array_equal(session.results[UNTOUCHED[1]].mask, removed.mask)  # the later correction stays
    assert all(np.array_equal(session.results[name].mask, start[name]) for name in (RIGHT, WRONG))
    assert session.changed == (RIGHT, WRONG) and not np.array_equal(renamed[WRONG], start[WRONG])
    session.undo(UNTOUCHED[1])
    assert all(np.array_equal(item.mask, start[name]) for name, item in session.results.items())


def test_a_correction_leaves_a_segment_that_overlaps_another_and_the_covered_one_as_they_were(files):
    """Segments may overlap (Slicer layers). Before, the session kept one segment per pixel: after a hand edit made S5
    cover S6, a rename elsewhere left S6 not found, "every voxel it had went to" the renamed segment."""
    session = run_vessels(files).session
    start = {name: item.mask.copy() for name, item in session.results.items()}
    session.edit(UNTOUCHED[0], start[UNTOUCHED[0]] | start[UNTOUCHED[1]])
    session.reprompt(RIGHT, rename_prompt(start[WRONG])[0])
    assert session.results[UNTOUCHED[1]].found and np.array_equal(session.results[UNTOUCHED[1]].mask, start[UNTOUCHED[1]])
    assert np.array_equal(session.results[UNTOUCHED[0]].mask, start[UNTOUCHED[0]] | start[UNTOUCHED[1]])


def test_on_a_film_of_another_size_a_correction_does_not_resample_the_other_segments(files):
    """Before, every segment went to the 512 px working grid and back with each correction: a thin line drawn by hand on
    a 700 px film lost and gained pixels when another segment was corrected."""
    session = run_vessels(files, 700).session
    rows, cols = np.nonzero(session.results[UNTOUCHED[0]].mask[0])
    drawn = session.results[UNTOUCHED[0]].mask.copy()
    drawn[0, rows.min() : rows.min() + 40, cols.max() + 3] = True  # a one-pixel line beside the segment
    session.edit(UNTOUCHED[0], drawn)
    start = {name: item.mask.copy() for name, item in session.results.items()}
    session.reprompt(RIGHT, rename_prompt(start[WRONG])[0])
    assert all(np.array_equal(session.results[name].mask, start[name]) for name in UNTOUCHED)


@pytest.mark.parametrize("size", [512, 1024])
def test_slicer_node_moves_the_renamed_piece_and_undo_puts_both_segments_back(files, mrml_scene, size):
    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask

    result = run_vessels(files, size)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))

    def masks():
        return {s.structure.name: segment_mask(node, require_segment_id(node, s.structure.name), result.target) for s in result.structures}

    before = masks()
    prompt, point = rename_prompt(result.get(WRONG).mask)
    correction = Correction(result, node)
    correction.update(RIGHT, prompt)
    after = masks()
    moved = after[RIGHT] & before[WRONG]
    assert moved[0][point] and not (after[WRONG] & after[RIGHT]).any()  # the piece left its wrong segment
    assert np.array_equal(after[WRONG], before[WRONG] & ~moved)
    assert all(np.array_equal(after[n], before[n]) for n in UNTOUCHED)
    assert result.get(WRONG).mask.sum() == after[WRONG].sum()
    correction.undo(RIGHT)
    assert all(np.array_equal(m, before[n]) for n, m in masks().items())


State = namedtuple("State", "voxels tag status answer confidence prompts message")
"""A segment's voxels, tag and status, and the session's answer (its voxels, confidence, prompts and message)."""


def flagged_s5_in_slicer(shared_data, mrml_scene):
    """The engine on ARCADE 350 -> 858 in a segmentation node with the bar at 0.95: S5 (0.94) is flagged. Returns the
    result, its Correction and ``state(name)`` (a :data:`State`)."""
    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.results import Logic
    from rau.mrml.segments import require_segment_id, segment_mask, tag_text

    result = run_vessels(pair(shared_data, 350, 858))
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene), low_confidence=0.95)

    def state(name):
        segment_id = require_segment_id(node, name)
        segment, item = node.GetSegmentation().GetSegment(segment_id), result.session.results[name]
        return State(segment_mask(node, segment_id, result.target).tobytes(), tag_text(segment), Logic.GetSegmentStatus(segment),
                     item.mask.tobytes() if item.found else None, item.confidence, item.prompts, item.message)

    assert state(UNTOUCHED[0]).status == Logic.Flagged
    return result, Correction(result, node, low_confidence=0.95), state


def test_undoing_two_renames_in_another_order_gives_the_node_and_session_the_runs_tags_statuses_and_confidences(shared_data, mrml_scene):
    """S5 takes a piece of S6, then S6 a piece of S5; S5 is undone first. Before, undoing S6 wrote back S5's tag and
    status from before it (confidence 1, one correction, not flagged), and the session kept confidence 1 for S5 (and
    for S6 after S6's undo) though their corrections had been undone."""
    result, correction, state = flagged_s5_in_slicer(shared_data, mrml_scene)
    run = {name: state(name) for name in result.session.results}
    correction.update(UNTOUCHED[0], rename_prompt(result.get(UNTOUCHED[1]).mask)[0])
    correction.update(UNTOUCHED[1], rename_prompt(result.get(UNTOUCHED[0]).mask)[0])
    correction.undo(UNTOUCHED[0])
    s5, s6 = state(UNTOUCHED[0]), state(UNTOUCHED[1])
    assert s5.status == run[UNTOUCHED[0]].status and s5[4:] == run[UNTOUCHED[0]][4:] and json.loads(s5.tag)["confidence"] == s5.confidence
    assert s6.confidence == json.loads(s6.tag)["confidence"] == 1.0  # its correction stays
    correction.undo(UNTOUCHED[1])
    assert {name: state(name) for name in result.session.results} == run


def test_undoing_a_rename_and_the_rename_back_in_another_order_ends_where_the_run_was(shared_data, mrml_scene):
    """S5 takes a piece of S6 and S6 takes it back (the same click); S5 is undone first. Before, undoing S6 then gave
    the piece to S5 again (S6's record of the piece before it was from S5's undone rename), in the node and the session."""
    result, correction, state = flagged_s5_in_slicer(shared_data, mrml_scene)
    run = {name: state(name) for name in result.session.results}
    prompt = rename_prompt(result.get(UNTOUCHED[1]).mask)[0]
    correction.update(UNTOUCHED[0], prompt)
    correction.update(UNTOUCHED[1], prompt)
    correction.undo(UNTOUCHED[0])
    correction.undo(UNTOUCHED[1])
    assert {name: state(name) for name in result.session.results} == run


def test_a_segment_deleted_in_slicer_leaves_the_others_correctable(files, mrml_scene):
    """A vessel correction reads every segment it may change; before, one the user had deleted stopped the
    correction of any other ("has no segment 'S5_left_main'"). A deleted segment counts as emptied by hand."""
    from rau.mrml import Correction, add_result_node, add_volume_node
    from rau.mrml.segments import require_segment_id, segment_mask, structure_segment_id

    result = run_vessels(files)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    node.GetSegmentation().RemoveSegment(require_segment_id(node, UNTOUCHED[0]))
    prompt, point = rename_prompt(result.get(WRONG).mask)
    Correction(result, node).update(RIGHT, prompt)
    assert segment_mask(node, require_segment_id(node, RIGHT), result.target)[0][point]
    assert not structure_segment_id(node, UNTOUCHED[0]) and not result.session.results[UNTOUCHED[0]].found


def test_a_click_off_the_vessels_in_slicer_is_named_as_its_markup_and_position(files, mrml_scene):
    """Before, it was named by its i,j in the image rau holds ("the click at 3,3"), as other markup errors never are
    (and, on a volume stored along i, not the node's IJK either)."""
    from rau.mrml import Correction, add_result_node, add_volume_node, prompt_from_markups
    from rau.mrml.geometry import lps_to_ras

    result = run_vessels(files)
    node = add_result_node(result, add_volume_node(result.target, "angiogram", mrml_scene))
    outside = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "outside")
    outside.AddControlPoint(lps_to_ras(result.target.to_world((3, 3, 0))).tolist())  # the film's corner, far from its vessels
    with pytest.raises(InputError, match=r"^vessel clicks must lie on a vessel: point 'outside-1' of 'outside' at RAS \[-3.0, -3.0, 0.0\] is more "):
        Correction(result, node).update(WRONG, prompt_from_markups(result.target, None, outside))


def test_segments_ticked_in_slicer_get_what_they_get_with_all_ticked(files, mrml_scene):
    """The vessels engine traces every segment of the reference; Slicer's bridge gave it the ticked ones only, so two
    ticked segments took pixels their unticked neighbours keep on the command line (1541 and 1388 pixels against 1522
    and 1385 on ARCADE 350 -> 858; here 928 -> 204)."""
    from rau.mrml import add_segmentation_node, add_volume_node, request_from_nodes

    image, labels, target, table = files
    reference = load_reference(image, labels, 1.0, table)
    reference_node = add_volume_node(reference.image, "reference", mrml_scene)
    segmentation_node = add_segmentation_node(reference.segmentation, "reference labels", mrml_scene, reference_node)
    target_node = add_volume_node(read_image(target, 1.0), "target", mrml_scene)
    ticked = [WRONG, UNTOUCHED[1]]
    request = request_from_nodes(reference_node, segmentation_node, target_node, ticked)
    in_slicer = create_engine("vessels", {"top_k": 1}).run(request)
    everything = run_vessels(files)
    assert [s.structure.name for s in in_slicer.structures] == ticked
    for name in ticked:
        assert np.array_equal(in_slicer.get(name).mask, everything.get(name).mask), name


def segment_with_rau(files, out):
    """``rau segment --engine vessels`` on the pair, written to ``out``."""
    image, labels, target, table = files
    assert main(["segment", "--engine", "vessels", "--top-k", "1", "--reference", str(image), "--reference-labels", str(labels),
                 "--label-table", str(table), "--reference-spacing", "1", "--target", str(target), "--target-spacing", "1",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def segmented(files, tmp_path_factory):
    """:func:`segment_with_rau` run once in this module, into a folder of its own (``first.nii.gz`` and its files)."""
    return segment_with_rau(files, tmp_path_factory.mktemp("segmented") / "first.nii.gz")


def copied(segmented, folder):
    """The files :func:`segmented`'s run wrote, copied into ``folder`` (the result names its label map relative to
    itself); its label map there."""
    for path in segmented.parent.iterdir():
        shutil.copy2(path, folder / path.name)
    return folder / segmented.name


def test_rau_correct_writes_both_segments_of_a_rename(segmented, tmp_path, capsys):
    out = copied(segmented, tmp_path)
    first = read_segmentation(out).masks
    _, (row, col) = rename_prompt(first[WRONG])
    corrected = tmp_path / "renamed.nii.gz"
    code = main(["correct", str(tmp_path / "first.result.json"), "--structure", RIGHT, "--inside", f"{col},{row}", "--out", str(corrected)])
    assert code == 0, capsys.readouterr().err
    second = read_segmentation(corrected).masks
    moved = second[RIGHT] & first[WRONG]
    assert moved[0, row, col] and moved.sum() > 10
    assert np.array_equal(second[WRONG], first[WRONG] & ~moved)
    assert all(np.array_equal(second[n], first[n]) for n in UNTOUCHED)
    rows = {r["name"]: r for r in json.loads((tmp_path / "renamed.result.json").read_text())["structures"]}
    assert rows[WRONG]["found"] and rows[RIGHT]["found"]


def test_rau_correct_keeps_a_structure_removed_earlier_removed(segmented, tmp_path, capsys):
    """A segment saved as not found (removed by corrections or by hand) stays empty when another one is corrected;
    before, the repeated run gave it back its engine mask, and a rename wrote what was left of it (411 px in the probe)."""
    import SimpleITK as sitk

    out = copied(segmented, tmp_path)
    first = read_segmentation(out).masks
    saved = json.loads((tmp_path / "first.result.json").read_text())
    row = next(r for r in saved["structures"] if r["name"] == WRONG)
    label_map = sitk.ReadImage(str(out))
    array = sitk.GetArrayFromImage(label_map)
    array[array == row["value"]] = 0  # the user removed the segment
    removed = sitk.GetImageFromArray(array)
    removed.CopyInformation(label_map)
    sitk.WriteImage(removed, str(out))
    row.update(found=False, voxels=0)
    (tmp_path / "first.result.json").write_text(json.dumps(saved))
    _, (row_index, col) = rename_prompt(first[WRONG])
    corrected = tmp_path / "renamed.nii.gz"
    code = main(["correct", str(tmp_path / "first.result.json"), "--structure", RIGHT, "--inside", f"{col},{row_index}", "--out", str(corrected)])
    assert code == 0, capsys.readouterr().err
    second = read_segmentation(corrected).masks
    assert not second[WRONG].any()  # in the table (its value and colour), without voxels
    assert not any(r["found"] for r in json.loads((tmp_path / "renamed.result.json").read_text())["structures"] if r["name"] == WRONG)
    assert all(np.array_equal(second[n], first[n]) for n in UNTOUCHED)


def test_a_server_session_sends_back_every_changed_structure(files, tmp_path):
    from rau.serve.app import ServerConfig
    from rau.serve.client import Client
    from rau.serve.remote import RemoteEngine

    image, labels, target, table = files
    request = Request([load_reference(image, labels, 1.0, table)], read_image(target, 1.0))
    local = run_vessels(files)  # the engine's answer to this request
    prompt, _ = rename_prompt(local.get(WRONG).mask)
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        remote = RemoteEngine(Client(url), "vessels", {"top_k": 1}).run(request)
        remote.session.reprompt(RIGHT, prompt)
        local.session.reprompt(RIGHT, prompt)
        assert remote.session.changed == local.session.changed == (RIGHT, WRONG)
        for name in (RIGHT, WRONG, *UNTOUCHED):
            assert np.array_equal(remote.session.results[name].mask, local.session.results[name].mask)
        remote.session.undo(RIGHT)
        local.session.undo(RIGHT)
        assert np.array_equal(remote.session.results[WRONG].mask, local.session.results[WRONG].mask)
        blank = request.target.with_array(np.full(request.target.shape, 200, np.uint8))
        nothing = RemoteEngine(Client(url), "vessels", {"top_k": 1}).run(Request(request.references, blank))  # none found
        assert not any(item.found for item in nothing.structures)  # before: the server's .seg.nrrd writer failed the job



def test_an_undo_out_of_order_writes_a_segment_the_undone_correction_never_wrote(shared_data, mrml_scene):
    """S12a traces twice (the second with overwrite), S6 traces without; S12a is undone, then S6: the session's answer
    for S12a changes (told of the segment before the undo, which holds voxels the session gave S12a only at S6's undo),
    though S6's correction never wrote S12a. Before, S12a's tag and result entry kept what they were (until a later
    correction wrote S12a): now its segment goes through the session's change, tag and result too. (Since S12a's undo
    tells the session what it wrote, the session's new answer for S12a holds the voxels it held: the result's entry
    may be the one from before, equal to it.)"""
    from rau.mrml.results import tag_json
    from rau.mrml.segments import require_segment_id, segment_mask, tag_text
    from rau.result import voxels

    result, correction, _ = flagged_s5_in_slicer(shared_data, mrml_scene)
    s6, s12a = UNTOUCHED[1], "S12a_obtuse_marginal_a"
    for name, points, overwrite in ((s12a, [(131, 123), (353, 257)], False), (s12a, [(236, 393), (102, 115)], True),
                                    (s6, [(341, 252), (91, 124)], False)):
        correction.overwrite = overwrite
        correction.update(name, Prompt(points=[(float(i), float(j), 0.0) for i, j in points], labels=[1, 1]))
    correction.undo(s12a)
    segment_id = require_segment_id(correction.node, s12a)
    before, answer_before = segment_mask(correction.node, segment_id, result.target), result.session.results[s12a]
    correction.undo(s6)
    answer = result.session.results[s12a]
    assert answer is not answer_before
    was, now = answer_before.mask, answer.mask
    assert np.array_equal(segment_mask(correction.node, segment_id, result.target), (before & ~(was & ~now)) | (now & ~was))
    assert json.loads(tag_text(correction.node.GetSegmentation().GetSegment(segment_id))) == json.loads(tag_json(answer, result.target))
    kept = result.get(s12a)
    assert np.array_equal(voxels(kept, result.target.shape), voxels(answer, result.target.shape))
    assert tag_json(kept, result.target) == tag_json(answer, result.target)
