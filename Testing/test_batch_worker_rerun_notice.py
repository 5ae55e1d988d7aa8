"""``rau batch`` tells the user when a worker process stopped while segmenting a target (killed by the system, as the
out-of-memory killer does) and the target is run again; a worker the pool itself stopped once another had is no news.

Tested at the seam that reads a real worker process's exit status: when a killed worker was running a target cannot
be timed without guessing (test_batch.py kills one at a random moment, and checks that the run goes on)."""

import multiprocessing
import signal
import time

from rau.batch.pool import rerun_notice, worker_stopped


def _stopped_by(signum: int) -> int:
    """The exit code of a real spawned process (as the pool's workers are) stopped by ``signum``."""
    process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    process.start()
    process.kill() if signum == signal.SIGKILL else process.terminate()
    process.join(30)
    return process.exitcode


def test_a_worker_killed_by_the_system_is_told_naming_its_target():
    """Before: the target was run again without a word."""
    exitcode = _stopped_by(signal.SIGKILL)
    assert worker_stopped(exitcode)
    assert rerun_notice("002_HC", exitcode) == "a worker stopped (killed by signal 9) while segmenting 002_HC; it is run again"


def test_a_worker_the_pool_stopped_or_still_running_is_not_told():
    assert not worker_stopped(_stopped_by(signal.SIGTERM))
    assert not worker_stopped(None)
