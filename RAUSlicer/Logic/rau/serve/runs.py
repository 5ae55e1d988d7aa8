"""The job folders of each server in a work folder that several servers may share (on different ports).

A server holds ``jobs/RUN.lock`` locked while it runs and keeps its jobs' outputs under ``jobs/RUN``. A server that
starts removes the folders of runs whose lock no process holds: their server stopped or was killed, and no running
server knows their jobs (a job lives in its server's memory only)."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from rau.errors import UnavailableError
from rau.file_locks import lock_file
from rau.serve.jobs import LOG

LOCK_SUFFIX = ".lock"


def start_run(root: Path) -> tuple[Path, BinaryIO]:
    """A new folder under ``root`` for this server's jobs, and its lock, held until the process ends (keep it open).
    The folder is made once the lock is held: a folder beside its lock file always has a live owner or none."""
    root.mkdir(parents=True, exist_ok=True)
    folder = root / uuid.uuid4().hex
    lock = folder.with_suffix(LOCK_SUFFIX)
    handle = open(lock, "xb")
    try:
        lock_file(handle.fileno())
    except OSError as error:  # no other process can hold this new file: the file system has no locks
        handle.close()
        raise UnavailableError(f"{lock}: cannot lock it ({error.strerror}); give a --work-dir on a file system "
                               "that locks files") from error
    folder.mkdir()
    return folder, handle


def remove_stopped_runs(root: Path) -> None:
    """Remove the job folders under ``root`` whose server no longer runs (their lock is free), with their locks."""
    for lock in root.glob(f"*{LOCK_SUFFIX}"):
        folder = lock.with_suffix("")
        if folder.is_dir():  # else its server is still starting (it locks before it makes the folder)
            _remove_if_stopped(folder, lock)


def _remove_if_stopped(folder: Path, lock: Path) -> None:
    """Remove ``folder`` and then ``lock`` when no process holds ``lock``; a folder that cannot be removed is logged
    and keeps its lock (the next start tries again)."""
    with contextlib.suppress(FileNotFoundError), open(lock, "rb") as handle:  # gone: another starting server removed it
        try:
            lock_file(handle.fileno())
        except OSError:
            return  # its server runs
        try:
            shutil.rmtree(folder)
        except OSError as error:
            LOG.warning("cannot remove %s, the job folder of a stopped server (%s); the next start tries again", folder, error)
            return
        lock.unlink(missing_ok=True)
