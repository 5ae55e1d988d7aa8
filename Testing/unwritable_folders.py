"""Folders no process may make a file in, root included: what a user without the write permission meets."""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest


@contextlib.contextmanager
def unwritable(folder):
    """Make the existing ``folder`` refuse new files for the block: without write permission for a user (root ignores
    permissions), immutable (``chattr +i``) for root; skip the test where the file system or the system allows
    neither."""
    if os.geteuid() != 0:
        mode = os.stat(folder).st_mode
        os.chmod(folder, 0o555)
        try:
            yield folder
        finally:
            os.chmod(folder, mode)
        return
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {folder} immutable: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
