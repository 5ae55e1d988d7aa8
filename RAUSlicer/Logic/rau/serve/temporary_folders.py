"""The temporary work folder of a ``rau serve`` started without ``--work-dir``, and those that killed servers left.

Such a server works in a new folder ``rau-serve-XXXXXXXX`` in the system's temporary folder and removes it as it
stops. A server killed outright (SIGKILL, a crash, a power cut) cannot: its uploads and job outputs, patients' images,
would stay for ever. So each server holds ``rau-serve.lock`` in its folder locked while it runs (the lock goes with
its process, however it ends), and a server that starts removes the folders beside its own that match the name, are
its user's and hold a lock file no process holds. Anything else is kept: a folder without the lock file is no
server's, or one a server is making at this moment (which makes another should a starting server take its new lock
file, not yet locked, for a killed server's: :func:`_try_new_folder`)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from rau.file_locks import lock_file, remove_lock_file, still_at
from rau.serve.jobs import LOG
from rau.serve.runs import new_lock

PREFIX = "rau-serve-"
LOCK_NAME = "rau-serve.lock"


def temporary_work_folder() -> tuple[Path, BinaryIO]:
    """A new temporary work folder and its lock, held until the process ends (keep it open), made once the folders
    killed servers left beside it are removed (:func:`remove_killed_servers_folders`)."""
    parent = Path(tempfile.gettempdir())
    remove_killed_servers_folders(parent)
    while (made := _try_new_folder(parent)) is None:
        pass
    return made


def _try_new_folder(parent: Path) -> tuple[Path, BinaryIO] | None:
    """A new folder in ``parent`` and its lock, or None when a server starting at this moment took its new lock file,
    free, for a killed server's and removes the folder (try another)."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    lock = new_lock(folder / LOCK_NAME)
    return None if lock is None else (folder, lock)


def remove_killed_servers_folders(parent: Path) -> None:
    """Remove the temporary work folders in ``parent`` that killed servers left (:func:`_remove_if_left`), saying in
    one line how many and the space freed."""
    removed, freed = [], 0
    for folder in sorted(parent.glob(f"{PREFIX}*")):
        size = _remove_if_left(folder)
        if size is not None:
            removed.append(folder.name)
            freed += size
    if removed:
        LOG.warning("removed %d temporary work folder%s that killed servers left in %s (%s): %.1f MiB freed",
                    len(removed), "" if len(removed) == 1 else "s", parent, ", ".join(removed), freed / 2**20)


def _remove_if_left(folder: Path) -> int | None:
    """Remove ``folder`` if a killed server left it: a folder (not a link) of this user holding the lock file, which
    no process holds. The bytes its files took, or None when it is kept (with a warning when it could not be locked
    or removed: its lock file stays, and the next start tries again)."""
    if not _is_users_folder(folder):
        return None
    lock = folder / LOCK_NAME
    try:
        handle = open(lock, "rb")
    except FileNotFoundError:
        return None  # no server's, or a server's being made, or another starting server removed it
    except OSError as error:
        LOG.warning("cannot open %s, the lock of a temporary work folder (%s); the folder is kept", lock, error.strerror)
        return None
    with handle:
        try:
            lock_file(handle.fileno())
        except BlockingIOError:
            return None  # its server runs
        except OSError as error:
            LOG.warning("cannot lock %s (%s); its temporary work folder is kept", lock, error.strerror)
            return None
        if not still_at(handle.fileno(), lock):
            return None  # another starting server removed it
        size = _bytes_in(folder)
        try:
            _remove_all_but(folder, lock)
            remove_lock_file(handle, lock)
            folder.rmdir()
        except OSError as error:
            LOG.warning("cannot remove %s, the temporary work folder of a killed server (%s); the next start tries "
                        "again", folder, error.strerror)
            return None
    return size


def _is_users_folder(path: Path) -> bool:
    """Whether ``path`` is a folder, not a link to one, of this process's user (any user's on Windows)."""
    try:
        status = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(status.st_mode) and (not hasattr(os, "getuid") or status.st_uid == os.getuid())


def _bytes_in(folder: Path) -> int:
    """The bytes the files under ``folder`` hold (links not followed)."""
    return sum(os.lstat(os.path.join(top, name)).st_size for top, _, names in os.walk(folder) for name in names)


def _remove_all_but(folder: Path, kept: Path) -> None:
    """Remove everything in ``folder`` but ``kept``."""
    for entry in folder.iterdir():
        if entry == kept:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
