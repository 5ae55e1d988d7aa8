"""benchmarks/bench_sam2.py (and bench_sam2_gpu.py, which shares its helpers): what the realistic ratio runs."""

from __future__ import annotations

import sys

import numpy as np
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # as running a benchmark puts it (they import each other from there)


def test_the_single_structure_is_the_one_of_median_extent_not_the_first_by_name():
    """Before: the extent was counted from ``slice_boxes``, which registration localizations no longer fill (they hold
    the voxels): every extent was 0 and the name picked ``rib_left_7`` where the README reports ``liver``."""
    from bench_sam2 import median_extent_structure

    from rau.engines.registration import localization_from
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import StructureResult

    target = Image(np.zeros((9, 8, 8), np.float32), (1.0, 1.0, 3.0))  # slices along k, the coarsest axis
    localizations = {}
    for value, (name, slices) in enumerate((("a_long", 9), ("b_short", 1), ("c_middle", 5)), 1):
        mask = np.zeros(target.shape, bool)
        mask[:slices, 2:5, 2:5] = True
        localizations[name] = localization_from(StructureResult(Structure(name, value), mask, 1.0, "truth"))
    assert median_extent_structure(localizations, target) == "c_middle"


def test_a_frame_size_the_backbone_cannot_take_is_refused_naming_the_option(tmp_path):
    """Before: ``--realistic-image-size 100`` built a model and ended in torch's "size of tensor a (25) must match the
    size of tensor b (24)"; sizes that are multiples of 32 (1024, 64, 128 ...) run."""
    import subprocess

    from conftest import script_environment

    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_sam2.py"), "--json", str(tmp_path / "sam2.json"),
                          "--realistic-image-size", "100", "--only-realistic"],
                         cwd=REPO, env=script_environment(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "argument --realistic-image-size: must be a multiple of 32" in run.stderr, run.stderr
