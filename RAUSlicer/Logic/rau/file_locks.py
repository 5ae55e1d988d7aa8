"""Files a process holds locked while it runs: the lock goes with the process, however it ends (killed included)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def lock_file(descriptor: int) -> None:
    """Lock an open file for this process, or raise :class:`OSError` at once when another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def still_at(handle: BinaryIO, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``handle``: one locked just as another process removed it (its
    owner gone) is locked for no one else to see."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False
