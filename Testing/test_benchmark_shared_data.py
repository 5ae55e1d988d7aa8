"""The benchmarks find the shared data as the tests do (benchmarks/shared_data.py): ``$RAU_SHARED_DATA`` if set, else
``../shared/data`` beside the clone. Before, they looked only beside the clone and ended in tracebacks
(``FileNotFoundError: .../shared/data/hc18_fetal_head_us/pixel_size_and_HC.csv``) when the data lay elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import REPO, script_environment

BENCHMARKS = ["bench_registration.py", "bench_correction.py", "bench_box_correction.py", "bench_mixed_clicks.py",
              "bench_vessels.py", "bench_serve_batch.py", "bench_seg_nrrd_writer.py --aal"]
"""Each benchmark that reads the shared data, with the options that make it read it."""


@pytest.fixture
def clone(tmp_path):
    """A copy of the repository's scripts with no ``shared`` folder beside it."""
    for folder in ("benchmarks", "protocols", "Testing"):
        shutil.copytree(REPO / folder, tmp_path / "clone" / folder, ignore=shutil.ignore_patterns("results", "__pycache__"))
    return tmp_path / "clone"


def run_script(clone, script, data, *arguments):
    environment = {**script_environment(), "RAU_SHARED_DATA": str(data)}
    return subprocess.run([sys.executable, str(clone / "benchmarks" / script), *arguments], cwd=clone, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_rau_shared_data_is_where_the_benchmarks_find_the_data(clone, shared_data):
    """The vessel benchmark reads the ARCADE manifest there; the serve benchmark runs protocols/hc18_single.csv on it."""
    vessels = run_script(clone, "bench_vessels.py", shared_data, "--skip", "1000")
    assert vessels.returncode == 2 and "--skip 1000 leaves no pair of the 30" in vessels.stderr, vessels.stderr
    serve = run_script(clone, "bench_serve_batch.py", shared_data, "--parts", "batch", "--targets", "21")
    assert serve.returncode == 2 and "hc18_single.csv has 20 targets" in serve.stderr, serve.stderr


@pytest.mark.parametrize("script", BENCHMARKS)
def test_a_data_folder_without_the_data_is_one_line_exit_2(tmp_path, clone, script):
    empty = tmp_path / "empty"
    empty.mkdir()
    script, *arguments = script.split()
    run = run_script(clone, script, empty, *arguments)
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"{script}: error: shared data {empty}: lacks ") and "set RAU_SHARED_DATA" in line


def test_bench_accuracy_reads_the_protocols_files_in_rau_shared_data(tmp_path, clone):
    """Before: the manifests under protocols/ were read as written (../../shared/data), so a clone with no shared folder
    beside it was refused with a long list of missing files that named neither RAU_SHARED_DATA nor the folder."""
    (tmp_path / "empty").mkdir()
    run = run_script(clone, "bench_accuracy.py", tmp_path / "empty", "protocols/hc18_single.csv")
    assert run.returncode == 2 and run.stdout == "", run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"bench_accuracy.py: error: shared data {tmp_path / 'empty'}: lacks ") and "set RAU_SHARED_DATA" in line


def test_the_set_builders_data_option_defaults_to_rau_shared_data(tmp_path, clone):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = run_script(clone, "make_ct_slice_pairs.py", empty, str(tmp_path / "out"))
    assert run.returncode == 2 and f"error: --data {empty}: lacks totalseg_test_fixtures/label_names.json" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_rau_shared_data_naming_a_file_is_refused_as_not_a_folder(tmp_path, clone):
    """Before: "no such folder", though the path is there (a file)."""
    data = tmp_path / "data.zip"
    data.write_bytes(b"PK")
    run = run_script(clone, "bench_vessels.py", data)
    assert run.returncode == 2 and run.stdout == "", run.stderr
    assert run.stderr.startswith(f"bench_vessels.py: error: shared data {data}: not a folder (set RAU_SHARED_DATA"), run.stderr
