"""Files a process holds locked while it runs: the lock goes with the process, however it ends (killed included)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO


def lock_file(descriptor: int, wait: bool = False) -> None:
    """Lock an open file for this process, or raise :class:`OSError` at once when another holds it; with ``wait``,
    wait until the other lets it go (on Windows for up to 10 seconds, then :class:`OSError`)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(descriptor, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))


def still_at(handle: BinaryIO, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``handle``: one locked just as another process removed it (its
    owner gone) is locked for no one else to see."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def held(lock: Path):
    """Hold the file ``lock`` (made if missing) locked for the block, after any other process or thread holding it
    lets it go; remove it after (where another has it open on Windows it stays, for the last one to remove).
    Raises :class:`OSError` when it cannot be made or locked (a file system without locks)."""
    while True:
        handle = open(lock, "a+b")
        try:
            lock_file(handle.fileno(), wait=True)
        except BaseException:
            handle.close()
            raise
        if still_at(handle, lock):
            break
        handle.close()  # locked as its holder removed it: lock the one at its name now
    with handle:
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
