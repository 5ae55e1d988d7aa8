"""The module's logic with "Engine location: server URL": segment and correct through a real ``rau serve`` on
loopback, on slicer-core MRML scenes, and get the same segments as running here."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from serve_helpers import running_server
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node, image_from_volume_node, segmentation_from_node, write_segment_mask  # noqa: E402
from rau.serve.app import ServerConfig  # noqa: E402
from rau.serve.client import ServerError  # noqa: E402
from rau.serve.remote import RemoteSession  # noqa: E402
from rau.serve.sessions import SessionGone  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402



def closed_by_its_client(app, session_id: str, seconds: float = 10.0) -> bool:
    """Whether the server's session ``session_id`` is closed by its client within ``seconds`` (a remote session is
    closed from a thread: closing never waits for the server)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            app.state.server.sessions.get(session_id)
        except SessionGone as gone:
            return "the client closed it" in str(gone)
        time.sleep(0.02)
    return False


def segments(node, target_volume) -> dict:
    found = segmentation_from_node(node, image_from_volume_node(target_volume))
    return {name: found.masks[name] for name in found.labels.names}


def test_registration_through_the_server_finds_the_structure_of_a_moved_target(mrml_scene, shared_data, tmp_path):
    from rau.references import load_reference

    folder = shared_data / "hc18_fetal_head_us"
    loaded = load_reference(folder / "images/012_HC.png", folder / "masks/012_HC_mask.png", 0.08346045)
    image, segmentation = loaded.image, loaded.segmentation
    reference = add_volume_node(image, "reference US", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    moved = Image(image.array, image.spacing, tuple(np.add(image.origin, (8.0, -6.0, 0.0))), image.direction, ndim=2)
    target = add_volume_node(moved, "patient US", mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    options = {"deformable": False, "device": "cpu", "sam2_model": "tiny"}  # model and device are the server's: not sent
    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=0.5)) as (url, app):
        node = logic.process(reference, reference_segmentation, target, None, "registration", options, server=url)
        found = segments(node, target)
        assert list(found) == segmentation.labels.names
        for name, truth in segmentation.masks.items():  # the target's pixels are the reference's, so its mask is the truth
            mask = found[name]
            assert 2 * (truth & mask).sum() / (truth.sum() + mask.sum()) > 0.95, name
        name = segmentation.labels.names[0]
        assert isinstance(logic.correction(node).result.session, RemoteSession)
        k, j, i = np.argwhere(found[name])[len(np.argwhere(found[name])) // 2]
        logic.correct(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))
        corrected = segments(node, target)[name]
        assert corrected.sum() < found[name].sum()
        with app.state.server.queues.device_lock("auto"):  # a job holds the device: the server answers 503
            with pytest.raises(ServerError, match="nothing was changed: try again in a moment"):
                logic.undo(node, name)
        assert np.array_equal(segments(node, target)[name], corrected)
        logic.undo(node, name)  # before: "nothing to undo", the client's undo spent while the server's was not
        assert np.array_equal(segments(node, target)[name], found[name])
        painted = found[name].copy()  # a hand edit in the Segment Editor, far from the next click
        rows = np.flatnonzero(painted.any(axis=(0, 2)))
        painted[:, rows[0] - 12 : rows[0] - 2, i - 5 : i + 5] = True
        write_segment_mask(node, name, painted, image_from_volume_node(target))
        logic.correct(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[1]))
        assert segments(node, target)[name][painted & ~found[name]].all()  # before: the server's mask, without the edit
        session_id = logic.correction(node).result.session.id
        assert app.state.server.sessions.get(session_id) is not None
        logic.releaseSessions()  # the scene closes
        assert closed_by_its_client(app, session_id)  # before: kept on the server until it expired
        request = logic.request(reference, reference_segmentation, target)
        dropped = logic.runEngine("registration", options, request, server=url)  # a run whose scene closed once the engine had finished
        assert app.state.server.sessions.get(dropped.session.id) is not None
        logic.dropResult(dropped)  # before: the module's Run dropped such a result with its server session open
        assert closed_by_its_client(app, dropped.session.id)


def test_sam2_corrections_go_through_the_server_session(mrml_scene, tiny_sam2, tmp_path):
    rng = np.random.default_rng(0)
    image = Image(rng.normal(size=(6, 30, 40)).astype(np.float32), spacing=(0.9, 1.4, 3.0))
    labels = np.zeros(image.shape, np.uint8)
    labels[2:4, 5:15, 5:20] = 1
    labels[1:5, 18:26, 22:35] = 2
    label_set = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    reference = add_volume_node(image, "reference", mrml_scene)
    reference_segmentation = add_segmentation_node(Segmentation.from_label_map(image.with_array(labels), label_set), "reference segmentation", mrml_scene, reference)
    target = add_volume_node(image.with_array(rng.normal(size=image.shape).astype(np.float32)), "target", mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    config = ServerConfig(work_dir=tmp_path / "work", engine_options={"sam2_model": str(tiny_sam2["always"]), "device": "cpu"})
    with running_server(config) as (url, app):
        node = logic.process(reference, reference_segmentation, target, None, "sam2-memory", {}, server=url)
        correction = logic.correction(node)
        assert isinstance(correction.result.session, RemoteSession)
        server_session = app.state.server.sessions.get(correction.result.session.id)
        first = server_session.result.get("liver").mask.copy()
        before = segments(node, target)
        item = correction.update("liver", Prompt(points=[(10.0, 12.0, 3.0), (30.0, 20.0, 3.0)], labels=[1, 0]))
        taken = before["spleen"] & ~before["liver"]  # the spleen's voxels the liver did not hold already (they may overlap)
        assert np.array_equal(server_session.result.get("liver").mask & ~taken, item.mask)  # it gives way
        after = segments(node, target)
        assert not np.array_equal(after["liver"], before["liver"])
        assert np.array_equal(after["spleen"], before["spleen"])
        logic.undo(node, "liver")
        assert np.array_equal(segments(node, target)["liver"], before["liver"])
        assert np.array_equal(server_session.result.get("liver").mask, first)


def test_what_the_server_job_warned_of_is_said_here_as_a_run_here_says_it(mrml_scene, tiny_sam2, tmp_path):
    """Before: the job's warnings (here "no GPU found", SAM2 on a server with device auto and no GPU) stayed in its
    record; the Slicer module never showed them, where a run here warns."""
    import torch

    from rau.user_warnings import collected_warnings

    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("a machine with a GPU does not warn of running on the CPU")
    image = Image(np.random.default_rng(0).normal(size=(4, 24, 24)).astype(np.float32), spacing=(1.0, 1.0, 2.0))
    labels = np.zeros(image.shape, np.uint8)
    labels[1:3, 5:15, 5:15] = 1
    reference = add_volume_node(image, "reference", mrml_scene)
    segmentation = Segmentation.from_label_map(image.with_array(labels), LabelSet((Structure("liver", 1),)))
    inputs = reference, add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference), add_volume_node(image, "target", mrml_scene)
    logic, options = load_rauslicer().RAUSlicerLogic(), {"sam2_model": str(tiny_sam2["always"]), "device": "auto"}
    said = {}
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, _):
        for server in ("", url):
            with collected_warnings() as said[server]:
                logic.runEngine("sam2-memory", {} if server else options, logic.request(*inputs), server=server)
    assert any(message.startswith("no GPU found") for message in said[""]) and said[url] == said[""]


def hc18_scene(mrml_scene, shared_data):
    """HC18 exam 012 and its head as the reference, its picture again as the target: the three nodes, the module's
    logic and the structure's name."""
    from rau.references import load_reference

    folder = shared_data / "hc18_fetal_head_us"
    loaded = load_reference(folder / "images/012_HC.png", folder / "masks/012_HC_mask.png", 0.08346045)
    reference = add_volume_node(loaded.image, "reference US", mrml_scene)
    reference_segmentation = add_segmentation_node(loaded.segmentation, "reference segmentation", mrml_scene, reference)
    target = add_volume_node(loaded.image, "patient US", mrml_scene)
    return (reference, reference_segmentation, target), load_rauslicer().RAUSlicerLogic(), loaded.segmentation.labels.names[0]


def test_a_server_run_names_the_reference_as_a_run_here_does_in_its_tags_and_progress(mrml_scene, shared_data, tmp_path):
    """Before: the tags said ``"references": ["reference0.mha"]`` and the progress "registering reference0.mha", the
    name of the copy uploaded to the server, where a run here says "reference US"."""
    from rau.engines.base import Progress
    from rau.mrml import read_rau_tag

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    runs = {}
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        for server in ("", url):
            steps = []
            result = logic.runEngine("registration", {"deformable": False}, logic.request(*inputs), Progress(lambda step, _: steps.append(step)), server=server)
            runs[server] = read_rau_tag(logic.writeResult(result, inputs[2]), name), set(steps)
    (tag, steps), (remote_tag, remote_steps) = runs[""], runs[url]
    assert tag["prompts"]["references"] == ["reference US"] and remote_tag == tag
    assert "registering reference US" in steps and not {step for step in remote_steps if "reference" in step} - steps


def test_a_session_the_server_has_closed_is_dropped_and_the_message_says_run_again(mrml_scene, shared_data, tmp_path):
    """Before: after the server closed the session (idle too long, restarted), every correction and undo failed with
    "session ... was closed" alone, and the node kept its dead session: Update and Undo stayed on."""
    from rau.errors import InputError
    from rau.serve.client import Client

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        before = segments(node, target)
        Client(url).close_session(logic.correction(node).result.session.id)  # as the server does to an idle session
        k, j, i = np.argwhere(before[name])[0]
        with pytest.raises(InputError, match=r"was closed.*; press Run again to correct it"):
            logic.correct(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))
        assert logic.correction(node) is None
        assert all(np.array_equal(mask, before[n]) for n, mask in segments(node, target).items())


def test_a_correction_whose_answer_never_came_closes_the_session_and_says_run_again(mrml_scene, shared_data, tmp_path):
    """Before: a correction the client gave up waiting for (the server may have made it) kept the session, and the next
    corrections went on from a server session one correction ahead of the node (41121 voxels where a run here has 41125)."""
    from rau.errors import InputError

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        before, session = segments(node, target), logic.correction(node).result.session
        k, j, i = np.argwhere(before[name])[len(np.argwhere(before[name])) // 2]
        session.client.timeout = 1e-4  # gives up before the server answers
        with pytest.raises(InputError, match=r"did not answer within .* s, so whether it made the change is not known; press Run again to correct it"):
            logic.correct(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))
        assert logic.correction(node) is None
        assert all(np.array_equal(mask, before[n]) for n, mask in segments(node, target).items())


def test_a_correction_the_stopped_server_refused_says_nothing_was_changed_and_run_again(mrml_scene, shared_data, tmp_path):
    """Before: "refused the connection: is it running?, so whether it made the change is not known": a refused
    connection never reached the server."""
    from rau.errors import InputError

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
    before = segments(node, target)
    k, j, i = np.argwhere(before[name])[len(np.argwhere(before[name])) // 2]
    with pytest.raises(InputError, match=rf"^nothing was changed: rau server {url} refused the connection: is it running\?; press Run again to correct it$"):
        logic.correct(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))
    assert logic.correction(node) is None
    assert all(np.array_equal(mask, before[n]) for n, mask in segments(node, target).items())


def test_a_result_the_server_keeps_no_session_for_says_why_at_run_and_in_the_panel(mrml_scene, shared_data, tmp_path):
    """Before: a result over the server's --max-session-gb came without a session and without a word, and the panel
    said to press Run again to correct it, which never could."""
    from rau.user_warnings import collected_warnings

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    reason = (r"this result cannot be corrected: the server's correction session never opened: its result needs \S+ GiB, "
              r"more than the \S+ GiB the server keeps for sessions \(rau serve --max-session-gb\)")
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_session_bytes=1)) as (url, _):
        with collected_warnings() as said:  # what the panel shows once the run ends
            result = logic.runEngine("registration", {"deformable": False}, logic.request(*inputs), server=url)
        assert len(said) == 1 and re.fullmatch(reason, said[0]), said
        node = logic.writeResult(result, inputs[2])
    assert logic.correction(node) is None
    assert logic.uncorrectable(node) == said[0][0].upper() + said[0][1:] + "."
    other = logic.process(*inputs, None, "registration", {"deformable": False})  # a result here: its session was dropped
    logic.corrections.pop(other.GetID()).close()
    assert logic.uncorrectable(other) == "Corrections need the engine session of this run; press Run again to correct this segmentation."


def test_a_correction_the_busy_server_cannot_take_back_closes_the_session_and_says_so(mrml_scene, shared_data, tmp_path):
    """Before: when the node never got a correction the server made, and the server was busy (503) as the panel took the
    correction back out, the error escaped the panel's job end (buttons left as while running) and the server's
    session stayed one correction ahead of the node."""
    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=0.5)) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        before = segments(node, target)
        session_id = logic.correction(node).result.session.id
        k, j, i = np.argwhere(before[name])[len(np.argwhere(before[name])) // 2]
        logic.correctionJob(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))(None)  # the worker's part
        with app.state.server.queues.device_lock("auto"):  # the node never got it; the server is busy with another job
            note = logic.discardCorrection(node, name)
        assert note.startswith(f"The engine session could not take back the correction of {name!r} (") and "try again in a moment" in note
        assert note.endswith("press Run again to correct this result.")
        assert logic.correction(node) is None
        assert closed_by_its_client(app, session_id)
        assert all(np.array_equal(mask, before[n]) for n, mask in segments(node, target).items())
        assert logic.discardCorrection(node, name) is None  # nothing left to take back


def test_a_refused_write_the_busy_server_cannot_take_back_says_the_session_was_closed(mrml_scene, shared_data, tmp_path):
    """Before: the dialog showed only why the write was refused (the target moved); that the session was closed
    with it, and Run must be pressed again, was dropped."""
    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=0.5)) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        mask = segments(node, target)[name]
        k, j, i = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
        item = logic.correctionJob(node, name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]))(None)
        transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
        transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.eye(4) + np.eye(4, k=3) * 3))
        target.SetAndObserveTransformNodeID(transform.GetID())
        with app.state.server.queues.device_lock("auto"), pytest.raises(RuntimeError) as refused:
            logic.applyCorrection(node, name, item)
        assert "was moved" in str(refused.value) and str(refused.value).endswith("press Run again to correct this result.")
        assert logic.correction(node) is None


def test_a_2d_reference_for_a_volume_target_is_refused_naming_the_nodes_before_anything_is_sent(mrml_scene, shared_data, tmp_path):
    """Before, the server refused the uploaded copies: "reference 'reference0.mha' is 2D but the target 'target.mha' is 3D"."""
    from rau.image import GeometryError

    (reference, reference_segmentation, _), logic, _ = hc18_scene(mrml_scene, shared_data)
    volume = add_volume_node(Image(np.random.default_rng(0).normal(0, 1, (6, 20, 30)).astype(np.float32), spacing=(1.0, 1.0, 2.0)),
                             "patient CT", mrml_scene)
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        with pytest.raises(GeometryError, match=r"reference 'reference US' is 2D but the target 'patient CT' is 3D \(30 x 20 x 6 voxels\)"):
            logic.process(reference, reference_segmentation, volume, None, "registration", {"deformable": False}, server=url)
        assert not app.state.server.jobs


def test_undo_asks_the_server_in_its_work_and_writes_the_node_without_it(mrml_scene, shared_data, tmp_path):
    """Before: Undo sent the server's undo from the GUI thread, which froze Slicer up to the client's timeout (60 s);
    the panel now runs ``undoJob``'s work as a background job, as a correction, and writes with ``applyUndo``."""
    import threading
    import types

    inputs, logic, name = hc18_scene(mrml_scene, shared_data)
    target = inputs[2]
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        found = segments(node, target)[name]
        k, j, i = np.argwhere(found)[len(np.argwhere(found)) // 2]
        click = Prompt(points=[(float(i), float(j), float(k))], labels=[0])
        logic.correct(node, name, click)
        session = logic.correction(node).result.session
        client, asked = session.client, []
        session.client = types.SimpleNamespace(undo=lambda *args: (asked.append(threading.current_thread().name), client.undo(*args))[1])
        work = logic.undoJob(node, name)
        worker = threading.Thread(target=work, args=(None,), name="worker")
        worker.start()
        worker.join()
        assert asked == ["worker"]
        # writing the undo asks the server no undo: it only tells it how the node wrote it (gave_way, which needs no device)
        session.client = types.SimpleNamespace(gave_way=client.gave_way, gave_up=client.gave_up)
        logic.applyUndo(node, name)
        assert np.array_equal(segments(node, target)[name], found)
        session.client = client
        logic.correct(node, name, click)
        corrected = segments(node, target)[name]
        logic.undoJob(node, name)(None)  # Cancel pressed as the server answered: the node keeps the correction
        note = logic.dropUndo(node, name)
        assert note == (f"The engine session had already undone the correction of {name!r}, so it was closed: "
                        "press Run again to correct this result.")
        assert logic.correction(node) is None and closed_by_its_client(app, session.id)
        assert np.array_equal(segments(node, target)[name], corrected)


def three_structures(mrml_scene):
    """A bright disk on a noisy picture as reference and target, and a reference segmentation of three structures:
    "head" (beside the disk), "other" (overlapping where head grows) and "small" (inside where head grows)."""
    from test_correction import result_2d

    result, _ = result_2d()
    small = np.zeros(result.target.shape, bool)
    small[0, 60:64, 46:50] = True
    masks = {**{s.structure.name: s.mask & ~small for s in result.structures}, "small": small}
    masks["other"] &= ~masks["head"]  # one label each, as a reference map has them
    labels = LabelSet((Structure("head", 1), Structure("other", 2), Structure("small", 3)))
    image = result.target.with_array(result.target.array.astype(np.float32))
    segmentation = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, masks)
    reference = add_volume_node(image, "reference", mrml_scene)
    return reference, add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference), add_volume_node(image, "target", mrml_scene)


def segment_states(node, target_volume, session, server_result=None) -> dict:
    """Each segment's voxels, tag and status, after checking that they say ``session``'s answer and, given the server's
    result (its session's too), that the server holds the same answers."""
    import json

    from rau.mrml import read_rau_tag
    from rau.mrml.results import Logic, review_status, tag_json
    from rau.result import voxels

    masks, states = segments(node, target_volume), {}
    for name, answer in session.results.items():
        tag, status = read_rau_tag(node, name), Logic.GetSegmentStatus(node.GetSegmentation().GetSegment(name))
        assert np.array_equal(masks[name], voxels(answer, session.target.shape)), name
        assert tag == json.loads(tag_json(answer, session.target)) and status == review_status(answer), name
        for there in (server_result.session.results[name], server_result.get(name)) if server_result else ():
            assert np.array_equal(voxels(there, session.target.shape), masks[name]), name
            assert without_references(json.loads(tag_json(there, session.target))) == without_references(tag), name
        states[name] = masks[name], tag, status
    return states


def overwrite_and_undo_steps(mrml_scene, tmp_path, server: bool) -> list[dict]:
    """Run (registration) on :func:`three_structures`, through a server on loopback or here; head corrected with
    overwrite (it takes all of small and part of other), small and other corrected, then undone in reverse order;
    the same corrections again, undone in another order. After each step: :func:`segment_states`."""
    import contextlib

    inputs, logic, steps = three_structures(mrml_scene), load_rauslicer().RAUSlicerLogic(), []
    with running_server(ServerConfig(work_dir=tmp_path / "work")) if server else contextlib.nullcontext((None, None)) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url or "")
        session = logic.correction(node).result.session
        assert isinstance(session, RemoteSession) == server
        server_result = app.state.server.sessions.get(session.id).result if server else None
        steps.append(segment_states(node, inputs[2], session, server_result))
        for order in (("other", "small", "head"), ("head", "other", "small")):
            for name, point in (("head", (48, 62, 0)), ("small", (47, 61, 0)), ("other", (70, 70, 0))):
                logic.correct(node, name, Prompt(points=[point], labels=[1]), overwrite=name == "head")
                steps.append(segment_states(node, inputs[2], session, server_result))
            for name in order:
                logic.undo(node, name)
                steps.append(segment_states(node, inputs[2], session, server_result))
    return steps


def without_references(tag: dict) -> dict:
    """A segment's tag without the names of the references (a server's session names them by their uploaded copies;
    two runs in one scene have reference nodes of two names)."""
    prompts = {key: value for key, value in tag["prompts"].items() if key != "references"}
    return {**tag, "prompts": prompts}


def test_an_overwrite_correction_and_undos_in_any_order_through_the_server_step_as_here_and_end_where_the_run_was(mrml_scene, tmp_path):
    """Through a server, the session here is a RemoteSession: the server writes the overwrite itself, and the Slicer
    module's correction tells the session here what it took (gave_up, gave_way). At every step node, tags, statuses,
    the session here, the server's session and the server's result agree, and are what the same steps give with the
    engine here; after the undos they are the Run's."""
    from rau.mrml.results import Logic
    from rau.result import taken_by

    here = overwrite_and_undo_steps(mrml_scene, tmp_path / "here", server=False)
    there = overwrite_and_undo_steps(mrml_scene, tmp_path / "there", server=True)
    run, taken = here[0], here[1]
    assert not taken["small"][0].any() and taken["small"][1]["message"] == taken_by("head") and taken["small"][2] == Logic.Flagged
    assert 0 < taken["other"][0].sum() < run["other"][0].sum()
    assert here[2]["small"][0].any() and here[3]["other"][0].sum() > taken["other"][0].sum()  # small and other grow back
    assert len(here) == len(there) == 13
    for number, (local, remote) in enumerate(zip(here, there)):
        for name, (mask, tag, status) in local.items():
            assert np.array_equal(remote[name][0], mask) and remote[name][2] == status, (number, name)
            assert without_references(remote[name][1]) == without_references(tag), (number, name)
    for done in (here[6], here[12]):
        for name, (mask, tag, status) in run.items():
            assert np.array_equal(done[name][0], mask) and done[name][1:] == (tag, status), name


@pytest.mark.parametrize("seed", [0, 6, 9, 14])
def test_random_overwrite_corrections_and_undos_through_the_server_keep_its_session_where_the_node_is(mrml_scene, tmp_path, seed):
    """Before: the node's write told only the session here how its other segments gave way or gave up voxels
    (``gave_way``, ``gave_up``); the server's session went on by its own rule and, after some undos, held voxels the
    node's segments do not. Random corrections (inside or outside points, overwrite or not) and undos, a fixed seed: at
    every step node, tags, statuses, the session here, the server's session and the server's result agree."""
    rng, inputs, logic = np.random.default_rng(seed), three_structures(mrml_scene), load_rauslicer().RAUSlicerLogic()
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        session = logic.correction(node).result.session
        server_result = app.state.server.sessions.get(session.id).result
        for _ in range(14):
            name = ("head", "small", "other")[rng.integers(3)]
            if session.can_undo(name) and rng.random() < 0.5:
                logic.undo(node, name)
            else:
                point, inside = (int(rng.integers(30, 90)), int(rng.integers(30, 90)), 0), int(rng.random() < 0.7)
                logic.correct(node, name, Prompt(points=[point], labels=[inside]), overwrite=bool(rng.random() < 0.5))
            segment_states(node, inputs[2], session, server_result)


def painted_over_other_then_corrected(mrml_scene, server: str = "") -> dict:
    """The node's segments after Run on :func:`three_structures` (here, or through the server at ``server``), "head"
    painted over a block of "other" in the Segment Editor ("other" loses it), then Update with an inside click on "head"
    far from the paint."""
    inputs, logic = three_structures(mrml_scene), load_rauslicer().RAUSlicerLogic()
    node = logic.process(*inputs, None, "registration", {"deformable": False}, server=server)
    found = segments(node, inputs[2])
    block = np.zeros_like(found["other"])
    block[0, 70:78, 70:78] = True
    assert (block <= found["other"]).all() and not (block & found["head"]).any()
    write_segment_mask(node, "other", found["other"] & ~block, image_from_volume_node(inputs[2]))
    write_segment_mask(node, "head", found["head"] | block, image_from_volume_node(inputs[2]))
    logic.correct(node, "head", Prompt(points=[(48, 25, 0)], labels=[1]))
    return {**segments(node, inputs[2]), "block": block}


def test_a_hand_edit_over_another_segment_then_update_through_the_server_writes_the_node_as_here(mrml_scene, tmp_path):
    """Before, the server took the edit of "head" giving way to "other" (whose copy there still held the block): the
    answer to the click lacked the painted voxels, so the node held them in no segment; here "head" kept them."""
    here = painted_over_other_then_corrected(mrml_scene)
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        there = painted_over_other_then_corrected(mrml_scene, url)
    block = here["block"]
    assert here["head"][block].all() and not here["other"][block].any()
    assert int(there["head"][block].sum()) == block.sum(), f"painted voxels in the head written from the server: {there['head'][block].sum()} of {block.sum()}"
    assert list(there) == list(here)
    for name in here:
        assert np.array_equal(there[name], here[name]), name
