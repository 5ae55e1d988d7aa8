"""Worker processes of ``rau batch`` and ``rau evaluate --jobs`` end with their run, even when it is killed while they
are still starting."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from test_batch import MANIFEST, session_alive, worker_processes


@pytest.mark.parametrize("command", [["batch", str(MANIFEST), "--workers", "2", "--no-deformable", "--out"],
                                     ["evaluate", str(MANIFEST), "--jobs", "2", "--no-deformable", "--predictions"]],
                         ids=["batch", "evaluate"])
def test_workers_killed_owner_during_their_start_stop_too(command, tmp_path):
    """Before, a worker asked for its parent's id once it had started; killed while its workers were still importing,
    the run left them asking about process 1 for ever (about 200 MB each)."""
    run = subprocess.Popen([sys.executable, "-m", "rau.cli", *command, str(tmp_path / "out")], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not worker_processes(run.pid):
        assert run.poll() is None and time.monotonic() < deadline, "no worker process started"
        time.sleep(0.01)
    run.kill()  # the workers are still importing: nothing of theirs has run yet
    run.wait()
    deadline = time.monotonic() + 30
    while session_alive(run.pid):
        assert time.monotonic() < deadline, "worker processes outlived their run"
        time.sleep(0.2)
