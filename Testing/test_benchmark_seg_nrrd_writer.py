"""benchmarks/bench_seg_nrrd_writer.py refuses counts and grid sizes it cannot run, naming the option."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, script_environment


@pytest.mark.parametrize("arguments, said", [
    (("--structures", "0"), "argument --structures: must be at least 1, got '0'"),  # before: ZeroDivisionError
    (("--structures", "5", "--size", "48"), "argument --size: must be from 61 to 512, got '48'"),  # before: ValueError (low >= high)
])
def test_counts_and_sizes_it_cannot_run_are_refused(arguments, said):
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_seg_nrrd_writer.py"), *arguments], capture_output=True,
                         text=True, timeout=60, env=script_environment())
    assert run.returncode == 2 and run.stdout == "" and said in run.stderr and "Traceback" not in run.stderr, run.stderr
