"""Temporary folders that hold patients' images while a process works, and those that killed processes left.

Two kinds, both in the system's temporary folder: the work folder of a ``rau serve`` started without ``--work-dir``
(:data:`SERVER_WORK`, ``rau-serve-XXXXXXXX``: its uploads and job outputs) and the folder a remote run writes the
images it uploads in while its job runs on a server, minutes maybe (:data:`CLIENT_UPLOADS`, ``rau-remote-XXXXXXXX``:
:class:`rau.serve.remote.RemoteEngine`). Each process removes its own as it ends, but one killed outright (SIGKILL, a
crash, a power cut) cannot: the images would stay for ever. So each holds a lock file in its folder locked while it
works (the lock goes with its process, however it ends), and a process that makes a folder of a kind first removes
the folders of that kind beside it that are its user's and hold a lock file no process holds. Anything else is kept:
a folder without the lock file is no process's, or one a process is making at this moment (which makes another should
a starting process take its new lock file, not yet locked, for a killed one's: :func:`_try_new_folder`)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from rau.file_locks import lock_file, remove_lock_file, still_at
from rau.serve.runs import WORK_DIR_REMEDY, new_lock

LOG = logging.getLogger("rau.serve")


@dataclass(frozen=True)
class FolderKind:
    """A kind of temporary folder: its name and its lock file's, and the words that tell of it."""

    prefix: str
    """The start of its name (eight random characters follow)."""
    lock_name: str
    """The name of its lock file."""
    called: str
    """What it is, in words ("temporary work folder")."""
    owner: str
    """What makes it, in words ("server")."""
    next_try: str
    """What tries again to remove one that could not be removed, in words ("start": the next start)."""
    remedy: str
    """What to do where its lock cannot be taken (a file system without locks)."""


SERVER_WORK = FolderKind("rau-serve-", "rau-serve.lock", "temporary work folder", "server", "start", WORK_DIR_REMEDY)
CLIENT_UPLOADS = FolderKind("rau-remote-", "rau-remote.lock", "temporary upload folder", "rau client", "remote run",
                            "point TMPDIR at a folder on a file system that locks files")


@contextlib.contextmanager
def held_temporary_folder(kind: FolderKind) -> Iterator[Path]:
    """A new temporary folder of ``kind`` (:func:`new_temporary_folder`) for the block, locked while it runs and
    removed after it; one that cannot be removed is said, and its lock file stays for the next process to remove it."""
    folder, handle = new_temporary_folder(kind)
    try:
        yield folder
    finally:
        remove_held_folder(folder, handle, kind)


def remove_held_folder(folder: Path, handle: BinaryIO, kind: FolderKind) -> None:
    """Remove ``folder``, this process's temporary folder of ``kind`` whose lock it holds open as ``handle``, the lock
    file last (which also works where open files cannot be removed); one that cannot be removed is said, and its lock
    file stays for the next process to remove it."""
    with handle:
        try:
            _remove_locked(folder, handle, folder / kind.lock_name)
        except OSError as error:
            LOG.warning("cannot remove %s, the %s of this %s (%s); the next %s tries again", folder, kind.called,
                        kind.owner, error.strerror, kind.next_try)


def new_temporary_folder(kind: FolderKind) -> tuple[Path, BinaryIO]:
    """A new temporary folder of ``kind`` and its lock, held until closed or the process ends (keep it open), made
    once the folders of that kind that killed processes left beside it are removed (:func:`remove_left_folders`)."""
    parent = Path(tempfile.gettempdir())
    remove_left_folders(parent, kind)
    while (made := _try_new_folder(parent, kind)) is None:
        pass
    return made


def _try_new_folder(parent: Path, kind: FolderKind) -> tuple[Path, BinaryIO] | None:
    """A new folder of ``kind`` in ``parent`` and its lock, or None when a process starting at this moment took its
    new lock file, free, for a killed process's and removes the folder (try another)."""
    folder = Path(tempfile.mkdtemp(prefix=kind.prefix, dir=parent))
    lock = new_lock(folder / kind.lock_name, kind.remedy)
    return None if lock is None else (folder, lock)


def remove_left_folders(parent: Path, kind: FolderKind) -> None:
    """Remove the folders of ``kind`` in ``parent`` that killed processes left (:func:`_remove_if_left`), saying in
    one line how many and the space freed."""
    removed, freed = [], 0
    for folder in sorted(parent.glob(f"{kind.prefix}*")):
        size = _remove_if_left(folder, kind)
        if size is not None:
            removed.append(folder.name)
            freed += size
    if removed:
        LOG.warning("removed %d %s%s that killed %ss left in %s (%s): %.1f MiB freed", len(removed), kind.called,
                    "" if len(removed) == 1 else "s", kind.owner, parent, ", ".join(removed), freed / 2**20)


def _remove_if_left(folder: Path, kind: FolderKind) -> int | None:
    """Remove ``folder`` if a killed process left it: a folder (not a link) of this user holding the lock file of
    ``kind``, which no process holds. The bytes its files took, or None when it is kept (with a warning when it could
    not be locked or removed: its lock file stays, and the next process making such a folder tries again)."""
    if not _is_users_folder(folder):
        return None
    lock = folder / kind.lock_name
    try:
        handle = open(lock, "rb")
    except FileNotFoundError:
        return None  # no process's, or one being made, or another starting process removed it
    except OSError as error:
        LOG.warning("cannot open %s, the lock of a %s (%s); the folder is kept", lock, kind.called, error.strerror)
        return None
    with handle:
        try:
            lock_file(handle.fileno())
        except BlockingIOError:
            return None  # its process runs
        except OSError as error:
            LOG.warning("cannot lock %s (%s); its %s is kept", lock, error.strerror, kind.called)
            return None
        if not still_at(handle.fileno(), lock):
            return None  # another starting process removed it
        size = _bytes_in(folder)
        try:
            _remove_locked(folder, handle, lock)
        except OSError as error:
            LOG.warning("cannot remove %s, the %s of a killed %s (%s); the next %s tries again", folder, kind.called,
                        kind.owner, error.strerror, kind.next_try)
            return None
    return size


def _remove_locked(folder: Path, handle: BinaryIO, lock: Path) -> None:
    """Remove ``folder``, whose lock file ``lock`` this process holds open as ``handle``: the lock file last (closing
    ``handle``), so that a folder half removed is still found, and removed, by a later process."""
    _remove_all_but(folder, lock)
    remove_lock_file(handle, lock)
    folder.rmdir()


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
