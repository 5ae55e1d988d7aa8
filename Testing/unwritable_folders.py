"""Folders no process may make a file in, root included: what a user without the write permission meets."""

from __future__ import annotations

import contextlib
import subprocess

import pytest


@contextlib.contextmanager
def unwritable(folder):
    """Make the existing ``folder`` immutable (``chattr +i``) for the block; skip the test where the file system or
    the system does not allow it."""
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {folder} immutable: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
