"""SAM2 segmenter benchmark on CPU with the real sam2.1 tiny and base-plus architectures (random weights).

    python benchmarks/bench_sam2.py --json sam2.json [--image-size 1024]

Writes ``overhead_ratio``, ``structures_20_vs_1``, ``reprompt_vs_first``, ``memory_256_vs_32`` and
``per_frame_seconds`` per model size (plus end-to-end seconds of a 2D and a 64-slice case). Random
weights cost the same as trained ones. ``--image-size`` is SAM2's frame size; the default 512 (real
checkpoints use 1024, about 4x the per-frame cost) keeps the run under ~10 minutes on 2 cores.
Memory runs each go in a fresh process and report the peak resident-memory growth during ``segment`` (Linux).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ARCHITECTURES = {  # facebook/sam2.1-hiera-* backbones
    "tiny": dict(hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 7, 2], embed_dim_per_stage=[96, 192, 384, 768],
                 num_attention_heads_per_stage=[1, 2, 4, 8], global_attention_blocks=[5, 7, 9], window_positional_embedding_background_size=[7, 7]),
    "base-plus": dict(hidden_size=112, num_attention_heads=2, blocks_per_stage=[2, 3, 16, 3], embed_dim_per_stage=[112, 224, 448, 896],
                      num_attention_heads_per_stage=[2, 4, 8, 16], global_attention_blocks=[12, 16, 20], window_positional_embedding_background_size=[14, 14]),
}


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


class Timed:
    """Wraps the model to add up the seconds spent in its own forward calls."""

    def __init__(self, model):
        self.model, self.config, self.device, self.dtype, self.seconds = model, model.config, model.device, model.dtype, 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.model(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def run(folder: Path, request, timed: bool = False):
    """(result, seconds, model-forward seconds) of one segment call, model loaded beforehand."""
    from rau.sam2.segmenter import Sam2Segmenter

    segmenter = Sam2Segmenter(str(folder), device="cpu")
    wrapped = Timed(segmenter.model)
    segmenter._model = wrapped if timed else wrapped.model
    started = time.perf_counter()
    result = segmenter.segment(request, None)
    return result, time.perf_counter() - started, wrapped.seconds


def memory_growth(folder: Path, slices: int) -> float:
    """Resident-memory growth (MB) during one segment call over ``slices`` slices, in a fresh process."""
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); sys.path.insert(0, %r)\n"
        "from bench_sam2 import case, run\nfrom pathlib import Path\nimport torch; torch.set_num_threads(2)\n"
        "request = case(%d, 1)\nfrom rau.sam2.segmenter import Sam2Segmenter\n"
        "status = lambda key: int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1])\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak (VmHWM) to the current size\n"
        "before = status('VmRSS')\nrun(Path(%r), request)\nprint((status('VmHWM') - before) / 1024)\n"
    ) % (str(Path(__file__).parent), slices, str(folder))
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="output JSON file")
    parser.add_argument("--image-size", type=int, default=512, help="SAM2 frame size (real checkpoints: 1024)")
    parser.add_argument("--slices", type=int, default=64, help="slices of the 3D case")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(2)
    figures = {"image_size": args.image_size, "device": "cpu", "per_frame_seconds": {}, "end_to_end_seconds": {}}
    with tempfile.TemporaryDirectory() as temporary:
        folders = {name: save_model(name, args.image_size, Path(temporary)) for name in ARCHITECTURES}
        for name, folder in folders.items():
            run(folder, case(1, 1))  # warm-up
            two_d, two_d_seconds, _ = run(folder, case(1, 1))
            volume, volume_seconds, _ = run(folder, case(args.slices, 1))
            frames = volume.details["frames_encoded"]
            figures["per_frame_seconds"][name] = round(volume_seconds / frames, 3)
            figures["end_to_end_seconds"][name] = {"2d": round(two_d_seconds, 3), f"3d_{args.slices}_slices": round(volume_seconds, 2)}
            print(name, figures["per_frame_seconds"][name], "s/frame;", figures["end_to_end_seconds"][name], flush=True)

        tiny = folders["tiny"]
        _, total, model_seconds = run(tiny, case(16, 1), timed=True)
        figures["overhead_ratio"] = round(total / model_seconds, 3)
        one, one_seconds, _ = run(tiny, case(16, 1))
        twenty, twenty_seconds, _ = run(tiny, case(16, 20))
        figures["structures_20_vs_1"] = round(twenty_seconds / one_seconds, 3)
        figures["frames_encoded_1_vs_20"] = [one.details["frames_encoded"], twenty.details["frames_encoded"]]
        print("overhead", figures["overhead_ratio"], "20 vs 1", figures["structures_20_vs_1"], flush=True)

        from rau.engines.base import Prompt

        first, first_seconds, _ = run(tiny, case(1, 1))
        started = time.perf_counter()
        first.session.reprompt(first.structures[0].structure.name, Prompt(points=[(20, 20, 0)], labels=[1]))
        figures["reprompt_vs_first"] = round((time.perf_counter() - started) / first_seconds, 4)
        print("reprompt", figures["reprompt_vs_first"], flush=True)

        small, large = memory_growth(tiny, 32), memory_growth(tiny, 256)
        figures["memory_growth_mb"] = {"32": round(small, 1), "256": round(large, 1)}
        figures["memory_256_vs_32"] = round(large / max(small, 1e-6), 3)
        print("memory", figures["memory_growth_mb"], figures["memory_256_vs_32"], flush=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
