"""Files and folders a process holds locked while it runs: the lock goes with the process, however it ends (killed included)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def lock_file(descriptor: int) -> None:
    """Lock an open file for this process, or raise :class:`OSError` at once when another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def still_at(descriptor: int, path: Path) -> bool:
    """Whether ``path`` still names the file or folder open as ``descriptor``: one locked just as another process
    removed it (its owner gone) is locked for no one else to see."""
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(path))
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def folder_locked(folder: Path):
    """Hold ``folder`` itself locked for the block, after any other process or thread holding it lets it go: no file
    is made or removed. Yield whether the lock is on the folder still at that name (False: removed while this one
    waited). Ctrl-C and SIGTERM while waiting raise as anywhere else. On Windows, where a folder cannot be opened so,
    and on a file system without locks, the block runs unlocked (yields True)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield True
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        yield True
        return
    try:
        with contextlib.suppress(OSError):  # a file system without locks
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield still_at(descriptor, folder)
    finally:
        os.close(descriptor)

