"""The job folders of each server in a work folder that several servers may share (on different ports).

A server holds ``jobs/RUN.lock`` locked while it runs and keeps its jobs' outputs under ``jobs/RUN``. A server that
starts removes the runs whose lock no process holds, their folders and then their lock files: their server stopped or
was killed (also before it made its folder, or before it locked its new lock file), and no running server knows their
jobs (a job lives in its server's memory only)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from rau.errors import UnavailableError
from rau.file_locks import lock_file, remove_lock_file, still_at

LOG = logging.getLogger("rau.serve")
LOCK_SUFFIX = ".lock"
WORK_DIR_REMEDY = "give a --work-dir on a file system that locks files"
"""What to do where a server's lock cannot be taken."""


def start_run(root: Path) -> tuple[Path, BinaryIO]:
    """A new folder under ``root`` for this server's jobs, and its lock, held until the process ends (keep it open).
    The folder is made once the lock is held: a folder beside its lock file always has a live owner or none."""
    root.mkdir(parents=True, exist_ok=True)
    while (started := _try_start_run(root)) is None:
        pass
    return started


def _try_start_run(root: Path) -> tuple[Path, BinaryIO] | None:
    """:func:`start_run`, or None when another starting server took the new lock file, free, for a stopped server's
    and removes it (try another)."""
    folder = root / uuid.uuid4().hex
    handle = new_lock(folder.with_suffix(LOCK_SUFFIX), WORK_DIR_REMEDY)
    if handle is None:
        return None
    folder.mkdir()
    return folder, handle


def new_lock(lock: Path, remedy: str) -> BinaryIO | None:
    """Make the file ``lock`` and lock it for this process: its open handle (keep it open), or None when a process
    starting at this moment took the new file, free, for a stopped one's lock and removes it, or removed it (make
    another). A file system without locks raises :class:`UnavailableError` saying ``remedy``, what to do."""
    handle = open(lock, "xb")
    try:
        lock_file(handle.fileno())
    except BlockingIOError:  # that process holds it while it removes it
        handle.close()
        return None
    except OSError as error:  # no other process holds this new file: the file system has no locks
        handle.close()
        raise UnavailableError(f"{lock}: cannot lock it ({error.strerror}); {remedy}") from error
    if not still_at(handle.fileno(), lock):  # removed before it was locked
        handle.close()
        return None
    return handle


def remove_stopped_runs(root: Path) -> None:
    """Remove the job folders under ``root`` whose server no longer runs (their lock is free), with their locks."""
    for lock in root.glob(f"*{LOCK_SUFFIX}"):
        _remove_if_stopped(lock.with_suffix(""), lock)


def _remove_if_stopped(folder: Path, lock: Path) -> None:
    """Remove ``folder`` (if made) and then ``lock`` when no process holds ``lock``; a folder that cannot be removed
    is logged and keeps its lock (the next start tries again)."""
    with contextlib.suppress(FileNotFoundError), open(lock, "rb") as handle:  # gone: another starting server removed it
        try:
            lock_file(handle.fileno())
        except OSError:
            return  # its server runs
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass  # its server stopped before it made it
        except OSError as error:
            LOG.warning("cannot remove %s, the job folder of a stopped server (%s); the next start tries again", folder, error)
            return
        remove_lock_file(handle, lock)
