"""SAM2 segmenter benchmark on CPU with the real sam2.1 tiny and base-plus architectures (random weights).

    python benchmarks/bench_sam2.py --json sam2.json [--image-size 1024 --slices 3 --memory-image-size 64]

Writes ``overhead_ratio``, ``structures_20_vs_1``, ``structures_20_vs_1_realistic`` (and its CPU-time twin
``structures_20_vs_1_realistic_cpu``), ``reprompt_vs_first``, ``memory_256_vs_32`` and
``per_frame_seconds`` per model size (plus end-to-end seconds of a 2D and a ``--slices`` 3D case), and the
settings each figure used (``settings``) and the seconds spent in each top-level SAM2 module
in the 1- and 20-structure runs. Random weights cost the same as trained ones.
``--image-size`` is SAM2's frame size (real checkpoints: 1024) for every timing and ratio; the memory
ratio measures growth with the number of slices, in fresh processes, with frames of ``--memory-image-size``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from rau.errors import OptionError
from rau.models.inference import THREADS_VARIABLE
from rau.validation import argument, positive_integer
from figures import json_file, write_json
from module_clock import ModuleClock

CT = Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic" / "rau" / "sample_data" / "totalseg_ct"  # the bundled TotalSegmentator pair

ARCHITECTURES = {  # facebook/sam2.1-hiera-* backbones
    "tiny": dict(hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 7, 2], embed_dim_per_stage=[96, 192, 384, 768],
                 num_attention_heads_per_stage=[1, 2, 4, 8], global_attention_blocks=[5, 7, 9], window_positional_embedding_background_size=[7, 7]),
    "base-plus": dict(hidden_size=112, num_attention_heads=2, blocks_per_stage=[2, 3, 16, 3], embed_dim_per_stage=[112, 224, 448, 896],
                      num_attention_heads_per_stage=[2, 4, 8, 16], global_attention_blocks=[12, 16, 20], window_positional_embedding_background_size=[14, 14]),
}


FRAME_STRIDE = 32
"""The backbone's total stride: a frame size it takes is a multiple of it (others end in a torch size mismatch)."""


def frame_size(value, option: str) -> int:
    """``--...-image-size``: a positive multiple of :data:`FRAME_STRIDE`, else :class:`OptionError` naming ``option``."""
    size = positive_integer(value, option)
    if size % FRAME_STRIDE:
        raise OptionError(f"{option} must be a multiple of {FRAME_STRIDE} (the SAM2 backbone's stride), got {value!r}")
    return size


def save_model(size_name: str, image_size: int, folder: Path) -> Path:
    """A random-weight SAM2 video model with a real backbone, saved like a checkpoint."""
    import torch
    from transformers import Sam2VideoConfig, Sam2VideoModel
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    arch = ARCHITECTURES[size_name]
    backbone = Sam2HieraDetConfig(image_size=[image_size, image_size], window_size_per_stage=[8, 4, 14, 7], **arch)
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=list(reversed(arch["embed_dim_per_stage"])),
        backbone_feature_sizes=[[image_size // s] * 2 for s in (4, 8, 16)],
    )
    config = Sam2VideoConfig(
        vision_config=vision, prompt_encoder_config=dict(image_size=image_size), image_size=image_size,
        memory_attention_rope_feat_sizes=[image_size // 16] * 2,
    )
    torch.manual_seed(0)
    model = Sam2VideoModel(config).eval()
    head = model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():  # object always present, so propagation covers every slice as with a real organ
        head.weight.zero_()
        head.bias.fill_(20.0)
    model.save_pretrained(folder / size_name)
    return folder / size_name


def realistic_case(count: int | None = None):
    """TotalSegmentator CT A as reference, CT B as target, the structures both hold at their true extents in B.

    Each structure is localized by its true per-slice boxes in B (what a perfect registration or VLM would give),
    so SAM2 tracks it only on its own slices plus the margin. ``count``: the first structures by label value
    (None: all 27). Returns (request, localizations).
    """
    from rau.engines.base import Request
    from rau.engines.registration import localization_from
    from rau.references import load_reference
    from rau.result import StructureResult

    reference = load_reference(CT / "subjA_image.nii.gz", CT / "subjA_labels.nii.gz")
    target = load_reference(CT / "subjB_image.nii.gz", CT / "subjB_labels.nii.gz")
    truth = target.segmentation
    shared = [s for s in reference.segmentation.present() if s.name in truth.present().names][:count]
    localizations = {s.name: localization_from(StructureResult(s, truth.mask(s.name), 1.0, "truth")) for s in shared}
    return Request([reference], target.image, [s.name for s in shared]), localizations


def median_extent_structure(localizations: dict, target) -> str:
    """The structure whose localized extent in ``target`` (its slices along the axis SAM2 propagates along) is the
    median one, ties by name: the 1-structure run of the realistic ratio."""
    from rau.sam2.frames import slice_axis
    from rau.sam2.segmenter import localized_extent

    axis = slice_axis(target)

    def extent(name: str) -> int:
        first, last = localized_extent(localizations[name], target, axis)
        return last - first

    ranked = sorted(localizations, key=lambda name: (extent(name), name))
    return ranked[len(ranked) // 2]


def case(slices: int, structures: int, size: int = 128, seed: int = 0):
    """A synthetic reference/target pair: ``structures`` boxes spread over ``slices`` slices."""
    from rau.engines.base import Reference, Request
    from rau.image import Image
    from rau.labels import Segmentation

    rng = np.random.default_rng(seed)
    ndim = 2 if slices == 1 else 3
    shape = (slices, size, size)
    labels = np.zeros(shape, np.uint8)
    for value in range(1, structures + 1):
        k = (value * 7) % slices
        row, col = (value * 13) % (size - 20), (value * 29) % (size - 20)
        labels[max(0, k - 3) : k + 4, row : row + 16, col : col + 16] = value
    reference = Image(rng.normal(size=shape).astype(np.float32), spacing=(1, 1, 3), ndim=ndim)
    target = Image(rng.normal(size=shape).astype(np.float32), spacing=(1, 1, 3), ndim=ndim)
    return Request([Reference(reference, Segmentation.from_label_map(reference.with_array(labels)))], target)


def segmenter(folder: Path):
    """A segmenter with its model loaded (loading is not timed)."""
    from rau.options import EngineOptions
    from rau.sam2.segmenter import Sam2Segmenter

    result = Sam2Segmenter.from_options(EngineOptions(sam2_model=str(folder), device="cpu"))
    result.model
    return result


def run(folder: Path, request, clock: bool = False, localizations=None):
    """(result, seconds, :class:`ModuleClock` or None, CPU seconds of all threads) of one segment call."""
    sam2 = segmenter(folder)
    modules = ModuleClock(sam2.model) if clock else None
    started, cpu = time.perf_counter(), time.process_time()
    result = sam2.segment(request, localizations)
    return result, time.perf_counter() - started, modules, time.process_time() - cpu


def realistic(folder: Path) -> dict:
    """Seconds with 1 (the median-extent one) and 20 TotalSegmentator structures at their true extents, and their ratio.

    Also their CPU seconds (all threads) and its ratio: with ``--threads 1`` that ratio does not depend on other
    load on the machine (with more threads it counts threads waiting for each other).
    """
    from dataclasses import replace

    request, localizations = realistic_case()
    single = median_extent_structure(localizations, request.target)
    figures, seconds, cpu, modules, cpu_modules = {"single_structure": single}, {}, {}, {}, {}
    run(folder, replace(request, structures=[single]), localizations={single: localizations[single]})  # warm-up
    for label, names in (("1", [single]), ("20", request.structures[:20])):
        located = {n: localizations[n] for n in names}
        result, seconds[label], clock, cpu[label] = run(folder, replace(request, structures=names), localizations=located, clock=True)
        modules[label] = {name: round(value, 2) for name, value in clock.modules.items() if value >= 0.01}
        cpu_modules[label] = {name: round(value, 2) for name, value in clock.cpu_modules.items() if value >= 0.01}
        visited = sum(v[1] - v[0] + 1 for v in result.details["slices_visited"].values() if v)
        figures[f"slices_visited_{label}"] = visited
        figures[f"frames_encoded_{label}"] = result.details["frames_encoded"]
        print("realistic", label, "structures", round(seconds[label], 2), "s;", visited, "structure-slices", modules[label], flush=True)
    figures["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    figures["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}  # of all threads
    figures["module_seconds"] = modules
    figures["module_cpu_seconds"] = cpu_modules
    figures["structures_20_vs_1_realistic"] = round(seconds["20"] / seconds["1"], 3)
    figures["structures_20_vs_1_realistic_cpu"] = round(cpu["20"] / cpu["1"], 3)
    return figures


def memory_growth(folder: Path, slices: int) -> float:
    """Peak resident-memory growth (MB) during one segment call over ``slices`` slices, model loaded, in a fresh process."""
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); sys.path.insert(0, %r)\n"
        "from bench_sam2 import case, segmenter\nfrom pathlib import Path\n"
        "request, sam2 = case(%d, 1), segmenter(Path(%r))\n"
        "status = lambda key: int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1])\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak (VmHWM) to the current size\n"
        "before = status('VmRSS')\nsam2.segment(request, None)\nprint((status('VmHWM') - before) / 1024)\n"
    ) % (str(Path(__file__).parent), slices, str(folder))
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, THREADS_VARIABLE: "2"}).stdout
    return float(output.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_file, required=True, help="output JSON file")
    parser.add_argument("--image-size", type=argument(frame_size, "--image-size"), default=1024, help="SAM2 frame size of the timings (real checkpoints: 1024)")
    parser.add_argument("--slices", type=argument(positive_integer, "--slices"), default=3, help="slices of the 3D cases")
    parser.add_argument("--memory-image-size", type=argument(frame_size, "--memory-image-size"), default=64, help="SAM2 frame size of the memory runs")
    parser.add_argument("--realistic-image-size", type=argument(frame_size, "--realistic-image-size"), help="SAM2 frame size of the TotalSegmentator runs (default: --image-size)")
    parser.add_argument("--only-realistic", action="store_true", help="run only the TotalSegmentator (realistic) figures")
    parser.add_argument("--threads", type=argument(positive_integer, "--threads"), default=2, help="torch CPU threads (sets RAU_TORCH_THREADS)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    os.environ[THREADS_VARIABLE] = str(args.threads)  # SAM2 runs torch on this many threads
    size, slices = args.image_size, args.slices
    figures = {"device": "cpu", "threads": args.threads, "per_frame_seconds": {}, "end_to_end_seconds": {}}
    figures["settings"] = {
        "per_frame_seconds": f"{size} px frames, 3D case of {slices} slices, 1 structure: seconds / frames encoded (frames: target slices + reference slice)",
        "overhead_ratio": f"tiny, {size} px, {slices} slices, 1 structure: end-to-end seconds / seconds inside the model's top-level modules",
        "structures_20_vs_1": f"tiny, {size} px, {slices} slices: end-to-end seconds with 20 structures / with 1",
        "reprompt_vs_first": f"tiny, {size} px, 2D, 1 structure: seconds of reprompt (2 points) / seconds of the first segment call",
        "memory_256_vs_32": f"tiny, {args.memory_image_size} px, 1 structure, fresh process per run: peak RSS growth during segment, 256 / 32 slices",
    }
    with tempfile.TemporaryDirectory() as temporary:
        realistic_size = args.realistic_image_size or size
        figures["settings"]["structures_20_vs_1_realistic"] = (
            f"tiny, {realistic_size} px, TotalSegmentator CT A -> CT B (20 slices), true per-slice boxes as localizations, "
            "slice margin 2: end-to-end seconds with the first 20 of the 27 shared structures / with the median-extent one")
        figures["settings"]["structures_20_vs_1_realistic_cpu"] = f"the same runs, CPU seconds (all threads; --threads {args.threads})"
        figures["realistic"] = realistic(save_model("tiny", realistic_size, Path(temporary) / "realistic"))
        figures["structures_20_vs_1_realistic"] = figures["realistic"]["structures_20_vs_1_realistic"]
        figures["structures_20_vs_1_realistic_cpu"] = figures["realistic"]["structures_20_vs_1_realistic_cpu"]
        print("realistic 20 vs 1", figures["structures_20_vs_1_realistic"], flush=True)
        if args.only_realistic:
            figures["settings"] = {k: v for k, v in figures["settings"].items() if "realistic" in k}
            write_json(args.json, {k: v for k, v in figures.items() if v != {}})
            return 0

        folders = {name: save_model(name, size, Path(temporary)) for name in ARCHITECTURES}
        tiny = folders["tiny"]
        run(tiny, case(1, 1))  # warm-up
        for name, folder in folders.items():
            two_d, two_d_seconds, _, _ = run(folder, case(1, 1))
            volume, volume_seconds, modules, _ = run(folder, case(slices, 1), clock=True)
            figures["per_frame_seconds"][name] = round(volume_seconds / volume.details["frames_encoded"], 3)
            figures["end_to_end_seconds"][name] = {"2d": round(two_d_seconds, 2), f"3d_{slices}_slices": round(volume_seconds, 2)}
            print(name, figures["per_frame_seconds"][name], "s/frame;", figures["end_to_end_seconds"][name], flush=True)
            if name == "tiny":
                figures["overhead_ratio"] = round(volume_seconds / modules.seconds, 3)
                one, one_seconds, one_modules = volume, volume_seconds, modules
                print("overhead", figures["overhead_ratio"], flush=True)

        twenty, twenty_seconds, twenty_modules, _ = run(tiny, case(slices, 20), clock=True)
        figures["structures_20_vs_1"] = round(twenty_seconds / one_seconds, 3)
        figures["end_to_end_seconds"]["tiny"][f"3d_{slices}_slices_20_structures"] = round(twenty_seconds, 2)
        figures["frames_encoded_1_vs_20"] = [one.details["frames_encoded"], twenty.details["frames_encoded"]]
        figures["module_seconds_1_vs_20"] = [
            {name: round(value, 2) for name, value in clock.modules.items() if value >= 0.01} for clock in (one_modules, twenty_modules)
        ]
        print("20 vs 1", figures["structures_20_vs_1"], figures["frames_encoded_1_vs_20"], figures["module_seconds_1_vs_20"], flush=True)

        from rau.engines.base import Prompt

        first, first_seconds, _, _ = run(tiny, case(1, 1))
        started = time.perf_counter()
        first.session.reprompt(first.structures[0].structure.name, Prompt(points=[(20, 20, 0), (40, 30, 0)], labels=[1, 0]))
        reprompt_seconds = time.perf_counter() - started
        figures["reprompt_vs_first"] = round(reprompt_seconds / first_seconds, 4)
        figures["reprompt_seconds"] = round(reprompt_seconds, 3)
        print("reprompt", figures["reprompt_vs_first"], round(reprompt_seconds, 3), "s", flush=True)

        small_frames = save_model("tiny", args.memory_image_size, Path(temporary) / "memory")
        small, large = memory_growth(small_frames, 32), memory_growth(small_frames, 256)
        figures["memory_growth_mb"] = {"32": round(small, 1), "256": round(large, 1)}
        figures["memory_256_vs_32"] = round(large / max(small, 1e-6), 3)
        print("memory", figures["memory_growth_mb"], figures["memory_256_vs_32"], flush=True)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
