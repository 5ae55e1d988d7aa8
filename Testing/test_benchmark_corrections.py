"""benchmarks/bench_mixed_clicks.py and bench_box_correction.py: a ``--json`` that cannot be written is refused
(exit 2, naming the option) before the run of minutes, as the other benchmarks refuse it (benchmarks/figures.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, script_environment


@pytest.mark.parametrize("script", ["bench_mixed_clicks.py", "bench_box_correction.py"])
def test_a_folder_given_as_json_is_refused_before_the_run(tmp_path, script):
    """Before: both ran for minutes, then lost every row to an IsADirectoryError."""
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--json", str(tmp_path)],
                         cwd=REPO, env=script_environment(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and f"argument --json: {tmp_path} is a folder; give a file name" in run.stderr
    assert run.stdout == ""
