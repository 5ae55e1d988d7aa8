"""``benchmarks/bench_serve_batch.py --parts``: the part names are those of its docstring and JSON; any other
is refused (exit 2, naming it and the parts) before anything runs or is written. Before, ``--parts segment_512``
or ``--parts bogus`` ran nothing and replaced the ``--json`` file with ``{"cpu_count": ...}``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import REPO, script_environment
from shared_data import protocol_files

SCRIPT = REPO / "benchmarks" / "bench_serve_batch.py"


def load_script():
    if str(SCRIPT.parent) not in sys.path:  # as running it as a script puts it (it imports figures from there)
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_serve_batch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_parts_are_named_as_in_the_docstring_and_the_stored_figures():
    module = load_script()
    assert all(f"``{name}``" in module.__doc__ for name in module.PARTS)
    stored = json.loads((REPO / "benchmarks" / "results" / "serve_batch.json").read_text())
    assert set(stored) - {"cpu_count"} <= set(module.PARTS)


@pytest.mark.parametrize("parts, problem", [
    ("bogus", "unknown part 'bogus'"),
    ("segment", "unknown part 'segment'"),
    ("segment_512,ct", "unknown part 'ct'"),
    ("", "no part named"),
])
def test_an_unknown_part_is_refused_before_anything_is_written(tmp_path, parts, problem):
    figures = tmp_path / "figures.json"
    figures.write_text('{"earlier": 1}\n')
    env = script_environment()
    run = subprocess.run([sys.executable, str(SCRIPT), "--parts", parts, "--json", str(figures)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 2
    assert f"argument --parts: {problem}; the parts are segment_512, reprompt_512, batch, ct_target" in run.stderr
    assert figures.read_text() == '{"earlier": 1}\n' and run.stdout == ""


@pytest.mark.parametrize("arguments, problem", [
    (["--repeats", "0"], "argument --repeats: must be at least 1"),
    (["--targets", "0"], "argument --targets: must be at least 1"),
    (["--json", ""], "argument --json: must not be empty"),
])
def test_unusable_numbers_and_paths_are_refused_naming_the_option(arguments, problem):
    env = script_environment()
    run = subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 2 and problem in run.stderr and run.stdout == ""


def test_more_targets_than_the_manifest_holds_are_refused(tmp_path, shared_data):
    """Before: ``--targets 21`` ran the manifest's 20 and reported 21 targets and 21 targets' throughput."""
    figures = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--parts", "batch", "--targets", "21", "--json", str(figures)],
                         capture_output=True, text=True, timeout=120, env=script_environment())
    assert run.returncode == 2 and f"--targets 21: {REPO / 'protocols' / 'hc18_single.csv'} has 20 targets" in run.stderr
    assert not figures.exists() and run.stdout == ""


def linked_shared_data(folder, shared_data, names):
    """A shared data folder holding ``names`` (paths in it) as links to the real files."""
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(shared_data / name)
    return folder


def run_on(data, *arguments):
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=300,
                          env={**script_environment(), "RAU_SHARED_DATA": str(data)})


def test_a_file_of_the_batch_manifest_missing_is_one_line_exit_2_before_anything_runs(tmp_path, shared_data):
    """Before: the up-front check knew only HC18 012/058 and the CTs, so with those alone ``--parts batch`` ended in a
    traceback (exit 1) naming a copy of the manifest in a temporary folder already deleted."""
    segment_pair = [f"hc18_fetal_head_us/{path}" for n in ("012", "058") for path in (f"images/{n}_HC.png", f"masks/{n}_HC_mask.png")]
    data = linked_shared_data(tmp_path / "data", shared_data, [*segment_pair, *protocol_files(REPO / "protocols" / "totalseg_ct.csv")])
    figures = tmp_path / "figures.json"
    run = run_on(data, "--parts", "batch", "--json", str(figures))
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"bench_serve_batch.py: error: shared data {data}: lacks hc18_fetal_head_us/images/008_HC.png and ")
    assert not figures.exists()


def test_a_failed_batch_target_stops_the_script_naming_it_with_no_figures_written(tmp_path, shared_data):
    """Before: ``rau batch``'s exit status was recorded, never checked: a target that failed counted as done in
    ``targets_per_minute``, the JSON was written and the script exited 0."""
    manifest = REPO / "protocols" / "hc18_single.csv"
    every_file = [*protocol_files(manifest), *protocol_files(REPO / "protocols" / "totalseg_ct.csv")]
    data = linked_shared_data(tmp_path / "data", shared_data, every_file)
    broken = data / "hc18_fetal_head_us" / "images" / "058_HC.png"  # the manifest's first target
    broken.unlink()
    broken.write_text("not a png")
    figures = tmp_path / "figures.json"
    run = run_on(data, "--parts", "batch", "--targets", "1", "--json", str(figures))
    assert run.returncode == 1 and "targets_per_minute" not in run.stdout, run.stderr  # no figures printed either
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith(f"bench_serve_batch.py: error: part batch: rau batch --limit 1 --workers 1 over {manifest} exited 1; "
                              f"failed: {broken}: not a readable image"), message
    assert message.endswith("; no figures written") and not figures.exists()
