"""benchmarks/bench_accuracy.py: the plain baselines' sampling share is an option, recorded with the figures; bad options exit 2."""

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


def test_bad_options_and_manifests_are_refused_naming_them(tmp_path):
    for arguments, message in ((("--baseline-sampling", "0"), "--baseline-sampling must be above 0"),
                               (("--limit", "0"), "argument --limit: must be at least 1"),  # before: NaN figures
                               (("--methods", "bogus"), "invalid choice: 'bogus'"),  # before: a traceback about ants
                               (("--fusion", "bogus"), "invalid choice: 'bogus'")):
        run = bench("protocols/hc18_single.csv", *arguments)
        assert run.returncode == 2 and message in run.stderr, (arguments, run.stderr)
    run = bench(tmp_path / "gone.csv")
    assert run.returncode == 2 and f"manifest {tmp_path / 'gone.csv'} does not exist" in run.stderr and "Traceback" not in run.stderr
