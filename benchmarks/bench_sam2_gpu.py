"""SAM2 on a CUDA GPU (bfloat16): seconds per frame and the cost of 20 structures against 1.

    python benchmarks/bench_sam2_gpu.py --json OUT [--slices 64]

Real sam2.1 hiera-tiny and hiera-base-plus architectures with random weights (as in
``bench_sam2.py``, whose model and case builders this reuses), 1024 px frames. Two workloads:
a synthetic ``--slices`` volume (``structures_20_vs_1``) and the realistic one of ``bench_sam2.py``
(the bundled TotalSegmentator CT pair, structures at their true extents: ``structures_20_vs_1_realistic``).
Each figure is the second of two identical runs (the first warms up CUDA).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench_sam2 import case, median_extent_structure, realistic_case, save_model
from rau.validation import argument, positive_integer
from figures import json_file, require_cuda, write_json


def timed_run(folder: Path, request, localizations=None) -> tuple[float, float]:
    """Seconds of a warm segment call on the GPU, and the peak GPU memory (GiB) of that call."""
    import torch

    from rau.options import EngineOptions
    from rau.sam2.segmenter import Sam2Segmenter

    sam2 = Sam2Segmenter.from_options(EngineOptions(sam2_model=str(folder), device="cuda"))
    sam2.segment(request, localizations)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = sam2.segment(request, localizations)
    torch.cuda.synchronize()
    assert all(item.found for item in result.structures), "every structure should be segmented (object score head set to present)"
    return time.perf_counter() - started, torch.cuda.max_memory_allocated() / 2**30


def synthetic(model: Path, slices: int) -> dict:
    """The synthetic volume: 1 and 20 boxes spread over ``slices`` slices."""
    one, one_memory = timed_run(model, case(slices, 1))
    twenty, twenty_memory = timed_run(model, case(slices, 20))
    return {
        "seconds_1_structure": round(one, 2),
        "seconds_20_structures": round(twenty, 2),
        "per_frame_seconds": round(one / (slices + 1), 4),
        "structures_20_vs_1": round(twenty / one, 2),
        "peak_gpu_gib_1_vs_20": [round(one_memory, 2), round(twenty_memory, 2)],
    }


def realistic(model: Path) -> dict:
    """TotalSegmentator CT A -> CT B: the median-extent structure alone, then the first 20 structures."""
    request, localizations = realistic_case()
    single = median_extent_structure(localizations, request.target)
    seconds, memory = {}, {}
    for label, names in (("1", [single]), ("20", request.structures[:20])):
        chosen = replace(request, structures=names)
        seconds[label], memory[label] = timed_run(model, chosen, {n: localizations[n] for n in names})
    return {
        "single_structure": single,
        "seconds_1_structure": round(seconds["1"], 2),
        "seconds_20_structures": round(seconds["20"], 2),
        "structures_20_vs_1_realistic": round(seconds["20"] / seconds["1"], 2),
        "peak_gpu_gib_1_vs_20": [round(memory["1"], 2), round(memory["20"], 2)],
    }


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=json_file, required=True)
    parser.add_argument("--slices", type=argument(positive_integer, "--slices"), default=64)
    args = parser.parse_args()
    require_cuda(parser, "SAM2", "bench_sam2.py times the CPU")
    figures = {"device": torch.cuda.get_device_name(0), "slices": args.slices, "image_size": 1024}
    with tempfile.TemporaryDirectory() as folder:
        for size in ("tiny", "base-plus"):
            model = save_model(size, 1024, Path(folder))
            figures[size] = {**synthetic(model, args.slices), "realistic": realistic(model)}
            print(json.dumps({size: figures[size]}), flush=True)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
