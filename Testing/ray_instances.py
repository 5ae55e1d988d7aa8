"""One lock on this machine's Ray instances, across the test processes of a run (pytest-xdist workers) and across runs.

A test that starts a Ray instance holds it shared: such tests run side by side. A test that needs no instance
running (``rau batch --ray auto`` joins any it finds) holds it alone: no test starts one while it runs, and it
starts once those running have ended.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "rau-tests-ray-instances.lock"
"""Where every test process looks: the temporary folder's, whichever worker or run it is."""

_shared_holds = 0
"""How many times this process holds :data:`LOCK` shared; while it does, it cannot wait to hold it alone."""


@contextmanager
def ray_instances_lock(alone: bool) -> Iterator[None]:
    """Hold :data:`LOCK` alone (no Ray instance of a test may run) or shared (a Ray instance of this test runs)."""
    global _shared_holds
    if alone and _shared_holds:
        raise RuntimeError("a Ray instance of this process's tests runs (a module-scoped one?): a test that needs none "
                           "would wait for it for ever; run it in another module")
    descriptor = os.open(LOCK, os.O_RDONLY | os.O_CREAT, 0o644)  # read access is enough to lock: any user can share it
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        _shared_holds += not alone
        try:
            yield
        finally:
            _shared_holds -= not alone
    finally:
        os.close(descriptor)  # which lets the lock go
