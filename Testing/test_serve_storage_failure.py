"""A server that cannot store a job (its work folder broken, its disk full) answers 503 saying so, without its own
paths, and tells its operator why in its log (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import logging
import shutil

import pytest
from serve_helpers import running_server
from test_serve import write_two_halves

from rau.errors import ServerError
from rau.serve.app import ServerConfig
from rau.serve.client import Client


def test_a_job_the_work_folder_cannot_store_is_answered_503_without_the_server_s_paths(tmp_path, caplog):
    """Before: 500 "... Not a directory: '/the/server's/work/jobs/RUN/JOB/inputs'"."""
    reference, target, table = write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        jobs = app.state.server.jobs_dir
        shutil.rmtree(jobs)
        jobs.write_text("not a folder")
        with caplog.at_level(logging.ERROR, "rau.serve"), pytest.raises(ServerError) as refused:
            Client(url).submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
    assert refused.value.status == 503, refused.value
    assert "the server cannot store the job (Not a directory)" in str(refused.value), refused.value
    assert str(tmp_path) not in str(refused.value)
    assert str(jobs) in caplog.text and "Not a directory" in caplog.text  # the operator is told where
