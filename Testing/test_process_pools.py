"""Worker processes of ``rau batch`` and ``rau evaluate --jobs`` end with their run, even when it is killed while they
are still starting, a Ctrl-C while they start prints none of their tracebacks, and a script that calls rau without the
``__main__`` guard is told so by each worker."""

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


@COMMANDS
def test_a_script_calling_rau_without_the_main_guard_is_told_so_by_each_worker(command, tmp_path):
    """Spawned workers import the calling script again. Before, each worker of a script that called ``rau.cli.main``
    without ``if __name__ == "__main__":`` ran the command again and said "internal error (RuntimeError: An attempt has
    been made to start a new process ...); please report it" (exit 70, a report file each), or for batch "another rau
    batch is writing to this folder". Now each says what the script must do (exit 2), and the run itself is done."""
    script = tmp_path / "unguarded.py"
    script.write_text(f"from rau.cli import main\nprint('exit', main({[*command, str(tmp_path / 'out'), '--limit', '2']!r}))\n")
    (tmp_path / "tmp").mkdir()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})  # where a report file would go
    said = 'error: this command was started again in a worker process importing the calling script: a script that calls ' \
           'rau.cli.main must do so under `if __name__ == "__main__":`'
    assert run.returncode == 0 and run.stdout.count("exit 2") == 2 and run.stdout.strip().endswith("exit 0"), run.stdout + run.stderr
    assert run.stderr.count(said) == 2 and "please report" not in run.stderr and "another rau batch" not in run.stderr, run.stderr
    assert not list((tmp_path / "tmp").glob("rau-*-error-*"))
