"""A job abandoned (module reload) after its work finished hands the value it will never write to ``on_dropped``."""

from __future__ import annotations

import pytest
from test_module_jobs import load_jobs


@pytest.mark.parametrize("fails", [False, True])
def test_an_abandoned_jobs_finished_value_is_dropped_before_then(monkeypatch, fails):
    """Before: ``abandon`` replaced ``on_done`` and lost the value, so a finished run's engine session (a server's)
    stayed open until it expired; a failed work has no value to drop."""
    jobs = load_jobs(monkeypatch)
    calls = []

    def work(progress):
        if fails:
            raise ValueError("no answer")
        return "result"

    job = jobs.BackgroundJob(work, lambda *args: None, lambda *args: calls.append(("done", args)), on_dropped=lambda value: calls.append(("dropped", value)))
    job.start()
    job._thread.join(10)
    job.abandon(then=lambda: calls.append(("then",)))
    job._timer.slot()
    assert calls == ([("then",)] if fails else [("dropped", "result"), ("then",)])
