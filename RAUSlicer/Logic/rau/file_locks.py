"""Files and folders a process holds locked while it runs: the lock goes with the process, however it ends (killed included)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import BinaryIO


def lock_file(descriptor: int) -> None:
    """Lock an open file for this process at once. Raise :class:`BlockingIOError` when another holds it, on every
    system, and another :class:`OSError` when the file system cannot lock files."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except PermissionError as error:  # how Windows says that another process holds the lock
            raise BlockingIOError(errno.EAGAIN, "another process holds its lock") from error
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_lock_file(handle: BinaryIO, path: Path) -> None:
    """Remove the lock file ``path`` that ``handle`` holds locked, and close ``handle``. Where an open file can be
    removed it goes while still locked (no other process can take it in between); Windows removes no file a process
    holds open, so there it goes once closed, and stays when another process opened it meanwhile (theirs now). A lock
    file that cannot be removed stays, unlocked: nothing is raised."""
    try:
        path.unlink(missing_ok=True)
    except OSError:  # Windows: open, by this process too
        handle.close()
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    finally:
        handle.close()


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

