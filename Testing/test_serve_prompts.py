"""``rau serve`` correction prompts over real HTTP on loopback: malformed ones are refused naming the field and its
form; 2D shorthands are taken as ``rau correct`` takes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from serve_helpers import running_server
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.serve.app import ServerConfig
from rau.serve.client import Client
from rau.serve.wire import decode_mask


def halves_job(url: str, folder: Path) -> str:
    """A finished job on :func:`write_two_halves`'s files, written in ``folder``: its session is open."""
    reference, target, table = write_two_halves(folder)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    return job


def reprompt_answer(url: str, folder: Path, prompt, structure: str = "left") -> requests.Response:
    """The server's answer to re-prompting ``structure`` with ``prompt`` (raw JSON) after a job on :func:`write_two_halves`'s files."""
    return posted_prompt(url, halves_job(url, folder), prompt, structure)


def posted_prompt(url: str, job: str, prompt, structure: str = "left") -> requests.Response:
    """The server's answer to re-prompting ``structure`` of ``job``'s session with ``prompt`` (raw JSON)."""
    body = json.dumps({"structure": structure, "prompt": prompt})  # Python's JSON: Infinity and NaN pass, as some clients send them
    return requests.post(f"{url}/v1/sessions/{job}/reprompt", data=body, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.fixture(scope="module")
def shared_job(tmp_path_factory):
    """``(url, job)``: one finished job on :func:`write_two_halves`'s files, on a server of this module's, for the
    tests whose prompts are refused (a refusal changes nothing in the session; a test that corrects makes its own job)."""
    folder = tmp_path_factory.mktemp("shared_job")
    with running_server(ServerConfig(work_dir=folder / "work")) as (url, app):
        job = halves_job(url, folder)
        yield url, job
        assert app.state.server.jobs[job].version == 0  # no refused prompt changed the shared session


def refused_prompt(shared_job, prompt, structure: str = "left") -> requests.Response:
    """The answer to ``prompt`` on :func:`shared_job`'s session."""
    return posted_prompt(*shared_job, prompt, structure)


@pytest.mark.parametrize("prompt", [[1, 2], "x"])
def test_a_prompt_that_is_not_an_object_is_refused_naming_it(shared_job, prompt):
    answer = refused_prompt(shared_job, prompt)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"bad prompt {prompt!r}: give an object")


@pytest.mark.parametrize("box, problem", [
    ({"lower": [30, 10, 0], "upper": [10, 40, 1]}, "the box [30, 10, 0]..[10, 40, 1] is inverted: its lower corner lies above its upper one along i"),
    ({"lower": [40, 40, 1], "upper": [10, 10, 0]}, "the box [40, 40, 1]..[10, 10, 0] is inverted: its lower corner lies above its upper one along i, j, k"),
    ({"lower": [10, 10, 0], "upper": [10, 40, 1]}, "the box [10, 10, 0]..[10, 40, 1] has zero size"),
    ({"lower": [30, 10], "upper": [10, 40]}, "the box [30, 10]..[10, 40] is inverted: its lower corner lies above its upper one along i"),
    ({"lower": [10, 10], "upper": [10, 40]}, "the box [10, 10]..[10, 40] has zero size"),
], ids=["inverted along i", "inverted along every axis", "zero size", "[i, j] corners inverted", "[i, j] corners of zero size"])
def test_a_box_prompt_inverted_or_of_zero_size_is_refused_naming_it(shared_job, box, problem):
    """The message of :func:`rau.boxes.check_corners`, naming the box as sent (before: with a k an [i, j] box was not
    sent with); before that, an inverted box got a "bad prompt: " prefix a zero-size one lacked."""
    answer = refused_prompt(shared_job, {"box": box})
    assert answer.status_code == 422
    assert answer.json()["detail"] == problem


@pytest.mark.parametrize("box, problem", [
    ({"lower": [10, 10], "upper": [float("inf"), 40]}, "the box [10, 10]..[inf, 40]: give a list of finite numbers"),
    ({"lower": "12", "upper": [30, 40]}, "the box '12'..[30, 40]: give a list of finite numbers"),
    ({"lower": [True, 10], "upper": [30, 40]}, "the box [True, 10]..[30, 40]: give a list of finite numbers"),
], ids=["infinite", "text", "true"])
def test_a_box_corner_of_anything_but_finite_numbers_is_refused_naming_it(shared_job, box, problem):
    """Before, an infinite corner was an internal error (500), and text was read one character at a time."""
    answer = refused_prompt(shared_job, {"box": box})
    assert answer.status_code == 422
    assert answer.json()["detail"] == problem


@pytest.mark.parametrize("point, problem", [("12", "the point '12'"), ([1, float("nan")], "the point [1, nan]")], ids=["text", "nan"])
def test_a_point_of_anything_but_finite_numbers_is_refused_naming_it(shared_job, point, problem):
    answer = refused_prompt(shared_job, {"points": [point], "labels": [1]})
    assert answer.status_code == 422
    assert answer.json()["detail"] == f"{problem}: give a list of finite numbers"


@pytest.mark.parametrize("prompt", [
    {"box": {"lower": [30, 10, 0], "upper": [10, 40, 1]}},
    {"box": {"lower": [10, 10, 0], "upper": [10, 40, 1]}},
    {"points": 5, "labels": [1]},
], ids=["inverted box", "zero-size box", "points not a list"])
def test_an_unknown_structure_is_named_before_anything_wrong_with_its_prompt(shared_job, prompt):
    """Structure first, then the prompt; before, an inverted box or malformed points were named first,
    a zero-size box after the structure."""
    answer = refused_prompt(shared_job, prompt, structure="middle")
    assert answer.status_code == 422
    assert answer.json()["detail"] == "no structure 'middle' in this session; it has: 'left' and 'right'"


def test_a_structure_is_found_by_its_name_as_rau_correct_finds_it(server, tmp_path):
    """Case, spaces and punctuation aside, as ``rau correct --structure`` and ``rau segment --structures``; before,
    the server answered 422 "no structure ' Right'" for a structure it held."""
    answer = reprompt_answer(server[0], tmp_path, {"points": [[20, 30]], "labels": [1]}, structure=" Right")
    assert answer.status_code == 200, answer.text
    assert answer.json()["structure"]["name"] == "right" and decode_mask(answer.json()["mask"], (1, 64, 64))[0, 30, 20]


def test_a_box_of_two_index_corners_on_a_2d_target_is_taken_as_its_three_index_form(server, tmp_path):
    """[i, j] corners lie on the one slice, by the rule of points (:func:`rau.session.prompt_point`); before, the
    server refused them: 'bad prompt: box {...}: give {"lower": [i, j, k], "upper": [i, j, k]}'."""
    masks = {}
    for lower, upper in (([36, 20], [52, 44]), ([36, 20, 0], [52, 44, 1])):  # inside "right": "left" takes it
        folder = tmp_path / f"{len(lower)} indices"
        folder.mkdir()
        answer = reprompt_answer(server[0], folder, {"box": {"lower": lower, "upper": upper}})
        assert answer.status_code == 200, answer.text
        masks[len(lower)] = decode_mask(answer.json()["mask"], (1, 64, 64))
    assert np.array_equal(masks[2], masks[3]) and masks[2][0, 30, 40]


def test_a_point_of_two_indices_on_a_2d_target_is_taken_as_rau_correct_takes_it(server, tmp_path):
    """[i, j] lies on the one slice (:func:`rau.session.prompt_point`, as ``rau correct --inside i,j``);
    before, the server refused it: "each point needs three voxel indices (i, j, k)"."""
    masks = {}
    for point in ([40, 30], [40, 30, 0]):  # inside "right": "left" takes it
        folder = tmp_path / f"{len(point)} indices"
        folder.mkdir()
        answer = reprompt_answer(server[0], folder, {"points": [point], "labels": [1]})
        assert answer.status_code == 200, answer.text
        masks[len(point)] = decode_mask(answer.json()["mask"], (1, 64, 64))
    assert np.array_equal(masks[2], masks[3]) and masks[2][0, 30, 40]


@pytest.mark.parametrize("prompt, problem", [
    ({"box": [10, 10, 0, 20, 20, 1]}, 'bad prompt: box [10, 10, 0, 20, 20, 1]: give {"lower": [i, j, k], "upper": [i, j, k]} (upper exclusive; [i, j] on a 2D target)'),
    ({"box": {"lower": [10, 10, 0, 4], "upper": [20, 20]}}, "the box [10, 10, 0, 4]..[20, 20]: give both corners as i,j (i0,j0,i1,j1) or both as i,j,k (i0,j0,k0,i1,j1,k1) for this 2D target"),
    ({"points": [[1, 2, 0, 4]], "labels": [1]}, "the point [1, 2, 0, 4]: give i,j or i,j,k for this 2D target"),
    ({"points": 5, "labels": [1]}, "bad prompt: points 5: give a list of points, each [i, j, k] (or [i, j] on a 2D target)"),
    ({"points": "abc", "labels": [1]}, "bad prompt: points 'abc': give a list of points, each [i, j, k] (or [i, j] on a 2D target)"),  # was "the point 'a'"
    ({"points": [[1, 2]], "labels": "in"}, "bad prompt: labels 'in': give one per point, 1 inside or 0 outside"),
    ({"points": [[1, 2]], "labels": [0.9]}, "bad prompt: labels [0.9]: give one per point, 1 inside or 0 outside"),  # was an outside click
    ({"points": [[1, 2]], "labels": [True]}, "bad prompt: labels [True]: give one per point, 1 inside or 0 outside"),
], ids=["box a list", "box corner of four indices", "point of four indices", "points not a list", "points text", "labels not numbers", "label a fraction", "label a boolean"])
def test_a_malformed_prompt_field_is_refused_naming_the_field_and_its_form(shared_job, prompt, problem):
    """Before, a list box gave "bad prompt: list indices must be integers or slices, not str"."""
    answer = refused_prompt(shared_job, prompt)
    assert answer.status_code == 422
    assert problem in answer.json()["detail"]


def test_a_hand_edit_is_kept_by_the_server_session_and_a_malformed_one_is_refused_naming_it(server, tmp_path):
    """Before, the server corrected from its own masks: the user's hand edits in Slicer were thrown away."""
    from rau.serve.wire import encode_mask

    url = server[0]
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    edited = np.zeros((1, 64, 64), bool)
    edited[0, 5:15, 5:15] = True
    answer = Client(url).edit(job, "left", encode_mask(edited))
    assert np.array_equal(decode_mask(answer["mask"], (1, 64, 64)), edited)
    for mask, problem in (({"lower": [0, 5, 5], "upper": [1, 99, 15], "bits": "AA=="}, "bad mask box"),
                          ({"lower": [0, 5, 5], "upper": [1, 15, 15], "bits": "AA=="}, "give base64 of the 100 packed bits"),
                          ([1, 2], "bad mask [1, 2]: give an object with lower, upper and bits")):
        refused = requests.post(f"{url}/v1/sessions/{job}/edit", json={"structure": "left", "mask": mask}, timeout=30)
        assert refused.status_code == 422 and problem in refused.json()["detail"], refused.text
    misspelt = requests.post(f"{url}/v1/sessions/{job}/edit", json={"structure": "left", "masks": None}, timeout=30)
    assert misspelt.status_code == 422 and "edit: unknown field 'masks'; it takes structure, mask" in misspelt.json()["detail"]  # before: emptied it
    missing = requests.post(f"{url}/v1/sessions/{job}/edit", json={"structure": "left"}, timeout=30)
    assert missing.status_code == 422 and "give the edited mask as 'mask'" in missing.json()["detail"]


def test_a_hand_edit_over_another_structure_is_kept_as_given_in_the_session_as_in_the_downloads(server, tmp_path):
    """The server's session takes the edit as a session here does (:meth:`rau.session.Session.edit`) and its downloads
    hold it so: the voxels painted over "right" are in both structures, as in a ``.seg.nrrd``'s layers. An undo of a
    later correction gives the edit back. (Earlier, the downloads had the edit without "right"'s voxels while the
    session kept them; then both gave way, so a correction lost the painted voxels.)"""
    from rau.io.segmentations import read_segmentation
    from rau.serve.wire import encode_mask

    url = server[0]
    reference, target, table = write_two_halves(tmp_path)
    client = Client(url)
    job = client.submit(target, [reference], label_table=table, options={"deformable": False}, seg_nrrd=True)
    client.wait(job)
    right = read_segmentation(client.download(job, "seg_nrrd", tmp_path / "before.seg.nrrd")).masks["right"]
    edited = np.zeros((1, 64, 64), bool)
    edited[0, 16:48, 8:48] = True  # "left" and most of "right"
    assert np.array_equal(decode_mask(client.edit(job, "left", encode_mask(edited))["mask"], (1, 64, 64)), edited)
    downloaded = read_segmentation(client.download(job, "seg_nrrd", tmp_path / "edited.seg.nrrd")).masks
    assert np.array_equal(downloaded["left"], edited) and np.array_equal(downloaded["right"], right)
    client.reprompt(job, "left", {"points": [[12, 30, 0]], "labels": [1]})
    undone = decode_mask(client.undo(job, "left")["mask"], (1, 64, 64))
    assert np.array_equal(undone, edited)


def test_an_undo_after_a_hand_edit_keeps_the_edit_as_the_slicer_module_does(server, tmp_path):
    """reprompt, edit, undo over HTTP: the undo takes away what the reprompt added and brings back what it removed,
    on the edited mask. Before, it gave back the mask from before the reprompt and the edit was lost."""
    from rau.serve.wire import encode_mask

    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    job = client.submit(target, [reference], label_table=table, options={"deformable": False})
    client.wait(job)
    start = np.zeros((1, 64, 64), bool)
    start[0, 20:44, 4:24] = True
    client.edit(job, "left", encode_mask(start))
    answer = decode_mask(client.reprompt(job, "left", {"points": [[12, 30, 0]], "labels": [1]})["mask"], (1, 64, 64))
    added, removed = answer & ~start, start & ~answer
    assert added.any()
    edited = added.copy()
    edited[0, 2:10, 2:10] = True
    client.edit(job, "left", encode_mask(edited))
    undone = decode_mask(client.undo(job, "left")["mask"], (1, 64, 64))
    assert undone[0, 2:10, 2:10].all(), "the edit was lost"
    assert np.array_equal(undone, (edited & ~added) | removed)


def test_a_reprompt_warns_of_inside_points_its_answer_leaves_out_as_rau_correct_does(server, tmp_path):
    """Before, only ``rau correct`` said so: the answer of a click inside "left" for "right" gave way to "left" without a word."""
    answer = reprompt_answer(server[0], tmp_path, {"points": [[12, 30, 0]], "labels": [1]}, structure="right")
    assert answer.status_code == 200
    assert answer.json()["warnings"] == ["'right' leaves out 1 of the 1 inside points given (its answer held them but gave way to 'left' "
                                         'there; "overwrite": true to take them)']


def test_a_reprompt_says_why_it_changed_nothing_as_rau_correct_does(server, tmp_path):
    """Before, only ``rau correct`` said so: the answer had no word of it, and a client's session (the Slicer module's)
    had no reason to give."""
    from rau.engines import Request
    from rau.engines.base import Prompt
    from rau.io import read_image
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (image, labels, _), target, table = write_two_halves(tmp_path)
    request = Request([load_reference(image, labels, label_table=table)], read_image(target))
    session = RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(request).session
    session.reprompt("right", Prompt(points=[(2.0, 2.0, 0.0)], labels=[0]))  # far from "right"
    assert session.unchanged == "this prompt changes nothing"
    session.reprompt("right", Prompt(points=[(40.0, 30.0, 0.0)], labels=[0]))  # inside it: removes voxels
    assert session.unchanged == ""


@pytest.mark.parametrize("body, problem", [
    ({"structure": "left", "prompt": {"points": [[30, 30]], "labels": [1]}, "overwrites": True}, "reprompt: unknown field 'overwrites'; it takes structure, prompt, overwrite"),
    ({"structure": "left", "prompt": {"boxx": {"lower": [0, 0], "upper": [9, 9]}}}, "prompt: unknown field 'boxx'; it takes points, labels, box"),
    ({"structure": "left", "prompt": {"points": [[30, 30]], "labels": [1]}, "overwrite": "yes"}, "reprompt: overwrite must be true or false, got 'yes'"),
])
def test_a_field_a_correction_does_not_take_is_refused_naming_it(shared_job, body, problem):
    """Before, a misspelt field was left out unseen: "overwrites" gave way, a "boxx" prompt was no box."""
    url, job = shared_job
    answer = requests.post(f"{url}/v1/sessions/{job}/reprompt", json=body, timeout=30)
    assert answer.status_code == 422 and problem in answer.json()["detail"], answer.text


def test_a_field_a_job_spec_does_not_take_is_refused_naming_it():
    """Before, {"structure": [...]} (for "structures") segmented every structure and {"segnrrd": true} gave no .seg.nrrd."""
    from rau.errors import InputError
    from rau.serve.uploads import parse_spec

    for field in ("structure", "segnrrd"):
        with pytest.raises(InputError, match=f"spec: unknown field '{field}'; it takes engine, options, structures, target_spacing"):
            parse_spec(json.dumps({field: True}), "registration")


def test_a_hand_edit_the_server_did_not_take_is_sent_again_with_the_next_correction(server, tmp_path):
    """Before, a failed send left the edit only here: the next sync saw no change and sent nothing."""
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import StructureResult
    from rau.errors import InputError
    from rau.serve.remote import RemoteSession

    target = Image(np.zeros((1, 8, 8), np.float32), ndim=2)
    item = StructureResult(Structure("left", 1), None, 0.0, "registration")
    session = RemoteSession(Client(server[0]), "0" * 32, target, {"left": item.structure}, [item])  # a session the server lacks
    edited = np.zeros(target.shape, bool)
    edited[0, 2:4, 2:4] = True
    with pytest.raises(InputError, match=r"session 0{32} is not known to this server \(it restarted since the run, .*, or the id is another server's\); press Run again to correct it"):  # 410: closed here too
        session.edit("left", edited)
    assert session.results["left"] is item and session.closed_reason  # so a next correction would send the edit again


def test_a_fractional_point_or_box_corner_is_refused_as_rau_correct_refuses_it(server, shared_job, tmp_path):
    """Before: rounded to the nearest voxel (200), where ``rau correct --inside 1.5,5`` is refused; 5.0 is 5 in both."""
    url = server[0]
    whole = "voxel indices are whole numbers (a voxel's i,j,k as the target's file numbers them)"
    for folder, prompt, problem in (("point", {"points": [[1.5, 5]], "labels": [1]}, f"the point [1.5, 5]: {whole}"),
                                    ("box", {"box": {"lower": [10, 10], "upper": [30.5, 40]}}, f"the box [10, 10]..[30.5, 40]: {whole}")):
        answer = refused_prompt(shared_job, prompt)
        assert answer.status_code == 422 and answer.json()["detail"] == problem
    assert reprompt_answer(url, tmp_path / "whole", {"points": [[10.0, 12.0]], "labels": [1]}).status_code == 200


def test_a_mask_or_box_with_a_field_it_does_not_take_is_refused_naming_the_field(shared_job):
    """Before: "bad mask {'lower': [0, 0, 0], 'upper': [1, 1, 8], 'bits': '/w==', 'ex: give ...", the name cut short."""
    url = shared_job[0]
    answer = refused_prompt(shared_job, {"box": {"lower": [10, 10], "upper": [30, 40], "extra": 1}})
    assert answer.status_code == 422 and answer.json()["detail"] == "prompt box: unknown field 'extra'; it takes lower, upper"
    job = answer.url.split("/")[-2]
    mask = {"lower": [0, 0, 0], "upper": [1, 1, 8], "bits": "/w==", "extra": 1}
    refused = requests.post(f"{url}/v1/sessions/{job}/edit", json={"structure": "left", "mask": mask}, timeout=30)
    assert refused.status_code == 422 and refused.json()["detail"] == "mask: unknown field 'extra'; it takes lower, upper, bits"


def test_how_a_client_wrote_a_correction_reaches_the_server_session_and_downloads_and_a_wrong_taker_is_refused(server, tmp_path):
    """Before, ``gave_way`` and ``gave_up`` (how the Slicer module's node wrote a correction) changed only the session on
    the client: the server had no such actions. The server's session and its result take the mask as given."""
    from rau.serve.wire import encode_mask

    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    result = app.state.server.sessions.get(job).result
    kept = result.get("left").mask.copy()
    kept[0, :16] = False
    answer = Client(url).gave_up(job, "right", "left", encode_mask(kept))
    assert np.array_equal(decode_mask(answer["mask"], kept.shape), kept)
    assert np.array_equal(result.get("left").mask, kept) and np.array_equal(result.session.results["left"].mask, kept)
    kept[0, :24] = False
    Client(url).gave_way(job, "left", encode_mask(kept))
    assert np.array_equal(result.get("left").mask, kept) and np.array_equal(result.session.results["left"].mask, kept)
    for action, body, problem in (("gave_up", {"structure": "left", "taker": "nobody", "mask": None}, "no structure 'nobody' in this session"),
                                  ("gave_up", {"structure": "left", "mask": None}, "gave_up: give the name of the structure that took"),
                                  ("gave_way", {"structure": "left"}, "gave_way: give the written mask as 'mask'")):
        refused = requests.post(f"{url}/v1/sessions/{job}/{action}", json=body, timeout=30)
        assert refused.status_code == 422 and problem in refused.json()["detail"], refused.text


def test_a_structure_said_to_have_given_up_its_voxels_to_itself_is_refused_and_kept(server, tmp_path):
    """Before: 200, and the structure was emptied, its message "every voxel it had went to 'left', corrected over it"."""
    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    held = app.state.server.sessions.get(job).result.get("left").mask.copy()
    refused = requests.post(f"{url}/v1/sessions/{job}/gave_up", json={"structure": "left", "taker": "LEFT", "mask": None}, timeout=30)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "gave_up: taker 'LEFT' is 'left' itself; give the other structure that took its voxels"
    assert np.array_equal(app.state.server.sessions.get(job).result.get("left").mask, held) and held.any()


@pytest.mark.parametrize("action", ["gave_way", "gave_up"])
def test_how_a_correction_was_written_that_the_server_refuses_closes_the_session_here_too(server, tmp_path, action):
    """A server that does not take ``gave_way`` / ``gave_up`` (here: a structure its session lacks) would go on from
    other voxels than the node holds: the session here closes when it sends them (before its next round trip, off the
    Slicer module's GUI thread), saying so."""
    from rau.errors import InputError
    from rau.labels import Structure
    from rau.result import StructureResult
    from rau.serve.remote import RemoteSession

    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    held = app.state.server.sessions.get(job).result
    item = StructureResult(Structure("ghost", 9), None, 0.0, "registration")
    session = RemoteSession(Client(url), job, held.target, {"ghost": item.structure, **{s.structure.name: s.structure for s in held.structures}},
                            [item, *held.structures])
    tell = {"gave_way": lambda: session.gave_way("ghost", np.zeros(held.target.shape, bool)),
            "gave_up": lambda: session.gave_up("left", "ghost", np.zeros(held.target.shape, bool))}[action]
    tell()  # asks the server nothing
    with pytest.raises(InputError, match="the server's session did not hear how 'ghost' was written .*no structure 'ghost'.*; press Run again"):
        session.send_untold()
    assert "did not hear" in session.closed_reason
    with pytest.raises(InputError, match="did not hear how 'ghost' was written"):  # and so is every call after
        session.propagate("left")


def test_a_vessel_click_off_the_vessels_is_named_as_the_user_gave_it_through_a_server(server, shared_data):
    """Before, the names a prompt's points carry (``Prompt.names``: an option's text, a markup's point) did not travel:
    through a server, a click off the vessels was named by its column,row ("the click at 3,3"), where ``rau correct``
    and Slicer without a server name it as the user gave it."""
    from rau.engines import Request
    from rau.engines.base import Prompt
    from rau.io import read_image
    from rau.references import load_reference
    from rau.serve.client import ServerError
    from rau.serve.remote import RemoteEngine

    folder = shared_data / "arcade_syntax_dev"
    reference = load_reference(folder / "arcade_train_928_img.png", folder / "arcade_train_928_lab.png", 1.0, folder / "labels.csv")
    request = Request([reference], read_image(folder / "arcade_train_204_img.png", 1.0))
    result = RemoteEngine(Client(server[0]), "vessels", {"top_k": 1}).run(request)
    corner = Prompt(points=[(3.0, 3.0, 0.0)], labels=[1], names=["point 'outside-1' of 'outside'"])  # the film's corner, far from its vessels
    with pytest.raises(ServerError, match=r": vessel clicks must lie on a vessel: point 'outside-1' of 'outside' is more "):
        result.session.reprompt(result.structures[0].structure.name, corner)


@pytest.mark.parametrize("names", ["a", [1], ["only one"]], ids=["text", "not text", "one name for two points"])
def test_malformed_point_names_are_refused_naming_the_field(shared_job, names):
    answer = refused_prompt(shared_job, {"points": [[40, 30], [10, 10]], "labels": [1, 0], "names": names})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"bad prompt: names {names!r}: give none, or one text per point"), answer.text
