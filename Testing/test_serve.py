"""``rau serve`` over real HTTP on loopback: jobs, outputs as ``rau segment`` writes them, sessions, security."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import requests
from serve_helpers import running_server

from rau.cli import main as rau_main
from rau.engines import Request, create_engine
from rau.engines.base import Prompt, Reference
from rau.image import Image
from rau.io import read_image, write_image
from rau.io.label_tables import write_label_table
from rau.labels import LabelSet, Structure
from rau.options import EngineOptions
from rau.serve import client as client_module
from rau.serve.app import ServerConfig
from rau.serve.client import API_HEADER, Client, IncompatibleServer, ServerError
from rau.serve.wire import decode_mask, prompt_to_json

HC18 = "hc18_fetal_head_us"
PAIR = (("images/012_HC.png", "masks/012_HC_mask.png", 0.08346045), ("images/058_HC.png", 0.077068008))


@pytest.fixture
def server(tmp_path):
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        yield url, app


def hc18_pair(shared_data):
    (image, labels, spacing), (target, target_spacing) = PAIR
    folder = shared_data / HC18
    return (folder / image, folder / labels, spacing), folder / target, target_spacing


def outputs(folder: Path, stem: str) -> dict:
    """What ``rau segment`` wrote for ``stem``: label map voxels, label table text, result JSON without timing,
    without file names (a download is saved under the client's name; a server's inputs are its upload copies) and
    without warnings (a job's name its uploads and downloads; a correction's come with its answer)."""
    result = json.loads((folder / f"{stem}.result.json").read_text())
    for key in ("seconds", "label_map", "inputs", "warnings"):
        result.pop(key, None)
    return {
        "label_map": read_image(folder / f"{stem}.nii.gz").array.tolist(),
        "label_table": (folder / f"{stem}.labels.csv").read_text(),
        "result": result,
    }


def test_registration_job_writes_what_rau_segment_writes(server, shared_data, tmp_path):
    url, app = server
    reference, target, target_spacing = hc18_pair(shared_data)
    client = Client(url)
    job = client.submit(target, [reference], "registration", target_spacing=target_spacing, options={"deformable": False})
    steps = []
    record = client.wait(job, on_progress=lambda step, fraction: steps.append((step, fraction)))
    assert record["state"] == "done" and record["session"] == job
    assert steps[-1][1] == 1.0 and record["step"] == "done"
    assert (app.state.server.jobs_dir / job).is_dir() and not (app.state.server.jobs_dir / job / "inputs").exists()  # before: kept for good
    downloaded = tmp_path / "server"
    downloaded.mkdir()
    for kind, name in (("label_map", "s.nii.gz"), ("label_table", "s.labels.csv"), ("result", "s.result.json")):
        client.download(job, kind, downloaded / name)
    cli = tmp_path / "cli"
    code = rau_main(["segment", "--reference", str(reference[0]), "--reference-labels", str(reference[1]),
                     "--reference-spacing", str(reference[2]), "--target", str(target), "--target-spacing", str(target_spacing),
                     "--no-deformable", "--out", str(cli / "s.nii.gz")])
    assert code == 0
    assert outputs(downloaded, "s") == outputs(cli, "s")
    assert read_image(downloaded / "s.nii.gz").array.any()


def test_registration_segment_reprompt_undo_download_round_trip(server, shared_data, tmp_path):
    from rau.references import load_reference

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    reference = (image, labels, spacing)
    request = Request([load_reference(*reference)], read_image(target, target_spacing))
    found = create_engine("registration", {"deformable": False}).run(request).structures[0]
    k, j, i = np.argwhere(found.mask)[found.mask.sum() // 2]  # a click inside the found head: "not here"
    prompt = Prompt(points=[(float(i), float(j), float(k))], labels=[0])
    target_copy = tmp_path / "target.mha"
    write_image(request.target, target_copy)  # the pixel size travels in the file
    round_trip(Client(server[0]), "registration", reference, target_copy, found.structure.name, prompt, {"deformable": False}, tmp_path)


def test_remote_engine_on_a_2d_request_equals_the_engine_here(server, shared_data):
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    request = Request([load_reference(image, labels, spacing)], read_image(target, target_spacing))
    here = create_engine("registration", {"deformable": False}).run(request)
    there = RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(request)
    assert there.target is request.target and there.session is not None
    assert [s.structure for s in there.structures] == [s.structure for s in here.structures]
    for mine, theirs in zip(there.structures, here.structures):
        assert np.array_equal(mine.mask, theirs.mask) and mine.mask.any()
        assert mine.confidence == pytest.approx(theirs.confidence, abs=1e-4)


def test_a_remote_run_keeps_overlapping_structures_and_names_with_spaces_as_a_run_here(server, shared_data):
    """Before, the result came back through the label map: a structure lost its voxels under another one, and a
    name with a trailing space (kept by Slicer, stripped by the label table reader) came back not found."""
    from rau.labels import Segmentation
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    head = load_reference(image, labels, spacing)
    mask = next(iter(head.segmentation.masks.values()))
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    upper = mask.copy()
    upper[:, rows[len(rows) // 2]:] = False  # the head's upper half: inside the head, so in a second layer
    named = LabelSet((Structure("Fetal head ", 1, (0.9, 0.7, 0.2)), Structure("upper half", 2, (0.2, 0.5, 0.9))))
    reference = Reference(head.image, Segmentation(head.segmentation.geometry, named, {"Fetal head ": mask, "upper half": upper}), name="layers")
    request = Request([reference], read_image(target, target_spacing))
    here = create_engine("registration", {"deformable": False}).run(request)
    there = RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(request)
    assert [s.structure.name for s in there.structures] == ["Fetal head ", "upper half"]
    for mine, theirs in zip(there.structures, here.structures):
        assert mine.found and np.array_equal(mine.mask, theirs.mask)
    assert (there.structures[0].mask & there.structures[1].mask).any()


def test_a_remote_run_leaves_the_operator_s_options_and_takes_the_first_reference_s_values(server, shared_data):
    """Before: the panel's defaults replaced the options the server was started with, and a structure took the last
    reference's label value and colour (a run here takes the first's). An option given, at its default too, is sent."""
    from rau.labels import Segmentation
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    client = Client(server[0])
    assert RemoteEngine(client, "registration", EngineOptions()).options == {}  # nothing chosen: the operator's settings hold
    assert RemoteEngine(client, "registration", {"deformable": False, "top_k": 5, "device": "cpu"}).options == {"deformable": False, "top_k": 5}
    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    first = load_reference(image, labels, spacing)
    (structure,) = first.segmentation.labels
    recoloured = Structure(structure.name, 5, (0.0, 0.0, 1.0))
    labels = LabelSet((recoloured,), named=first.segmentation.labels.named)  # both unnamed (label_255), as a run here requires
    mask = first.segmentation.masks[structure.name].copy()
    mask[np.nonzero(mask)[0][0], np.nonzero(mask)[1][0], np.nonzero(mask)[2][0]] = False  # one voxel less: not a copy of the first
    second = Reference(first.image, Segmentation(first.segmentation.geometry, labels, {structure.name: mask}), name="second")
    request = Request([first, second], read_image(target, target_spacing))
    there = RemoteEngine(client, "registration", {"deformable": False}).run(request)
    assert [s.structure for s in there.structures] == [structure]


def write_sam2_case(folder: Path) -> tuple[tuple, Path]:
    """A small 3D reference (two structures) and target on disk."""
    rng = np.random.default_rng(0)
    image = Image(rng.normal(size=(6, 30, 40)).astype(np.float32), spacing=(0.9, 1.4, 3.0))
    labels = np.zeros(image.shape, np.uint8)
    labels[2:4, 5:15, 5:20] = 1
    labels[1:5, 18:26, 22:35] = 2
    write_image(image, folder / "ref.nii.gz")
    write_image(image.with_array(labels), folder / "ref_labels.nii.gz")
    write_label_table(LabelSet((Structure("liver", 1), Structure("spleen", 2))), folder / "ref_labels.labels.csv")
    write_image(image.with_array(rng.normal(size=image.shape).astype(np.float32)), folder / "target.nii.gz")
    return (folder / "ref.nii.gz", folder / "ref_labels.nii.gz", None), folder / "target.nii.gz"


def round_trip(client: Client, engine: str, reference, target, structure: str, prompt: Prompt, in_process_options: dict, tmp_path,
               label_table=None):
    """segment -> re-prompt -> download -> undo -> download on the server, each step equal to the same work in process.

    Engine-agnostic: every engine's result has a session.
    """
    from rau.references import load_reference

    job = client.submit(target, [reference], engine, label_table=label_table, options={k: v for k, v in in_process_options.items() if k == "deformable"})
    record = client.wait(job)
    assert record["session"] == job
    local = create_engine(engine, in_process_options).run(Request([load_reference(*reference)], read_image(target)))
    first, shape = local.get(structure), local.target.shape

    def label_map_after(item, name: str) -> np.ndarray:
        """The server's label map now, checked against the in-process result with ``item`` for the structure."""
        local.structures = [item if s.structure.name == structure else s for s in local.structures]
        client.download(job, "label_map", tmp_path / name)
        assert np.array_equal(read_image(tmp_path / name).array, local.to_segmentation().to_label_map().array)

    answer = client.reprompt(record["session"], structure, prompt_to_json(prompt, local.target))
    corrected = local.session.reprompt(structure, prompt)
    assert np.array_equal(decode_mask(answer["mask"], shape), corrected.mask)
    assert not np.array_equal(corrected.mask, first.mask)
    label_map_after(corrected, "corrected.nii.gz")

    answer = client.undo(record["session"], structure)
    assert np.array_equal(decode_mask(answer["mask"], shape), first.mask)
    label_map_after(first, "undone.nii.gz")
    with pytest.raises(ServerError, match="nothing to undo"):
        client.undo(record["session"], structure)
    client.close_session(record["session"])
    with pytest.raises(ServerError, match="closed"):
        client.propagate(record["session"], structure)


def test_sam2_segment_reprompt_undo_download_round_trip(tiny_sam2, tmp_path):
    reference, target = write_sam2_case(tmp_path)
    options = {"sam2_model": str(tiny_sam2["always"]), "device": "cpu"}
    prompt = Prompt(points=[(10.0, 12.0, 3.0), (30.0, 20.0, 3.0)], labels=[1, 0])
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, _):
        round_trip(Client(url), "sam2-memory", reference, target, "liver", prompt, options, tmp_path, tmp_path / "ref_labels.labels.csv")


def test_a_reference_uploaded_twice_is_refused_as_rau_segment_refuses_it(server, shared_data):
    """Before, the server ran it: the copy voted twice (its fused mask was about that reference's own), while rau segment
    and rau evaluate refuse a repeated reference."""
    reference, target, spacing = hc18_pair(shared_data)
    other = (shared_data / HC18 / "images/010_HC.png", shared_data / HC18 / "masks/010_HC_mask.png", 0.079935165)
    with pytest.raises(ServerError, match=r"upload reference 3 \('012_HC.png'\): its image and labels are copies of those of "
                                          r"upload reference 1 \('012_HC.png'\); it would vote twice") as refused:
        Client(server[0]).submit(target, [reference, other, reference], target_spacing=spacing)
    assert refused.value.status == 422
    assert not any(server[1].state.server.jobs_dir.iterdir())


def test_a_job_says_which_structures_of_later_references_it_leaves_out_as_rau_segment_does(server, shared_data, tmp_path):
    """Before, only rau segment, evaluate and batch said so: a server job left the second reference's structure out
    without a word (the first reference decides the structures found)."""
    import shutil

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    references = []
    for name, (image_path, labels_path, pixel) in (("head", (image, labels, spacing)),
                                                    ("skull", (shared_data / HC18 / "images/010_HC.png", shared_data / HC18 / "masks/010_HC_mask.png", 0.079935165))):
        copied = tmp_path / f"{name}_mask.png"
        shutil.copy(labels_path, copied)
        (tmp_path / f"{name}_mask.labels.csv").write_text(f"value,name\n255,{name}\n")
        references.append((image_path, copied, pixel))
    client = Client(server[0])
    record = client.wait(client.submit(target, references, "registration", target_spacing=target_spacing, options={"deformable": False}))
    assert [row["name"] for row in record["structures"]] == ["head"]
    read = lambda record: [w for w in record["warnings"] if w not in record["output_warnings"]]  # noqa: E731  (not the downloads' own)
    assert read(record) == ["'skull' is in skull_mask.png but not in the first reference head_mask.png, which decides the "
                                  "structures found; give one that has it first"]
    alone = client.wait(client.submit(target, references[:1], "registration", target_spacing=target_spacing, options={"deformable": False}))
    assert read(alone) == []


def test_a_post_without_a_body_needs_no_content_length_and_a_bad_engine_is_named(server, tmp_path):
    """Before, ``curl -X POST .../cancel`` got 411 ("send a Content-Length header"), and an engine that was not a
    name gave 500."""
    import http.client

    url, _ = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", f"/v1/jobs/{job}/cancel")
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 200 and json.loads(answer.read())["job"] == job
    with open(target, "rb") as upload:
        refused = requests.post(f"{url}/v1/jobs", files={"spec": (None, '{"engine": ["a"]}'), "target": ("t.mha", upload)}, timeout=30)
    assert refused.status_code == 422 and "unknown engine ['a']" in refused.json()["detail"]


def test_a_spec_nested_too_deeply_is_refused_not_a_server_error(server, tmp_path):
    """Before: 500 (a RecursionError in the JSON parser); every other malformed spec is 422."""
    url, app = server
    _, target, _ = write_two_halves(tmp_path)
    with open(target, "rb") as upload:
        refused = requests.post(f"{url}/v1/jobs", files={"spec": (None, '{"options": ' + "[" * 100_000 + "]" * 100_000 + "}"), "target": ("t.mha", upload)}, timeout=30)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("field spec is not JSON (nested too deeply to read")
    assert not list(app.state.server.jobs_dir.rglob("*.*"))  # no upload kept


def test_cancelling_the_remote_engine_cancels_the_server_job(server, shared_data):
    import threading

    from rau.engines.base import Cancelled, Progress
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    url, app = server
    folder = shared_data / HC18
    references = [load_reference(folder / f"images/{n:03d}_HC.png", folder / f"masks/{n:03d}_HC_mask.png", 0.08) for n in range(8)]
    request = Request(references, read_image(folder / "images/058_HC.png", 0.077))
    stop = threading.Event()
    progress = Progress(lambda step, fraction: stop.set() if step.startswith("registering") else None, stop.is_set)
    with pytest.raises(Cancelled, match="the server stopped the job"):
        RemoteEngine(Client(url), "registration").run(request, progress)
    (job,) = app.state.server.jobs.values()
    job.finished.wait(10)
    assert job.state == "cancelled" and job.result is None


def test_cancelling_as_the_remote_job_ends_closes_its_server_session(server, shared_data):
    """Before, Cancel pressed during the download returned a result whose server session nothing would close."""
    import threading

    from rau.engines.base import Cancelled, Progress
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine
    from rau.serve.sessions import SessionGone

    url, app = server
    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    request = Request([load_reference(image, labels, spacing)], read_image(target, target_spacing))
    client, stop, records = Client(url), threading.Event(), []
    wait, download = client.wait, client.download
    client.wait = lambda *args: records.append(wait(*args)) or records[-1]
    client.download = lambda *args, **kwargs: (stop.set(), download(*args, **kwargs))[1]  # Cancel pressed as the job ended
    with pytest.raises(Cancelled):
        RemoteEngine(client, "registration", {"deformable": False}).run(request, Progress(None, stop.is_set))
    with pytest.raises(SessionGone, match="the client closed it"):
        app.state.server.sessions.get(records[0]["session"])


def test_an_incompatible_client_version_gets_a_clear_error(server, monkeypatch):
    url, _ = server
    old = requests.get(f"{url}/v1/info", headers={API_HEADER: "0"}, timeout=10)
    assert old.status_code == 426
    assert "upgrade the client" in old.json()["detail"]
    dotted = requests.get(f"{url}/v1/info", headers={API_HEADER: "1.0"}, timeout=10)  # before: "version 0 ... upgrade the client"
    assert dotted.status_code == 400 and "must be a whole number (this server speaks API 3), got '1.0'" in dotted.json()["detail"]
    huge = requests.get(f"{url}/v1/info", headers={API_HEADER: "9" * 5000}, timeout=10)  # before: a bare 500 (Python's
    assert huge.status_code == 400 and "must be a whole number (this server speaks API 3), got '9999" in huge.json()["detail"]  # digit limit)
    assert "(5000 characters)" in huge.json()["detail"] and len(huge.json()["detail"]) < 200
    monkeypatch.setattr(client_module, "API_VERSION", client_module.API_VERSION + 1)
    with pytest.raises(IncompatibleServer, match="upgrade rau on the server"):
        Client(url).job("0" * 32)


def test_info_reports_versions_engines_device_and_loaded_models(server):
    url, _ = server
    info = Client(url).info()
    assert info["api_version"] == client_module.API_VERSION and info["rau_version"]
    assert info["engines"]["registration"] == {"available": True, "reason": ""}
    assert set(info["engines"]) >= {"sam2-memory", "rau", "vlm-box"}
    assert info["device"] in ("cpu", "cuda", "mps") and info["models_loaded"] == []


def test_sessions_expire_when_idle_and_stay_within_their_bounds():
    from rau.result import Result
    from rau.serve.sessions import SessionGone, SessionStore

    now = [0.0]
    target = Image(np.zeros((1, 100, 100), np.float32), ndim=2)  # 40 kB per session
    store = SessionStore(idle_seconds=60, max_sessions=2, max_bytes=100_000, clock=lambda: now[0])
    result = lambda: Result(target, [], "test", session=object())  # noqa: E731
    second = result()
    assert store.add("a" * 32, result()) and store.add("b" * 32, second)
    now[0] = 30
    store.get("a" * 32)  # used: "b" is now the least recently used
    assert store.add("c" * 32, result())
    with pytest.raises(SessionGone, match="least recently used"):
        store.get("b" * 32)
    assert second.session is None  # the engine's state is freed; the job keeps the result for downloads
    assert len(store) == 2 and store.total_bytes() <= 100_000
    now[0] = 60
    store.get("c" * 32)
    now[0] = 95
    with pytest.raises(SessionGone, match="idle for more than 60 s"):
        store.get("a" * 32)
    store.get("c" * 32)
    big = Result(Image(np.zeros((1, 200, 200), np.float32), ndim=2), [], "test", session=object())
    assert not store.add("d" * 32, big)  # 160 kB alone exceeds the bound: not kept
    with pytest.raises(SessionGone, match=r"never opened: its result needs 0.000149 GiB, more than the 9.31e-05 GiB"):
        store.get("d" * 32)


def write_two_halves(folder: Path) -> tuple[tuple, Path, Path]:
    """A 2D picture whose bright block is two structures side by side ("left", "right"); the target is a copy of it
    (a target cannot be its own reference)."""
    rng = np.random.default_rng(0)
    array = rng.normal(0, 3, (1, 64, 64)).astype(np.float32)
    array[0, 16:48, 8:56] += 100
    image = Image(array, spacing=(1.0, 1.0, 1.0), ndim=2)
    labels = np.zeros(array.shape, np.uint8)
    labels[0, 16:48, 8:32], labels[0, 16:48, 32:56] = 1, 2
    write_image(image, folder / "ref.mha")
    write_image(image.with_array(labels), folder / "ref_labels.mha")
    write_image(image, folder / "halves.mha")
    write_label_table(LabelSet((Structure("left", 1), Structure("right", 2))), folder / "halves.labels.csv")
    return (folder / "ref.mha", folder / "ref_labels.mha", None), folder / "halves.mha", folder / "halves.labels.csv"


def finished_job(client: Client, folder: Path) -> str:
    """A finished job on :func:`write_two_halves`'s files, written in ``folder``: its correction session is open."""
    reference, target, table = write_two_halves(folder)
    job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
    client.wait(job)
    return job


def corrected_job(client: Client, halves, overwrite: bool = False) -> str:
    """A finished job on :func:`write_two_halves`'s files whose "right" was re-prompted with a click inside "left"."""
    reference, target, table = halves
    job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
    client.wait(job)
    client.reprompt(job, "right", {"points": [[20, 30, 0]], "labels": [1]}, overwrite)
    return job


def test_a_bug_in_a_request_answers_500_with_its_reason_and_the_connection_stays_usable(server, tmp_path, monkeypatch):
    """Before: a correction that raised anything but bad input answered a bare "Internal Server Error" and dropped the
    connection, so the client's next request failed with "did not answer" (Connection reset)."""
    import rau.serve.session_routes

    client = Client(server[0])
    reference, target, table = write_two_halves(tmp_path)
    job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
    client.wait(job)
    monkeypatch.setattr(rau.serve.session_routes, "correct", lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(ServerError, match=r"internal error \(RuntimeError: boom\)") as failed:
        client.reprompt(job, "right", {"points": [[20, 30, 0]], "labels": [1]})
    assert failed.value.status == 500
    assert client.info()["api_version"]  # the same client, at once


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_server_correction_gives_way_to_the_other_structures_or_overwrites_them_as_rau_correct_does(server, tmp_path, overwrite):
    """Before, the server had no overwrite: a client asking for it (the Slicer module's "Overwrite other segments")
    got a correction that gave way."""
    reference, target, table = write_two_halves(tmp_path)
    job = corrected_job(Client(server[0]), (reference, target, table), overwrite)
    (tmp_path / "server").mkdir()
    for kind, name in (("label_map", "c.nii.gz"), ("label_table", "c.labels.csv"), ("result", "c.result.json")):
        Client(server[0]).download(job, kind, tmp_path / "server" / name)
    cli = tmp_path / "cli"
    assert rau_main(["segment", "--reference", str(reference[0]), "--reference-labels", str(reference[1]), "--label-table", str(table),
                     "--target", str(target), "--no-deformable", "--out", str(cli / "s.nii.gz")]) == 0
    assert rau_main(["correct", str(cli / "s.result.json"), "--structure", "right", "--inside", "20,30", "--out", str(cli / "c.nii.gz"),
                     *(["--overwrite-others"] if overwrite else [])]) == 0
    assert outputs(tmp_path / "server", "c") == outputs(cli, "c")
    kept = np.array_equal(read_image(cli / "c.nii.gz").array == 1, read_image(cli / "s.nii.gz").array == 1)
    assert kept is not overwrite  # "left" kept every voxel, or lost some to "right"


def test_a_remote_session_s_overwrite_reaches_the_server_session(server, tmp_path):
    """The Slicer module's "Overwrite other segments" with a server: before, the server's session gave way."""
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (image, labels, _), target, table = write_two_halves(tmp_path)
    request = Request([load_reference(image, labels, label_table=table)], read_image(target))
    here = create_engine("registration", {"deformable": False}).run(request)
    there = RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(request)
    prompt = Prompt(points=[(20.0, 30.0, 0.0)], labels=[1])  # inside "left"
    answers = [result.session.reprompt("right", prompt, overwrite=True) for result in (here, there)]
    assert answers[0].mask[0, 30, 20] and np.array_equal(answers[0].mask, answers[1].mask)
    here.put_correction(answers[0], here.session, overwrite=True)
    Client(server[0]).download(there.details["job"], "label_map", tmp_path / "server.nii.gz")  # as the server wrote it
    assert np.array_equal(read_image(tmp_path / "server.nii.gz").array, here.to_segmentation().to_label_map().array)


def test_downloads_carry_the_corrections_after_the_session_closed(tmp_path):
    halves = write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_sessions=1)) as (url, app):
        client = Client(url)
        first = corrected_job(client, halves)
        client.download(first, "label_map", tmp_path / "open.nii.gz")
        second = corrected_job(client, halves)  # evicts the first session
        client.close_session(second)
        for job, reason in ((first, "least recently used"), (second, "the client closed it")):
            with pytest.raises(ServerError, match=reason):
                client.undo(job, "right")
            client.download(job, "label_map", tmp_path / "closed.nii.gz", overwrite=True)
            assert np.array_equal(read_image(tmp_path / "closed.nii.gz").array, read_image(tmp_path / "open.nii.gz").array)
            # a job whose session closed holds no images (before, every job kept its target and masks until 1000 jobs)
            record = client.job(job)
            assert app.state.server.jobs[job].result is None and record["session"] is None
            assert [row["name"] for row in record["structures"]] == ["left", "right"] and record["seconds"] is not None
        # an existing file (it may be the very target submitted) is replaced only when asked; before, always, in place
        target = tmp_path / "target.nii.gz"
        target.write_bytes(b"the user's target")
        with pytest.raises(FileExistsError, match=r"target.nii.gz exists; replace it .* overwrite=True"):
            client.download(first, "label_map", target)
        assert target.read_bytes() == b"the user's target" and not list(tmp_path.glob(".target*"))
        assert read_image(client.download(first, "label_map", tmp_path / "new" / "folder.nii.gz")).shape == read_image(tmp_path / "open.nii.gz").shape


def test_a_download_gets_the_permissions_the_umask_gives_as_rau_segment_s_outputs(server, tmp_path):
    """Before: a downloaded file was private (0600) whatever the umask."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
    client.wait(job)
    previous = os.umask(0o027)
    try:
        modes = [client.download(job, kind, tmp_path / name).stat().st_mode & 0o777 for kind, name in (("label_map", "d.nii.gz"), ("result", "d.json"))]
    finally:
        os.umask(previous)
    assert modes == [0o640, 0o640]


def test_rau_serve_engine_runs_jobs_that_name_none(tmp_path):
    from rau.cli import build_parser
    from rau.commands.serve import server_config

    config = server_config(build_parser().parse_args(["serve", "--engine", "vessels", "--work-dir", str(tmp_path / "work")]))
    assert config.engine == "vessels"
    reference, target, table = write_two_halves(tmp_path)
    with running_server(config) as (url, _):
        client = Client(url)
        job = client.submit(target, [reference], label_table=table)
        assert client.job(job)["engine"] == "vessels"
        client.cancel(job)
        assert client.job(client.submit(target, [reference], "registration", label_table=table))["engine"] == "registration"


def test_an_undo_on_the_server_says_which_structures_it_changed(server, shared_data):
    """Before: after an undo that gave a neighbour its pixels back, the remote session's ``changed`` named the undone
    structure only, so whoever writes ``changed`` (as with a local session) left the neighbour as it was."""
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    folder = shared_data / "arcade_syntax_dev"
    reference = load_reference(folder / "arcade_train_928_img.png", folder / "arcade_train_928_lab.png", 1.0, folder / "labels.csv")
    target = read_image(folder / "arcade_train_204_img.png", pixel_spacing=1.0)
    result = RemoteEngine(Client(server[0]), "vessels", {"top_k": 1}).run(Request([reference], target))
    session = result.session
    before = result.get("S8_LAD_apical").mask.copy()
    session.reprompt("S7_LAD_mid", Prompt(points=[(290, 161, 0), (272, 394, 0)], labels=[1, 1]), overwrite=True)
    assert session.changed == ("S7_LAD_mid", "S8_LAD_apical")
    session.undo("S7_LAD_mid")
    assert session.changed == ("S7_LAD_mid", "S8_LAD_apical")
    assert np.array_equal(session.results["S8_LAD_apical"].mask, before)


def test_a_correction_cancelled_as_the_server_answered_is_taken_back_there_too(server, shared_data):
    """Before: Cancel pressed while the request was under way restored the structure here only; the server's session
    kept the cancelled click, and the next correction started from it (two clicks for one)."""
    from rau.engines.base import Cancelled, Progress
    from rau.errors import InputError
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    request = Request([load_reference(image, labels, spacing)], read_image(target, target_spacing))
    session = RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(request).session
    name, (k, j, i) = next(iter(session.results)), np.argwhere(next(iter(session.results.values())).mask)[0]
    first = session.results[name].mask.copy()
    answered, sent = [], session.client.reprompt
    session.client.reprompt = lambda *args, **kwargs: answered.append(True) or sent(*args, **kwargs)
    with pytest.raises(Cancelled):  # Cancel is seen once the answer has come
        session.reprompt(name, Prompt(points=[(float(i), float(j), float(k))], labels=[0]), Progress(None, lambda: bool(answered)))
    on_server = server[1].state.server.sessions.get(session.id).result.get(name)
    assert np.array_equal(on_server.mask, first) and np.array_equal(session.results[name].mask, first)
    assert not session.can_undo(name) and "clicks" not in on_server.prompts
    session.client.reprompt = sent
    assert session.reprompt(name, Prompt(points=[(float(i), float(j), float(k))], labels=[0])).prompts["clicks"] == 1
    answered.clear()
    session.client.reprompt = lambda *args, **kwargs: answered.append(True) or sent(*args, **kwargs)
    session.client.undo = lambda *args: (_ for _ in ()).throw(ServerError("rau server: the device is busy", 503))
    with pytest.raises(Cancelled):  # and the server cannot take it back: the session is closed here
        session.reprompt(name, Prompt(points=[(float(i), float(j), float(k))], labels=[1]), Progress(None, lambda: bool(answered)))
    with pytest.raises(InputError, match="the server kept a correction of .* that was not kept here .*; press Run again"):
        session.reprompt(name, Prompt(points=[(float(i), float(j), float(k))], labels=[1]))


def test_the_remote_engine_says_it_is_downloading_the_result_where_the_server_says_done(server, shared_data):
    """Before, the server's ``done`` reached Slicer's progress bar while the result was still to be downloaded."""
    from rau.engines.base import Progress
    from rau.references import load_reference
    from rau.serve.remote import DOWNLOADING, RemoteEngine

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    steps = []
    RemoteEngine(Client(server[0]), "registration", {"deformable": False}).run(
        Request([load_reference(image, labels, spacing)], read_image(target, target_spacing)), Progress(lambda step, fraction: steps.append(step)))
    assert "done" not in steps and steps[-1] == DOWNLOADING and steps[0] == "uploading"
