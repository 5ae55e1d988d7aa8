"""Files a process holds locked while it runs: the lock goes with the process, however it ends (killed included)."""

from __future__ import annotations


def lock_file(descriptor: int) -> None:
    """Lock an open file for this process, or raise :class:`OSError` at once when another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
