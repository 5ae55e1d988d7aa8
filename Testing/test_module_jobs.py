"""The panel's background jobs (``RAUSlicerLib.jobs``) over a stand-in of Qt's timer, polled by hand."""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from pathlib import Path

JOBS_FILE = Path(__file__).resolve().parents[1] / "RAUSlicer" / "RAUSlicerLib" / "jobs.py"


class Timer:
    """``qt.QTimer`` as the job uses it; the test calls :attr:`slot` where Qt would call it every 100 ms."""

    def __init__(self):
        self.active, self.slot = False, None

    def setInterval(self, _milliseconds):
        pass

    def connect(self, _signal, slot):
        self.slot = slot

    def start(self):
        self.active = True

    def stop(self):
        self.active = False

    def isActive(self):
        return self.active


def load_jobs(monkeypatch):
    """``RAUSlicerLib.jobs`` over the stand-in (not put in sys.modules)."""
    monkeypatch.setitem(sys.modules, "qt", types.SimpleNamespace(QTimer=Timer))
    spec = importlib.util.spec_from_file_location("jobs_under_test", JOBS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_abandoned_job_says_when_its_work_has_stopped_and_reports_nothing_else(monkeypatch):
    """Before: reloading the module abandoned the running job and closed the engine sessions at once, so a server
    request in flight had its session closed under it; ``abandon(then=...)`` now waits for the work, as scene close
    does."""
    jobs = load_jobs(monkeypatch)
    release, reported, stopped = threading.Event(), [], []

    def work(progress):
        progress("working", 0.5)
        release.wait(10)

    job = jobs.BackgroundJob(work, lambda *args: reported.append(args), lambda *args: reported.append(args))
    job.start()
    job.abandon(then=lambda: stopped.append(True))
    job._timer.slot()
    assert job.cancelled and job.running and not stopped  # the work still runs
    release.set()
    job._thread.join(10)
    job._timer.slot()
    assert stopped == [True] and not reported and not job.running
    assert job not in jobs._ABANDONED


def test_a_job_whose_work_exits_reports_done_with_the_error(monkeypatch):
    """Before: work raising a BaseException that is not an Exception (a library calling ``sys.exit()``) ended the
    worker thread without reporting, so the job stayed running for ever (the panel's progress bar and Cancel up, its
    buttons disabled until Slicer restarted) and the error reached no one."""
    jobs = load_jobs(monkeypatch)
    progressed, done = [], []

    def work(progress):
        progress("working", 0.3)
        raise SystemExit("the library gave up")

    job = jobs.BackgroundJob(work, lambda *args: progressed.append(args), lambda *args: done.append(args))
    job.start()
    job._thread.join(10)
    job._timer.slot()
    assert progressed == [("working", 0.3)] and len(done) == 1 and not job.running
    value, error, _warnings = done[0]
    assert value is None and isinstance(error, SystemExit) and str(error) == "the library gave up"
    assert "SystemExit: the library gave up" in jobs.error_details(error)
