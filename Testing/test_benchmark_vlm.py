"""benchmarks/bench_vlm.py: prompt tokens are counted with Qwen2.5-VL's own picture limits, not the tests' tiny cap,
and ``share_outside_models`` means one thing (the 3B request's share) or is left out; --help says what it measures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, script_environment

sys.path.insert(0, str(REPO / "benchmarks"))  # as running a benchmark puts it (it imports figures from there)


def test_the_benchmark_shows_the_tiny_qwen_pictures_as_qwen2_5_vl_sizes_them(tmp_path, monkeypatch):
    """Before: the benchmark's tiny Qwen had the tests' processor cap (64 merged patches), so a 512x512 pair counted
    544 prompt tokens where Qwen2.5-VL counts 1062 (README), and ``--skip-3b`` wrote ``share_outside_models`` as
    outside / tiny total, not outside / (outside + 3B). The runs themselves are stubbed (the full run takes minutes)."""
    pytest.importorskip("torchvision")
    import bench_vlm
    import tiny_sam2

    from rau.models.loader import ModelSource
    from rau.vlm.families import QWEN2_5_VL
    from rau.vlm.local import model_family

    families = []

    def stubbed_figures(tiny_qwen, tiny_sam2):
        families.append(model_family(ModelSource(str(tiny_qwen))))  # as the production loader sizes pictures
        return {"seconds_total_tiny_2d": 2.0, "seconds_outside_models_2d": 1.0}

    monkeypatch.setattr(bench_vlm, "pipeline_figures", stubbed_figures)
    monkeypatch.setattr(tiny_sam2, "save_tiny_sam2", lambda folder, presence: folder)
    monkeypatch.setattr(sys, "argv", ["bench_vlm.py", "--skip-3b", "--json", str(tmp_path / "vlm.json")])
    assert bench_vlm.main() == 0
    assert families == [QWEN2_5_VL]
    assert "share_outside_models" not in json.loads((tmp_path / "vlm.json").read_text())


def test_the_help_describes_the_benchmark_in_a_full_sentence():
    """Before: --help showed the docstring's first line, cut mid-sentence after 'the 3D key-slice case),'."""
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_vlm.py"), "--help"], capture_output=True, text=True,
                         timeout=120, env=script_environment())
    description = run.stdout.split("\n\n")[1].replace("\n", " ")
    assert run.returncode == 0 and description.startswith("VLM engine figures:") and description.endswith("CPU time."), run.stdout
