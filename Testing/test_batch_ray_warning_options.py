"""``rau batch`` started with Python's warning options (``python -W ...``) runs its targets under them on Ray's workers
as on its own: a spawned worker process is given the ``-W`` options, a Ray actor follows only ``PYTHONWARNINGS``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_batch import FAST, summary
from test_batch_python_warnings import PILLOW_SAYS, damaged_tiffs_manifest

IGNORED, REFUSED = PILLOW_SAYS, PILLOW_SAYS.replace("tag 270", "tag 305")
"""Pillow's warnings of the two targets' damaged tags (270, 305): ``-W ignore`` for the first, ``-W error`` for the second."""


@pytest.mark.usefixtures("starts_ray")  # with --ray local
@pytest.mark.parametrize("backend", [[], ["--ray", "local"]], ids=["processes", "ray"])
def test_python_warning_options_reach_the_workers_on_ray_as_on_processes(tmp_path, backend):
    """Before: with --ray the actors took Python's default filters: the ignored warning was printed, and the one
    made an error was only a warning, its target done."""
    if backend:
        pytest.importorskip("ray")
    manifest = damaged_tiffs_manifest(tmp_path, {"ignored": 270, "refused": 305})
    command = [sys.executable, "-W", f"ignore:{IGNORED}", "-W", f"error:{REFUSED}", "-m", "rau.cli", "batch", str(manifest),
               "--out", str(tmp_path / "out"), *FAST, "--workers", "1", *backend]
    environment = {key: value for key, value in os.environ.items() if key not in ("RAY_ADDRESS", "PYTHONWARNINGS")}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert finished.returncode == 1, finished.stderr
    assert summary(tmp_path / "out") == {"ignored": "done", "refused": "failed"}
    assert IGNORED not in finished.stderr
    assert f"refused.tif: internal error (UserWarning: {REFUSED})" in finished.stderr, finished.stderr
