"""The server's jobs over time: cancel, shutdown, long polls, forgetting old jobs, corrections waiting for a device
(real HTTP on loopback)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import requests

from rau.options import EngineOptions
from rau.serve.app import ServerConfig
from rau.serve.client import Client, JobCancelled, ServerError
from serve_helpers import running_server
from test_serve import HC18, hc18_pair, server, write_two_halves  # noqa: F401  (server: fixture)


def test_cancel_stops_a_running_job_and_a_queued_one(server, shared_data):
    url, app = server
    folder = shared_data / HC18
    references = [(folder / f"images/{n:03d}_HC.png", folder / f"masks/{n:03d}_HC_mask.png", 0.08) for n in range(8)]
    client = Client(url)
    running = client.submit(folder / "images/058_HC.png", references, target_spacing=0.077)
    queued = client.submit(folder / "images/039_HC.png", references[:1], target_spacing=0.065)
    while client.job(running)["state"] != "running":
        time.sleep(0.02)
    assert client.cancel(queued)["state"] == "cancelled"
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        client.wait(running, should_cancel=lambda: True)
    assert time.monotonic() - started < 10
    record = client.job(running)
    assert record["state"] == "cancelled" and record["structures"] is None
    with pytest.raises(ServerError, match="cancelled") as no_output:
        client.download(running, "label_map", "unused.nii.gz")
    assert no_output.value.status == 409
    with pytest.raises(JobCancelled):
        client.wait(queued)
    assert not any(app.state.server.jobs_dir.iterdir())  # before: an empty folder for each cancelled job


def test_the_session_of_a_cancelled_job_is_said_to_be_gone_with_its_job(server, tmp_path):
    """Before: a correction or a close of a cancelled job's session answered 410 "no session ID", as for an id that
    the server never issued."""
    url, app = server
    client = Client(url)
    reference, target, table = write_two_halves(tmp_path)
    with app.state.server.queues.device_lock(EngineOptions().device):  # the job ahead waits for its device
        ahead, queued = (client.submit(target, [reference], options={"deformable": False}, label_table=table) for _ in range(2))
        client.cancel(queued)
    reprompt = requests.post(f"{url}/v1/sessions/{queued}/reprompt", json={"structure": "right", "prompt": {"points": [[20, 30, 0]], "labels": [1]}}, timeout=30)
    closed = requests.delete(f"{url}/v1/sessions/{queued}", timeout=30)
    assert [(answer.status_code, answer.json()["detail"]) for answer in (reprompt, closed)] == [(410, f"job {queued} was cancelled; it has no correction session")] * 2
    client.wait(ahead)


def test_a_failed_job_leaves_no_folder(server, tmp_path):
    """Before: a job that failed (here: no SAM2 weights on the server) left its empty folder in the work folder."""
    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    client = Client(url)
    with pytest.raises(ServerError) as failed:
        client.wait(client.submit(target, [reference], "sam2-memory", label_table=table))
    assert failed.value.status == 503  # the server cannot use a model now; before: 422, as if the client's input were bad
    assert not any(app.state.server.jobs_dir.iterdir())


def slow_and_queued_jobs(client: Client, shared_data, queued: int, pool: int = 8) -> tuple[str, list[str]]:
    """A job of ``pool`` references, running, and ``queued`` jobs waiting behind it. A test that waits for the
    running job to end gives it 3 (seconds of registering still, far more than the test's steps while it runs)."""
    folder = shared_data / HC18
    references = [(folder / f"images/{n:03d}_HC.png", folder / f"masks/{n:03d}_HC_mask.png", 0.08) for n in range(pool)]
    running = client.submit(folder / "images/058_HC.png", references, target_spacing=0.077)
    waiting = [client.submit(folder / "images/039_HC.png", references[:1], target_spacing=0.065) for _ in range(queued)]
    while client.job(running)["state"] != "running":
        time.sleep(0.02)
    return running, waiting


def test_a_queued_job_s_step_says_it_waits(tmp_path, shared_data):
    """Before: a queued job's step was "", so Slicer's progress bar showed no words while the job waited."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        client = Client(url)
        running, (waiting,) = slow_and_queued_jobs(client, shared_data, 1)
        record = client.job(waiting)
        assert (record["state"], record["step"]) == ("queued", "waiting for the server (queued)") and client.job(running)["step"]
        client.cancel(running)


def test_shutting_down_cancels_the_queued_jobs(tmp_path, shared_data):
    """Before, the stop sign went to the back of the queue: every queued job ran (and wrote) before the server stopped."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        running, waiting = slow_and_queued_jobs(Client(url), shared_data, 2, pool=3)
    jobs = app.state.server.jobs
    assert jobs[running].state == "done"
    for job in waiting:
        assert jobs[job].state == "cancelled" and jobs[job].error == "the server shut down"
        assert not list(jobs[job].folder.glob("segmentation*"))


def test_a_stopped_server_process_cancels_its_queued_jobs_at_once_while_a_long_poll_is_open(tmp_path, shared_data):
    """Before: SIGTERM waited for every open connection (a long poll) before cancelling, and meanwhile the queued
    jobs started and wrote their outputs."""
    import threading

    from serve_helpers import serve_process

    with serve_process(tmp_path / "work") as url:
        client = Client(url)
        running, waiting = slow_and_queued_jobs(client, shared_data, 2, pool=3)
        poll = threading.Thread(target=lambda: requests.get(f"{url}/v1/jobs/{running}", params={"wait": 60}, timeout=120), daemon=True)
        poll.start()
        time.sleep(0.5)
    assert list((tmp_path / "work/jobs").glob(f"*/{running}/segmentation*"))  # the running job finished
    for job in waiting:
        assert not list((tmp_path / "work/jobs").glob(f"*/{job}/segmentation*")), job


def test_long_polls_do_not_hold_up_other_requests(server, tmp_path):
    """Before, each waiting poll held one of the server's threads: with 60 of them /v1/info answered after 11 s."""
    from concurrent.futures import ThreadPoolExecutor

    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    device_lock = app.state.server.queues.device_lock(EngineOptions().device)
    with ThreadPoolExecutor(60) as polls:  # it waits for the polls, which end as the cancelled job does, once it has the device
        with device_lock:  # the job stays queued while the polls wait
            job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
            waits = [polls.submit(requests.get, f"{url}/v1/jobs/{job}", params={"wait": 10}, timeout=60) for _ in range(60)]
            time.sleep(1)
            started = time.monotonic()
            assert requests.get(f"{url}/v1/info", timeout=60).ok
            answered = time.monotonic() - started
            assert answered < 5 and not any(wait.done() for wait in waits)
            Client(url).cancel(job)
    assert all(wait.result().json()["state"] == "cancelled" for wait in waits)


def test_old_jobs_are_forgotten_but_not_one_whose_session_is_open(tmp_path):
    """Before: beyond max_jobs the oldest finished job went, its folder deleted, while a user still corrected it."""
    reference, target, table = write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_jobs=2, max_sessions=1)) as (url, app):
        client = Client(url)

        def job():
            return client.wait(client.submit(target, [reference], "registration", label_table=table, options={"deformable": False}))

        corrected = job()
        session = corrected["session"]
        client.reprompt(session, "left", {"points": [[20, 30]], "labels": [1]})
        job()  # takes the one session place: the first's session closes
        kept = [record["job"] for record in (job(), job())]
        assert set(app.state.server.jobs) == set(kept)
    with running_server(ServerConfig(work_dir=tmp_path / "work2", max_jobs=2)) as (url, app):
        client = Client(url)
        session = job()["session"]
        job(), job()
        assert session in app.state.server.jobs  # open: kept beyond max_jobs
        client.reprompt(session, "left", {"points": [[20, 30]], "labels": [1]})
        assert client.download(session, "label_map", tmp_path / "corrected.nii.gz").exists()


def test_a_correction_that_cannot_have_the_device_in_time_is_refused_and_changes_nothing(tmp_path):
    """Before: it waited for the device without limit, the client gave up after its timeout, and the server applied
    the click later, so the two sides disagreed about the masks."""
    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=0.5)) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
        before = client.wait(job)
        with app.state.server.queues.device_lock(EngineOptions().device):  # another job holds the device
            with pytest.raises(ServerError, match="the device is busy with a job .*nothing was changed") as busy:
                client.reprompt(job, "right", {"points": [[20, 30, 0]], "labels": [1]})
        assert busy.value.status == 503
        assert client.job(job)["structures"] == before["structures"] and app.state.server.jobs[job].version == 0
        assert client.reprompt(job, "right", {"points": [[20, 30, 0]], "labels": [1]})["version"] == 1


def test_a_correction_that_gives_way_goes_on_from_what_was_written_as_rau_correct_does():
    """Before: the session kept the mask from before the give-way step, so the next click started from voxels the
    result (and a chain of ``rau correct`` runs) did not hold."""
    import numpy as np

    from rau.correction import attach_session
    from rau.engines.base import Prompt
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import Result, StructureResult
    from rau.serve.sessions import Entry, correct

    array = np.zeros((1, 40, 40), np.float32)
    array[0, 10:30, 5:35] = 100.0  # one bright region, split between two structures
    left, right = np.zeros(array.shape, bool), np.zeros(array.shape, bool)
    left[0, 10:30, 5:20], right[0, 10:30, 20:35] = True, True
    target = Image(array, ndim=2)
    result = attach_session(Result(target, [StructureResult(Structure("left", 1), left, 0.9, "registration"),
                                            StructureResult(Structure("right", 2), right, 0.9, "registration")], "registration"))
    answer = correct(Entry(result, 0, time.monotonic()), "reprompt", "left", (Prompt(points=[(22, 20, 0)], labels=[1]), False))[0]
    written = result.get("left").mask
    assert (answer.mask & right).any() and not (written & right).any()  # the answer reached into "right"; the result gave way
    assert np.array_equal(result.session.results["left"].mask, written)


def test_a_spec_with_an_empty_structures_list_is_refused():
    """Before: ``[]`` ran every structure, as if the field were left out (``rau segment --structures`` needs a name)."""
    from rau.errors import InputError
    from rau.serve.uploads import parse_spec

    with pytest.raises(InputError, match="spec.structures is empty: give at least one name, or leave it out"):
        parse_spec('{"structures": []}', "registration")
    assert parse_spec("{}", "registration").structures is None
    assert parse_spec('{"structures": ["liver"]}', "registration").structures == ["liver"]


def test_a_bad_upload_is_named_once_and_told_the_files_its_field_takes(server, tmp_path, shared_data):  # noqa: F811
    """Before: "cannot identify image file 'upload 'scan.png''" (quotes in quotes), and a target of an unknown type
    was offered label-table suffixes (.csv, .json ...) as file types it could take."""
    url, _ = server
    reference, _, spacing = hc18_pair(shared_data)
    (tmp_path / "scan.png").write_bytes(b"not a picture")
    with pytest.raises(ServerError) as corrupt:
        Client(url).submit(tmp_path / "scan.png", [reference], target_spacing=spacing)
    assert corrupt.value.status == 422 and "''" not in str(corrupt.value) and "upload upload" not in str(corrupt.value)
    assert str(corrupt.value).count("upload 'scan.png'") == 1  # named by the message, not again by the reader's reason
    (tmp_path / "scan.dcm").write_bytes(b"DICM")
    with pytest.raises(ServerError, match=r"upload target \('scan.dcm'\): unknown file type; use one of .nii.gz, .nii, .nrrd") as unknown:
        Client(url).submit(tmp_path / "scan.dcm", [reference], target_spacing=spacing)
    assert ".csv" not in str(unknown.value) and ".seg.nrrd" not in str(unknown.value)
    assert "the server takes no DICOM file: save the image as NIfTI or NRRD" in str(unknown.value)  # before: no word of what to send


def test_a_job_stops_reporting_its_session_once_it_closed_for_idleness(tmp_path):
    """Before: the record kept the session id of an expired session until some other request touched the sessions."""
    reference, target, table = write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work", session_idle_seconds=3.0)) as (url, _):
        client = Client(url)
        job = client.submit(target, [reference], options={"deformable": False}, label_table=table)
        assert client.wait(job)["session"] == job
        time.sleep(3.5)
        record = client.job(job)
        assert record["state"] == "done" and record["session"] is None and [row["name"] for row in record["structures"]] == ["left", "right"]
        with pytest.raises(ServerError, match="idle for more than 3 s") as gone:
            client.reprompt(job, "left", {"points": [[20, 30]], "labels": [1]})
        assert gone.value.status == 410


def test_a_stopping_server_cancels_a_job_that_outruns_its_wait_and_refuses_new_jobs(tmp_path, shared_data, monkeypatch):
    """Before: a stopping server waited 60 s for a running job, then exited under it (the process aborted inside
    ITK, the job lost); a job submitted while it stopped was accepted (202) and never ran."""
    import rau.serve.jobs

    monkeypatch.setattr(rau.serve.jobs, "FINISH_SECONDS", 0.2, raising=False)
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        client = Client(url)
        running, _ = slow_and_queued_jobs(client, shared_data, 0)
        app.state.server.queues.stop_taking()
        folder = shared_data / HC18
        with pytest.raises(ServerError, match="shutting down") as refused:
            client.submit(folder / "images/039_HC.png", [(folder / "images/000_HC.png", folder / "masks/000_HC_mask.png", 0.08)], target_spacing=0.065)
        assert refused.value.status == 503
        assert not any(app.state.server.jobs_dir.iterdir())  # the refused job left nothing; the running one has no outputs yet
    job = app.state.server.jobs[running]
    assert job.finished.wait(60)  # it stops at its next step (the test's waits are short)
    assert job.state == "cancelled"
    assert not list(job.folder.glob("segmentation*"))


def test_a_correction_before_the_job_is_done_says_so(server, shared_data):  # noqa: F811
    """Before: 410 "no session", as if it had been closed."""
    url, _ = server
    client = Client(url)
    running, _ = slow_and_queued_jobs(client, shared_data, 0)
    with pytest.raises(ServerError, match=f"job {running} is running; its correction session opens when it is done") as early:
        client.reprompt(running, "label_255", {"points": [[20, 30]], "labels": [1]})
    assert early.value.status == 409
    client.cancel(running)


def test_a_result_too_large_for_a_session_says_why_it_has_none(tmp_path):
    """Before: 410 "no session", with no reason."""
    reference, target, table = write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_session_bytes=1)) as (url, _):
        client = Client(url)
        job = client.submit(target, [reference], options={"deformable": False}, label_table=table)
        assert client.wait(job)["session"] is None
        with pytest.raises(ServerError, match=r"more than the .* GiB the server keeps for sessions \(rau serve --max-session-gb\)") as gone:
            client.reprompt(job, "left", {"points": [[20, 30]], "labels": [1]})
        assert gone.value.status == 410
        assert f"session {job} never opened: its result needs" in str(gone.value) and "closed" not in str(gone.value)  # was "was closed: it never opened"
        with pytest.raises(ServerError, match=f"session {job} never opened") as closing:
            client.close_session(job)
        assert closing.value.status == 410


def test_a_reference_is_recorded_by_its_file_name_without_the_clients_folders(tmp_path):
    """Before: result.json recorded "../../secret/Jane Doe/ref.mha" as the client sent it (rau segment records the name)."""
    (image, labels, _), target, table = write_two_halves(tmp_path)
    spec = json.dumps({"options": {"deformable": False}})
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        files = [("target", ("target.mha", target.read_bytes())), ("reference", ("../../secret/Jane Doe/ref.mha", image.read_bytes())),
                 ("reference_labels", ("C:\\Users\\x\\ref_labels.mha", labels.read_bytes())), ("label_table", ("t.csv", table.read_bytes()))]
        job = requests.post(f"{url}/v1/jobs", data={"spec": spec}, files=files, timeout=60).json()["job"]
        client = Client(url)
        client.wait(job)
        result = json.loads(client.download(job, "result", tmp_path / "result.json").read_text())
    assert {tuple(row["prompts"]["references"]) for row in result["structures"]} == {("ref.mha",)}


def test_a_host_in_its_url_form_is_taken_and_an_empty_one_refused(capsys):
    """Before: ``--host [::1]``, as the server prints a URL, was refused as "not a loopback address", and an empty host
    listened on every interface and printed the URL http://:PORT."""
    from rau.cli import main as rau_main
    from rau.validation import host_address

    assert host_address("[::1]", "--host") == "::1" and host_address(" 127.0.0.1 ", "--host") == "127.0.0.1"
    with pytest.raises(SystemExit) as stop:
        rau_main(["serve", "--host", "", "--port", "1"])
    assert stop.value.code == 2
    assert "argument --host: is empty; give an address" in capsys.readouterr().err


def test_a_server_aligns_on_the_whole_labelled_anatomy_of_a_reference_picked_in_part(tmp_path):
    """The Slicer module hands an engine the picked structures' masks and the reference's whole labelled anatomy; before,
    a server got the picked masks only, so it aligned on less than a run on this computer."""
    from rau.engines import Reference, create_engine
    from rau.engines.base import Request
    from rau.io import read_image, read_segmentation
    from rau.labels import Segmentation
    from rau.serve.remote import UNPICKED, RemoteEngine, uploaded_segmentation

    (image_path, labels_path, _), target_path, table = write_two_halves(tmp_path)
    image, target = read_image(image_path), read_image(target_path)
    whole = read_segmentation(labels_path, geometry=image, label_table=table)
    left_only = Segmentation(whole.geometry, whole.labels.select(["left"]), {"left": whole.masks["left"]})
    reference = Reference(image, left_only, "ref.mha", anatomy=whole.masks["left"] | whole.masks["right"])
    uploaded = uploaded_segmentation(reference)
    assert uploaded.labels.names == ["left", UNPICKED] and uploaded.labels.get(UNPICKED).value == 2
    assert np.array_equal(uploaded.masks[UNPICKED], whole.masks["right"])
    here = create_engine("registration", {"deformable": False}).run(Request([reference], target, ["left"]))
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        there = RemoteEngine(Client(url), "registration", {"deformable": False}).run(Request([reference], target, ["left"]))
    assert [item.structure.name for item in there.structures] == ["left"]
    assert np.array_equal(there.structures[0].mask, here.structures[0].mask)


def test_a_queued_job_is_cancelled_at_once(tmp_path):
    """Before: its record said "queued" until the job ahead of it ended, and only then "cancelled"."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        submit = lambda: client.submit(target, [reference], options={"deformable": False}, label_table=table)  # noqa: E731
        with app.state.server.queues.device_lock(EngineOptions().device):  # the job ahead waits for its device
            ahead, queued = submit(), submit()
            assert client.cancel(queued)["state"] == "cancelled"
            with pytest.raises(JobCancelled):
                client.wait(queued)
            assert client.job(ahead)["state"] == "running"
        assert client.wait(ahead)["state"] == "done"
        assert app.state.server.jobs[queued].request is None  # its images are not kept until the worker would have reached it


def test_a_job_says_it_is_writing_its_outputs_until_they_are_written(server, tmp_path, monkeypatch):
    """Before, a CT job said step "done" (the engine's last) for seconds while its outputs were still being written."""
    from rau.serve import jobs

    seen = []
    writing = jobs.Job.write_outputs
    monkeypatch.setattr(jobs.Job, "write_outputs", lambda job: seen.append((job.step, job.record()["state"])) or writing(job))
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    record = client.wait(client.submit(target, [reference], options={"deformable": False}, label_table=table))
    assert seen[0] == ("writing outputs", "running") and (record["state"], record["step"]) == ("done", "done")


STATES = ("queued", "running", "done")


def test_a_pipeline_job_says_done_only_once_finished_and_only_moves_forward(tiny_sam2, tmp_path, monkeypatch):
    """Before: a registration+sam2 job said step "done" between its steps (the registration's last, as the localizer),
    and again while its finished result was being kept (state still "running")."""
    from rau.serve import jobs

    seen = []
    setting = jobs.Job.__setattr__

    def setattr_seen(job, name, value):  # what a poll would get after each change of the job
        setting(job, name, value)
        if name in ("state", "step", "progress") and "written_warnings" in vars(job):
            seen.append(job.record())

    monkeypatch.setattr(jobs.Job, "__setattr__", setattr_seen)
    reference, target, table = write_two_halves(tmp_path)
    options = {"sam2_model": str(tiny_sam2["always"]), "device": "cpu"}
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, _):
        client = Client(url)
        seen.append(client.wait(client.submit(target, [reference], "registration+sam2", label_table=table)))
    steps = [(record["state"], record["step"]) for record in seen]
    assert "done" not in [step for _, step in steps[:-1]] and steps[-1] == ("done", "done"), steps
    assert [STATES.index(record["state"]) for record in seen] == sorted(STATES.index(record["state"]) for record in seen)
    assert [record["progress"] for record in seen] == sorted(record["progress"] for record in seen)
    assert seen[-1]["state"] == "done" and seen[-1]["progress"] == 1.0


def test_simultaneous_corrections_each_answer_their_own_version(server, tmp_path, monkeypatch):
    """Before: an answer read the job's version after letting go of its lock, so two answers could carry one number."""
    from concurrent.futures import ThreadPoolExecutor

    from rau.serve import session_routes

    packing = session_routes.encode_mask
    monkeypatch.setattr(session_routes, "encode_mask", lambda mask: time.sleep(0.02) or packing(mask))  # large masks take a while
    url, _ = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], options={"deformable": False}, label_table=table)
    Client(url).wait(job)

    def corrections(worker: int) -> list[int]:
        client = Client(url)
        return [client.reprompt(job, "right", {"points": [[20 + worker, 40 + k, 0]], "labels": [1]})["version"] if (worker + k) % 2
                else client.edit(job, "left", None)["version"] for k in range(6)]

    with ThreadPoolExecutor(4) as pool:
        versions = [version for answers in pool.map(corrections, range(4)) for version in answers]
    assert sorted(versions) == list(range(1, 25))


def test_corrections_waiting_for_a_busy_device_leave_threads_to_cancel_and_info(tmp_path):
    """Before: some forty corrections waiting for the device held every worker thread, so cancelling the job that
    held the device (and /v1/info, downloads) waited until that job ended."""
    import concurrent.futures

    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=20)) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
        client.wait(job)
        undo = lambda _: requests.post(f"{url}/v1/sessions/{job}/undo", json={"structure": "right"}, timeout=60).status_code
        device_lock = app.state.server.queues.device_lock(EngineOptions().device)
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            with device_lock:  # another job holds the device
                waiting = [pool.submit(undo, n) for n in range(50)]
                time.sleep(1.0)
                started = time.monotonic()
                assert requests.get(f"{url}/v1/info", timeout=60).json()["sessions"] == 1
                assert requests.post(f"{url}/v1/jobs/{job}/cancel", timeout=60).json()["state"] == "done"
                gone = requests.post(f"{url}/v1/sessions/{'0' * 32}/undo", json={"structure": "right"}, timeout=60)
                assert gone.status_code == 410  # refused at once, not after waiting behind the corrections
                assert time.monotonic() - started < 5  # before: both waited the 20 s the corrections wait for the device
                assert not any(future.done() for future in waiting)
            assert sorted(set(future.result() for future in waiting)) == [422]  # then each ran: nothing to undo


def test_a_job_the_server_cancels_as_it_stops_is_a_server_error_not_the_user_s_cancel(tmp_path, shared_data):
    """Before: the remote engine (the module's server path) said "cancelled by the user" and the client only "was
    cancelled" for a job the server's stop cancelled, so Slicer showed "Cancelled; nothing was changed."."""
    import threading

    from rau.engines.base import Cancelled, Request
    from rau.io import read_image
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine

    (reference, labels, _), target, table = write_two_halves(tmp_path)
    request = Request([load_reference(reference, labels, label_table=table)], read_image(target))
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        slow_and_queued_jobs(Client(url), shared_data, 0, pool=3)  # the remote engine's job waits behind it
        raised = []
        run = threading.Thread(target=lambda: raised.append(pytest.raises(ServerError, RemoteEngine(Client(url), "registration").run, request)))
        run.start()
        while sum(job.state == "queued" for job in app.state.server.jobs.values()) == 0:
            time.sleep(0.02)
        app.state.server.queues.stop_taking()  # the server is told to stop
        run.join(timeout=60)
    error = raised[0].value
    assert "was cancelled (the server shut down)" in str(error) and not isinstance(error, Cancelled)


def test_a_server_whose_corrections_do_not_wait_corrects_on_a_free_device(tmp_path):
    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=0)) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
        client.wait(job)
        assert client.reprompt(job, "right", {"points": [[20, 30, 0]], "labels": [1]})["version"] == 1


def test_corrections_waiting_while_their_job_is_forgotten_are_told_its_session_closed(tmp_path):
    """Before: those still waiting for a slot when the closed session's job was dropped (beyond max_jobs) got 404 "no job"."""
    import concurrent.futures

    with running_server(ServerConfig(work_dir=tmp_path / "work", device_wait_seconds=20, max_jobs=1)) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        submit = lambda: client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
        job = submit()
        client.wait(job)
        reprompt = lambda _: requests.post(f"{url}/v1/sessions/{job}/reprompt", json={"structure": "right", "prompt": {"points": [[20, 30, 0]], "labels": [1]}}, timeout=60)
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            with app.state.server.queues.device_lock(EngineOptions().device):
                waiting = [pool.submit(reprompt, n) for n in range(12)]
                time.sleep(1.0)
                client.close_session(job)
                submit()  # the closed session's job is forgotten
                assert job not in app.state.server.jobs
            answers = [future.result() for future in waiting]
        assert {answer.status_code for answer in answers} == {410}
        assert {answer.json()["detail"] for answer in answers} == {f"while the correction waited, session {job} was closed: the client closed it"}


def test_a_job_of_a_server_that_restarted_is_unknown_saying_why(tmp_path):
    """Before: 404 "no job <id>", which read as a wrong id when the server had only restarted."""
    reference, target, table = write_two_halves(tmp_path)
    config = ServerConfig(work_dir=tmp_path / "work")
    with running_server(config) as (url, _):
        client = Client(url)
        job = client.wait(client.submit(target, [reference], "registration", label_table=table, options={"deformable": False}))["job"]
    with running_server(config) as (url, _):
        with pytest.raises(ServerError, match=f"no job {job} on this server: it keeps jobs in memory only, so a job from before "
                                              "it restarted is gone, and so are the oldest finished ones beyond 1000") as gone:
            Client(url).job(job)
    assert gone.value.status == 404


def test_closing_a_remote_session_never_waits_for_a_server_that_does_not_answer():
    """Before: RemoteSession.close() waited for the server's answer, up to the client's timeout (60 s), on the Slicer
    module's GUI thread (scene close, the release of older results' sessions at the end of Run)."""
    import socket

    from rau.image import Image
    from rau.serve.remote import RemoteSession

    with socket.socket() as silent:  # accepts connections (in the kernel) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        client = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=5)
        session = RemoteSession(client, "0" * 32, Image(np.zeros((1, 8, 8), np.float32), (1, 1, 1), ndim=2), {}, [])
        started = time.monotonic()
        session.close()
        assert time.monotonic() - started < 1


@pytest.mark.parametrize("engine, options, said", [
    ("registration", {"top_k": 0}, "option top_k: must be at least 1, got 0"),
    ("registration", {"top_k": "x"}, "option top_k: expected int, got 'x'"),
    ("registration", {"deformable": 1}, "option deformable: expected bool, got 1"),
    ("registration", {"keep_transfers": True}, "unknown option 'keep_transfers'; a client may set: top_k,"),  # was "set by the server operator": rau serve has no such flag
])
def test_a_job_option_the_engine_cannot_take_is_named_by_its_json_field(server, tmp_path, engine, options, said):  # noqa: F811
    """Before: the answer named the command line's flag (``--top-k must be at least 1``), which no client sent."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    with pytest.raises(ServerError) as refused:
        client.wait(client.submit(target, [reference], engine, options=options, label_table=table))
    assert refused.value.status == 422 and said in str(refused.value) and "--" not in str(refused.value)


def test_a_job_option_the_engine_does_not_read_is_warned_of_and_makes_no_warm_engine(server, tmp_path):  # noqa: F811
    """Before: ``slice_axis`` and the others were taken silently by a registration job (``rau segment`` warns of them),
    and each such option set kept a warm engine of its own, pushing out useful ones."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    plain = client.wait(client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table))
    unread = {"deformable": False, "slice_axis": "i", "window": [0, 100], "vlm_per_structure": True, "slice_margin": 4}
    record = client.wait(client.submit(target, [reference], "registration", options=unread, label_table=table))
    said = [f"{name} is ignored: the registration engine does not use it" for name in ("slice_axis", "window", "vlm_per_structure", "slice_margin")]
    assert plain["warnings"] == [] and record["warnings"] == said
    assert record["structures"] == plain["structures"]
    assert len(client.info()["models_loaded"]) == 1


def test_a_tell_that_fails_for_any_reason_closes_the_remote_session():
    """Before: only a ServerError closed it; another error lost the tell popped from the queue and left the session
    open, apart from the server's."""
    from rau.errors import InputError
    from rau.image import Image
    from rau.serve.remote import RemoteSession

    session = RemoteSession(Client("http://127.0.0.1:9", timeout=1), "0" * 32, Image(np.zeros((1, 8, 8), np.float32), (1, 1, 1), ndim=2), {}, [])
    session._untold.append(("liver", lambda: 1 / 0))
    with pytest.raises(ZeroDivisionError):
        session.send_untold()
    with pytest.raises(InputError, match="did not hear how 'liver' was written"):
        session.send_untold()
