"""The server's bound on jobs waiting to run (``rau serve --max-queued-jobs``), over real HTTP on loopback."""

from __future__ import annotations

import time

import pytest
import requests

from rau.options import EngineOptions
from rau.serve.app import ServerConfig
from rau.serve.client import Client, ServerError
from serve_helpers import running_server
from test_serve import write_two_halves


def test_a_submission_beyond_the_queued_jobs_limit_is_refused_before_its_upload_until_the_queue_drains(tmp_path):
    """Before: the queue had no bound and each queued job held its decoded images (twelve 3D jobs took ~160 MB each)."""
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_queued_jobs=1)) as (url, app):
        client = Client(url)
        reference, target, table = write_two_halves(tmp_path)
        submit = lambda: client.submit(target, [reference], options={"deformable": False}, label_table=table)  # noqa: E731
        with app.state.server.queues.device_lock(EngineOptions().device):  # the first job waits for its device
            running = submit()
            while client.job(running)["state"] != "running":
                time.sleep(0.01)
            queued = submit()
            with pytest.raises(ServerError, match=r"the server's queue is full \(1 queued, 0 still being uploaded; rau serve "
                                                  r"--max-queued-jobs\); "
                                                  r"nothing was uploaded: submit again") as refused:
                submit()
            assert refused.value.status == 503
            not_a_form = requests.post(f"{url}/v1/jobs", data=b"not read")  # refused before its body is read
            assert not_a_form.status_code == 503 and "queue is full" in not_a_form.json()["detail"]
        assert client.wait(queued)["state"] == "done"
        assert client.wait(submit())["state"] == "done"
