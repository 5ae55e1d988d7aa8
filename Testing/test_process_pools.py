"""Worker processes of ``rau batch`` and ``rau evaluate --jobs`` end with their run, even when it is killed while they
are still starting, and a Ctrl-C while they start prints none of their tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from test_batch import MANIFEST, session_alive, worker_processes

COMMANDS = pytest.mark.parametrize("command", [["batch", str(MANIFEST), "--workers", "2", "--no-deformable", "--out"],
                                               ["evaluate", str(MANIFEST), "--jobs", "2", "--no-deformable", "--predictions"]],
                                   ids=["batch", "evaluate"])


def starting_workers(command, tmp_path) -> tuple[subprocess.Popen, list[int]]:
    """``rau`` run in its own session, and its worker processes, which are still importing."""
    run = subprocess.Popen([sys.executable, "-m", "rau.cli", *command, str(tmp_path / "out")], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal, whatever runs the tests
    deadline = time.monotonic() + 60
    while not (workers := worker_processes(run.pid)):
        assert run.poll() is None and time.monotonic() < deadline, "no worker process started"
        time.sleep(0.01)
    return run, workers


@COMMANDS
def test_workers_killed_owner_during_their_start_stop_too(command, tmp_path):
    """Before, a worker asked for its parent's id once it had started; killed while its workers were still importing,
    the run left them asking about process 1 for ever (about 200 MB each)."""
    run, _ = starting_workers(command, tmp_path)
    run.kill()  # the workers are still importing: nothing of theirs has run yet
    run.wait()
    deadline = time.monotonic() + 30
    while session_alive(run.pid):
        assert time.monotonic() < deadline, "worker processes outlived their run"
        time.sleep(0.2)


@COMMANDS
def test_ctrl_c_while_workers_import_prints_no_traceback(command, tmp_path):
    """Ctrl-C reaches every process of the group; the main process stops the workers. Before, the workers ignored it
    only once they had imported rau: one still importing printed a ``KeyboardInterrupt`` traceback."""
    run, workers = starting_workers(command, tmp_path)
    time.sleep(0.3)  # well into their imports
    try:
        for worker in workers:  # the workers' share of a Ctrl-C to the group
            os.kill(worker, signal.SIGINT)
        time.sleep(1)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
    assert "KeyboardInterrupt" not in run.communicate()[1]
