"""Windows' rules for open and locked files, imitated on Linux: for tests of what must work there too."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import types

import pytest


@pytest.fixture
def windows_unlink(monkeypatch):
    """``os.unlink`` (so ``Path.unlink`` and ``shutil.rmtree`` too) refuses a file this process holds open, as Windows
    refuses one opened without sharing its deletion (as Python's ``open`` opens files)."""
    real_unlink = os.unlink

    def unlink(path, *, dir_fd=None):
        target = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        for descriptor in map(int, os.listdir("/proc/self/fd")):
            try:
                held = os.path.samestat(os.fstat(descriptor), target)
            except OSError:  # the listing's own descriptor, closed by now
                continue
            if held:
                raise PermissionError(errno.EACCES, "[WinError 32] The process cannot access the file because it is being "
                                      "used by another process", str(path))
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "remove", unlink)


@pytest.fixture
def windows_locks(monkeypatch):
    """No ``fcntl``; an ``msvcrt`` whose ``locking`` raises :class:`PermissionError` (EACCES) for a lock another
    open file holds, as Windows' does."""

    def locking(descriptor: int, mode: int, size: int) -> None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES)) from None

    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_NBLCK = 2
    msvcrt.locking = locking
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
