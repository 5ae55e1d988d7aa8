"""Warnings are printed for the command line and collected, per thread, for the server's jobs."""

from __future__ import annotations

import threading

from rau.user_warnings import collected_warnings, warn


def test_a_warning_is_printed_outside_a_collection_and_kept_inside_one(capsys):
    warn("first")
    with collected_warnings() as outer:
        warn("second")
        with collected_warnings() as inner:
            warn("third")
        warn("fourth")
    assert (outer, inner) == (["second", "fourth"], ["third"])
    assert capsys.readouterr().err == "warning: first\n"


def test_threads_collecting_at_once_keep_their_own_warnings(capsys):
    """The server runs jobs in several threads at once: each job's warnings are its own."""
    started, collected = threading.Barrier(2), {}

    def job(name: str) -> None:
        with collected_warnings() as said:
            started.wait()
            for number in range(50):
                warn(f"{name} {number}")
            started.wait()
        collected[name] = said

    threads = [threading.Thread(target=job, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collected == {name: [f"{name} {number}" for number in range(50)] for name in ("a", "b")}
    assert capsys.readouterr().err == ""
