"""benchmarks/bench_accuracy.py: the plain baselines' sampling share is an option, recorded with the figures."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, script_environment


def bench(*arguments):
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_accuracy.py"), *map(str, arguments)],
                          cwd=REPO, env=script_environment(), capture_output=True, text=True, timeout=300)


def test_the_baselines_sampling_share_changes_their_fit_and_is_recorded(tmp_path, shared_data):
    figures = {}
    for sampling in ("0.01", "0.2"):
        out = tmp_path / f"{sampling}.json"
        run = bench("protocols/hc18_single.csv", "--limit", 1, "--methods", "affine", "--baseline-sampling", sampling, "--json", out)
        assert run.returncode == 0, run.stderr
        figures[sampling] = json.loads(out.read_text())[0]
    assert figures["0.01"]["baseline_sampling"] == 0.01 and figures["0.2"]["baseline_sampling"] == 0.2
    assert figures["0.01"]["methods"]["affine"]["mean_dice"] != figures["0.2"]["methods"]["affine"]["mean_dice"]


def test_a_sampling_share_out_of_range_is_refused(tmp_path):
    run = bench("protocols/hc18_single.csv", "--baseline-sampling", "0")
    assert run.returncode == 2
    assert "--baseline-sampling must be above 0 and at most 1, got 0.0" in run.stderr
