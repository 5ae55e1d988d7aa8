"""The GPU benchmarks (bench_train_gpu.py, bench_sam2_gpu.py) on a machine without CUDA: refused, exit 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, script_environment

torch = pytest.importorskip("torch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("script, options", [("bench_train_gpu.py", ["--size", "tiny", "3b"]), ("bench_sam2_gpu.py", [])])
def test_gpu_benchmarks_refuse_a_machine_without_cuda(tmp_path, script, options):
    """Before: bench_train_gpu.py --size 3b trained on the CPU, writing a 15 GB float32 model to a temporary folder."""
    (tmp_path / "tmp").mkdir()
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *options, "--json", str(tmp_path / "out.json")],
                         capture_output=True, text=True, timeout=90, env={**script_environment(), "TMPDIR": str(tmp_path / "tmp")})
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "this benchmark times" in run.stderr and "on a CUDA GPU, and this machine has none" in run.stderr, run.stderr
    assert os.listdir(tmp_path) == ["tmp"] and not os.listdir(tmp_path / "tmp")
