"""``rau batch --ray``: which cluster ``local`` and ``auto`` take, each in a new process as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_batch import FAST, MANIFEST, summary


def batch_on_ray(out, ray: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``rau batch`` of one target with ``--ray ray`` in a new process with ``env`` added to this one's (no RAY_ADDRESS of its own)."""
    pytest.importorskip("ray")
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"} | env
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(out), *FAST, "--limit", "1", "--workers", "1", "--ray", ray]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)


def test_ray_local_starts_its_own_instance_whatever_ray_address_says(tmp_path):
    """Before: --ray local joined RAY_ADDRESS's cluster (or the last `ray start`'s) and, that one gone, tried for ever."""
    finished = batch_on_ray(tmp_path / "out", "local", {"RAY_ADDRESS": "127.0.0.1:1"}, timeout=180)
    assert finished.returncode == 0, finished.stderr
    assert summary(tmp_path / "out") == {"058_HC": "done"}


@pytest.mark.parametrize("source", ["RAY_ADDRESS", "last ray start"])
def test_ray_auto_at_an_address_nothing_answers_is_refused_at_once_naming_where_it_came_from(tmp_path, source):
    """Before: --ray auto tried to reach RAY_ADDRESS, or the cluster a killed `ray start --head` recorded, for ever."""
    if source == "RAY_ADDRESS":
        env, named = {"RAY_ADDRESS": "127.0.0.1:1"}, "--ray auto (RAY_ADDRESS=127.0.0.1:1): nothing answers there"
    else:  # Ray's temporary folder follows TMPDIR: one of its own holding a stale address
        (tmp_path / "ray").mkdir()
        (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")
        env = {"TMPDIR": str(tmp_path), "RAY_TMPDIR": str(tmp_path)}
        named = "--ray auto (127.0.0.1:1, the cluster the last `ray start` on this machine recorded): nothing answers there"
    finished = batch_on_ray(tmp_path / "out", "auto", env, timeout=60)
    assert finished.returncode == 2, finished.stderr
    assert f"rau batch: error: {named} (Connection refused)" in finished.stderr
    assert not (tmp_path / "out").exists()
