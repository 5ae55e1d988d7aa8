"""Refusals of a job say what is over its bound: a full queue whose places are held by uploads still arriving, and a
form with more files than a job takes (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import http.client
import time

import requests
from serve_helpers import running_server

from rau.serve.app import ServerConfig
from rau.serve.uploads import MAX_FILES


def test_a_queue_held_by_uploads_still_arriving_says_so(tmp_path):
    """Before: "(1 waiting to run; ...): submit again once a job has started", no job existing."""
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_queued_jobs=1)) as (url, app):
        host, port = url.removeprefix("http://").split(":")
        slow = http.client.HTTPConnection(host, int(port), timeout=30)
        slow.putrequest("POST", "/v1/jobs")
        slow.putheader("Content-Length", "100000")
        slow.putheader("Content-Type", "multipart/form-data; boundary=x")
        slow.endheaders()
        slow.send(b'--x\r\nContent-Disposition: form-data; name="target"; filename="t.mha"\r\n\r\n')  # the rest is still coming
        deadline = time.monotonic() + 20
        while app.state.server._reading == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = requests.post(f"{url}/v1/jobs", data=b"not read", timeout=60)
        slow.close()
    assert refused.status_code == 503 and app.state.server.jobs == {}
    assert refused.json()["detail"] == ("the server's queue is full (0 queued, 1 still being uploaded; rau serve "
                                        "--max-queued-jobs); nothing was uploaded: submit again once one of them has started")


def test_a_form_with_more_files_than_a_job_takes_is_told_so_not_that_it_has_too_many_references(tmp_path):
    """Before: 5000 target files were refused as "at most 32 references per job"."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        files = [("target", (f"t{number}.mha", b"x")) for number in range(MAX_FILES + 1)]
        refused = requests.post(f"{url}/v1/jobs", files=files, data={"spec": "{}"}, timeout=60)
    assert refused.status_code == 422
    assert refused.json()["detail"] == (f"a job takes at most {MAX_FILES} files (one target, one label_table, and for each "
                                        "of at most 32 references its image, its reference_labels and their reference_table "
                                        f"files): this form sends more than {MAX_FILES}"), refused.json()
