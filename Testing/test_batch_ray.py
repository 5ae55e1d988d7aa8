"""``rau batch --ray``, each in a new process as a user runs it: which cluster ``local`` and ``auto`` take (and ``auto``
without one); SIGTERM; and, in this process without starting Ray, that the output folder is checked and locked before
Ray is joined. A test that starts a Ray instance holds the lock of :mod:`ray_instances` shared (``starts_ray``)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from rau.batch.items import LOCK_NAME, work_items
from rau.cli import main as rau_main
from rau.file_locks import lock_file
from test_batch import FAST, MANIFEST, check_stopped_run, session_alive, summary


def batch_on_ray(out, ray: str, env: dict[str, str], timeout: float, manifest=MANIFEST) -> subprocess.CompletedProcess:
    """``rau batch`` of one target with ``--ray ray`` in a new process with ``env`` added to this one's (no RAY_ADDRESS of its own)."""
    pytest.importorskip("ray")
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"} | env
    command = [sys.executable, "-m", "rau.cli", "batch", str(manifest), "--out", str(out), *FAST, "--limit", "1", "--workers", "1", "--ray", ray]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)


def tiny_pixels(tmp_path):
    """A manifest of :data:`MANIFEST`'s first target given a pixel size of 0.005 mm, which rau warns of."""
    with open(MANIFEST, newline="") as handle:
        row = next(csv.DictReader(handle))
    files = [str((MANIFEST.parent / row[column]).resolve()) for column in ("reference_image", "reference_labels", "target_image")]
    manifest = tmp_path / "tiny_pixels.csv"
    manifest.write_text("reference_image,reference_labels,target_image,reference_spacing,target_spacing\n"
                        f"{','.join(files)},{row['reference_spacing']},0.005\n")
    return manifest


@pytest.mark.usefixtures("starts_ray")
def test_ray_local_starts_its_own_instance_whatever_ray_address_says(tmp_path):
    """Before: --ray local joined RAY_ADDRESS's cluster (or the last `ray start`'s) and, that one gone, tried for ever.
    And the target's warnings, printed by its actor (whose output Ray drops), never reached the user."""
    finished = batch_on_ray(tmp_path / "out", "local", {"RAY_ADDRESS": "127.0.0.1:1"}, timeout=180, manifest=tiny_pixels(tmp_path))
    assert finished.returncode == 0, finished.stderr
    assert summary(tmp_path / "out") == {"058_HC": "done"}
    assert finished.stderr.count("058_HC.png: at the pixel size given (0.005 mm) it spans 4 mm") == 1, finished.stderr


@pytest.mark.usefixtures("no_ray_instance")
def test_ray_auto_without_a_cluster_is_a_usage_error(tmp_path):
    """A new process with its own temporary folder (no address file of an earlier cluster) and no RAY_ADDRESS; while
    no other test's Ray instance runs (``no_ray_instance``). Before, Ray's ConnectionError was an internal error (exit 70)."""
    ray = pytest.importorskip("ray")
    from ray._private.services import find_gcs_addresses

    if ray.is_initialized() or find_gcs_addresses():
        pytest.skip("a Ray instance runs on this machine: --ray auto joins it")
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"} | {"TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path / "out"), *FAST, "--limit", "1", "--ray", "auto"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert finished.returncode == 2, finished.stderr
    assert ("rau batch: error: --ray auto: no running Ray cluster was found on this machine; start one (ray start --head), give a "
            "cluster's address (--ray HEAD:6379 or --ray ray://HEAD:10001), or use --ray local to start one for this run") in finished.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("rau-batch-error-*"))


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


@pytest.mark.usefixtures("starts_ray")
def test_sigterm_stops_a_ray_run_as_it_stops_an_embedded_one(tmp_path):
    """Before: ray.init replaced rau's SIGTERM handler: exit status 15, no "terminated", no cleanup of rau's own."""
    pytest.importorskip("ray")
    items = work_items(MANIFEST, tmp_path, limit=8)
    command = [sys.executable, "-m", "rau.cli", "batch", str(MANIFEST), "--out", str(tmp_path), *FAST, "--limit", "8", "--workers", "1", "--ray", "local"]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env={key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"})
    try:
        deadline = time.monotonic() + 180
        while not any(item.state() == "complete" for item in items):
            assert run.poll() is None and time.monotonic() < deadline, "the first target never finished"
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        _, errors = run.communicate(timeout=60)
        assert run.returncode == 143 and "rau batch: terminated" in errors, errors
        deadline = time.monotonic() + 30
        while session_alive(run.pid):  # the Ray instance the run started goes with it
            assert time.monotonic() < deadline, "a process of the run's Ray instance outlived it"
            time.sleep(0.2)
    finally:
        if session_alive(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
    check_stopped_run(tmp_path, items)


UNREACHABLE = ["--ray", "127.0.0.1:1"]
"""A Ray address nothing answers at: refused when the run first needs Ray, without starting any."""


def batch_in_process(out, *options: str) -> int:
    """``rau batch`` of :data:`MANIFEST` into ``out`` in this process (no Ray instance of its own here)."""
    return rau_main(["batch", str(MANIFEST), "--out", str(out), *FAST, "--workers", "1", *options])


def test_a_ray_run_checks_and_locks_its_folder_before_it_joins_ray(tmp_path, capsys):
    """Before: Ray was joined (or a local instance started, ~20 s) first, and only then was --out checked or locked."""
    pytest.importorskip("ray")
    (tmp_path / "file").write_text("")
    assert batch_in_process(tmp_path / "file", "--limit", "1", *UNREACHABLE) == 2
    assert f"--out {tmp_path / 'file'} is a file" in capsys.readouterr().err
    held = tmp_path / "held"
    held.mkdir()
    with open(held / LOCK_NAME, "a+b") as lock:
        lock_file(lock.fileno())
        assert batch_in_process(held, "--limit", "1", *UNREACHABLE) == 2
    assert "another rau batch is writing to this folder" in capsys.readouterr().err


def test_a_ray_run_with_nothing_to_do_needs_no_ray_and_a_refused_one_leaves_the_folder_as_it_was(tmp_path, capsys):
    """Before: a cohort whose targets were all done still joined Ray (or started a local instance, ~14 s, and used none of it)."""
    pytest.importorskip("ray")
    out = tmp_path / "out"
    assert batch_in_process(out, "--limit", "1") == 0
    assert batch_in_process(out, "--limit", "1", *UNREACHABLE) == 0
    assert summary(out) == {"058_HC": "skipped"}
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert batch_in_process(out, "--limit", "2", *UNREACHABLE) == 2  # one target to run: Ray is needed, and refused
    assert "--ray 127.0.0.1:1: nothing answers there" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert batch_in_process(tmp_path / "new" / "deeper" / "out", "--limit", "1", *UNREACHABLE) == 2
    assert not (tmp_path / "new").exists()  # before: new/deeper/, made for --out, stayed


STOPPED_AT_FIRST_ROW = """
import os, pathlib, sys
from rau.batch.items import work_items
from rau.batch.ray_backend import RayBackend
from rau.options import EngineOptions

def stop(row):
    raise KeyboardInterrupt

try:
    RayBackend("local", "registration", EngineOptions(deformable=False), 2, 0.0, 1.0)(work_items(sys.argv[1], sys.argv[2]), stop)
except KeyboardInterrupt:  # at once: the process titles of this session's live processes
    for process in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(process.name)) == os.getsid(0):
                print((process / "cmdline").read_bytes().replace(b"\\0", b" ").decode(errors="replace"))
        except OSError:  # ended meanwhile
            pass
"""


def one_fast_one_slow_target(tmp_path):
    """A manifest of :data:`MANIFEST`'s first target, then its second with eight references (eight registrations)."""
    with open(MANIFEST, newline="") as handle:
        rows = list(csv.DictReader(handle))
    def absolute(row):
        return {key: str((MANIFEST.parent / value).resolve()) if value.startswith("..") else value for key, value in row.items()}
    rows = [absolute(row) for row in rows]
    references = list({row["reference_image"]: row for row in rows[1:]}.values())[:8]
    slow = [row | {key: rows[1][key] for key in ("target_image", "target_labels", "target_spacing")} for row in references]
    manifest = tmp_path / "fast_then_slow.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows([rows[0], *slow])
    return manifest


@pytest.mark.usefixtures("starts_ray")
def test_a_stopped_ray_run_returns_only_once_the_actor_it_killed_mid_target_has_ended(tmp_path):
    """Before: ray.kill does not wait, so the summary was written, the temporaries removed and the folder's lock released
    while a killed actor went on placing its target's files (listed pending, its outputs complete)."""
    pytest.importorskip("ray")
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    stopped = subprocess.run([sys.executable, "-c", STOPPED_AT_FIRST_ROW, str(one_fast_one_slow_target(tmp_path)), str(tmp_path / "out")],
                             capture_output=True, text=True, timeout=180, env=environment, start_new_session=True)
    assert stopped.returncode == 0, stopped.stderr
    assert "ray::" in stopped.stdout, stopped.stdout  # the Ray instance's processes were listed
    assert not [line for line in stopped.stdout.splitlines() if line.startswith("ray::") and ".run" in line], stopped.stdout
