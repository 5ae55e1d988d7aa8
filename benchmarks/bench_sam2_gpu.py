"""SAM2 on a CUDA GPU (bfloat16): seconds per frame and the cost of 20 structures against 1.

    python benchmarks/bench_sam2_gpu.py --json OUT [--slices 64]

Real sam2.1 hiera-tiny and hiera-base-plus architectures with random weights (as in
``bench_sam2.py``, whose model and case builders this reuses), 1024 px frames, a synthetic
``--slices`` volume; each figure is the second of two identical runs (the first warms up CUDA).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench_sam2 import case, save_model


def timed_run(folder: Path, request) -> tuple[float, float]:
    """Seconds of a warm segment call on the GPU, and the peak GPU memory (GiB) of that call."""
    import torch

    from rau.options import EngineOptions
    from rau.sam2.segmenter import Sam2Segmenter

    sam2 = Sam2Segmenter.from_options(EngineOptions(sam2_model=str(folder), device="cuda"))
    sam2.segment(request, None)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = sam2.segment(request, None)
    torch.cuda.synchronize()
    assert all(item.found for item in result.structures), "every synthetic structure should be segmented"
    return time.perf_counter() - started, torch.cuda.max_memory_allocated() / 2**30


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", required=True)
    parser.add_argument("--slices", type=int, default=64)
    args = parser.parse_args()
    figures = {"device": torch.cuda.get_device_name(0), "slices": args.slices, "image_size": 1024}
    with tempfile.TemporaryDirectory() as folder:
        for size in ("tiny", "base-plus"):
            model = save_model(size, 1024, Path(folder))
            one, one_memory = timed_run(model, case(args.slices, 1))
            twenty, twenty_memory = timed_run(model, case(args.slices, 20))
            figures[size] = {
                "seconds_1_structure": round(one, 2),
                "seconds_20_structures": round(twenty, 2),
                "per_frame_seconds": round(one / (args.slices + 1), 4),
                "structures_20_vs_1": round(twenty / one, 2),
                "peak_gpu_gib_1_vs_20": [round(one_memory, 2), round(twenty_memory, 2)],
            }
            print(json.dumps({size: figures[size]}), flush=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
