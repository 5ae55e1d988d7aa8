"""Lock files of ``rau serve`` and ``rau batch`` under Windows' rules (:mod:`windows_files`): an open file cannot be
removed, and a lock another process holds is reported as EACCES."""

from __future__ import annotations

import errno
import fcntl
from pathlib import Path

import pytest
from windows_files import windows_locks, windows_unlink  # noqa: F401 (fixtures)

from rau.batch.items import LOCK_NAME, SUMMARY_NAME
from rau.batch.run import run_batch
from rau.errors import OptionError
from rau.file_locks import lock_file
from rau.serve import runs
from rau.serve.app import Server, ServerConfig


def test_a_server_starts_on_the_work_dir_of_one_that_stopped_on_windows(tmp_path, windows_unlink):
    """Before: the start removed the stopped server's lock file while it held it open, and Windows refused
    (``PermissionError: [WinError 32]``): every later start on that --work-dir failed."""
    config = ServerConfig(work_dir=tmp_path / "work")
    stopped = Server(config)
    stopped._run_lock.close()  # its process ended: its folder and lock file stay
    started = Server(config)
    with started._run_lock:
        assert sorted(path.name for path in (tmp_path / "work" / "jobs").iterdir()) == sorted(
            [started.jobs_dir.name, started.jobs_dir.name + runs.LOCK_SUFFIX])


def test_a_batch_removes_its_lock_file_when_it_ends_on_windows(tmp_path, windows_unlink):
    """Before: it removed the lock file while it held it open, which Windows refuses: ``OUT/.rau-batch.lock`` stayed."""
    out = tmp_path / "out"
    assert run_batch([], out, lambda todo, on_row: None) == []
    assert [path.name for path in out.iterdir()] == [SUMMARY_NAME]


def test_a_lock_another_file_holds_is_held_on_windows_too(tmp_path, windows_locks):
    """Before: Windows' EACCES came out as :class:`PermissionError`, which the callers took for a file system without locks."""
    path = tmp_path / "a.lock"
    with open(path, "wb") as holder, open(path, "rb") as other:
        lock_file(holder.fileno())
        with pytest.raises(BlockingIOError):
            lock_file(other.fileno())


def test_a_server_starting_as_another_takes_its_new_lock_file_starts_with_another_on_windows(tmp_path, windows_locks, monkeypatch):
    """Before: ``rau serve`` refused to start, "cannot lock it (Permission denied); give a --work-dir on a file
    system that locks files"."""
    jobs = tmp_path / "jobs"
    taken = []

    def taken_first(descriptor: int) -> None:  # the other server's start locks it (to remove it) before this one
        if not taken:
            taken.append(open(next(jobs.iterdir()), "rb"))
            lock_file(taken[0].fileno())
        lock_file(descriptor)

    monkeypatch.setattr(runs, "lock_file", taken_first)
    folder, handle = runs.start_run(jobs)
    with handle, taken[0]:
        assert Path(taken[0].name) != folder.with_suffix(runs.LOCK_SUFFIX) and folder.is_dir()


def test_a_batch_on_a_file_system_without_locks_is_refused_as_such(tmp_path, monkeypatch):
    """Before: it was refused as if another batch held the folder."""

    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out = tmp_path / "out"
    with pytest.raises(OptionError, match=f"--out {out}: cannot lock {out / LOCK_NAME} \\(No locks available\\); give an --out on a file system that locks files"):
        run_batch([], out, lambda todo, on_row: None)
