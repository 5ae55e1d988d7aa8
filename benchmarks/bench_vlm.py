"""VLM engine figures: calls per target, prompt tokens, time outside the models and a 3B request's CPU time.

Prompt tokens are counted for a 2D 512x512 target and the 3D key-slice case; the CPU time is that of one
request with the real Qwen2.5-VL-3B architecture (random weights, bfloat16).

    python benchmarks/bench_vlm.py --json vlm.json [--skip-3b]

Runs on the CPU with no downloads: the tiny models of ``Testing/`` stand in for token counting and
pipeline timing (rendering, parsing, mapping and SAM2 framing do not depend on model size), the tiny Qwen with
Qwen2.5-VL's own picture limits (the tests' tiny Qwen shows smaller pictures); the 3B request uses the tiny
tokenizer, so its text tokens are fewer than the real tokenizer's, while its image tokens (the bulk) are exact.
The tiny Qwen's random answer is replaced by the true boxes of the asked structures (its time still counts as the
model's), so each structure is mapped and segmented by SAM2; SAM2's time is that inside its top-level modules.
``cpu_seconds_outside_models_*`` is the same in CPU seconds of all threads (other jobs on the machine change it less).
``share_outside_models`` (time outside the models / end to end with the 3B request) is left out with ``--skip-3b``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))

from rau.engines import Request, create_engine  # noqa: E402
from rau.engines.base import Progress, Reference  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure, default_color  # noqa: E402
from rau.vlm.backend import Reply  # noqa: E402
from rau.vlm.families import QWEN2_5_VL  # noqa: E402
from rau.vlm.prompts import localization_answer  # noqa: E402
from figures import json_file, write_json  # noqa: E402
from module_clock import ModuleClock  # noqa: E402

NAMES = ["liver", "spleen", "left kidney", "right kidney"]
SHIFT = (7, 9)
"""Rows and columns the target is rolled by from the reference."""


def synthetic_pair(ndim: int, seed: int) -> tuple[Reference, Image]:
    """A 512x512 (2D) or 24x512x512 (3D) image with four blob structures, and a shifted target."""
    rng = np.random.default_rng(seed)
    depth = 1 if ndim == 2 else 24
    k, j, i = np.mgrid[0:depth, 0:512, 0:512]
    centres = [(0.5, 150, 300), (0.5, 140, 120), (0.45, 330, 330), (0.55, 330, 170)]
    masks, array = {}, rng.normal(0, 10, (depth, 512, 512))
    for name, (ck, cj, ci) in zip(NAMES, centres):
        inside = ((j - cj) / 60) ** 2 + ((i - ci) / 50) ** 2 + ((k - ck * (depth - 1)) / max(depth / 3, 1)) ** 2 < 1
        masks[name] = inside
        array += 80 * inside
    labels = LabelSet(tuple(Structure(n, v, default_color(v)) for v, n in enumerate(NAMES, start=1)))
    image = Image(array.astype(np.float32), (0.8, 0.8, 2.5), ndim=ndim)
    reference = Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, masks))
    target = image.with_array(np.roll(array, SHIFT, axis=(1, 2)).astype(np.float32))
    return reference, target


class Timed:
    """Wraps a backend, adding up the seconds (wall and CPU of all threads) and prompt tokens of its calls."""

    def __init__(self, backend):
        self.backend, self.seconds, self.cpu_seconds, self.prompt_tokens = backend, 0.0, 0.0, []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, messages, max_new_tokens):
        started, cpu = time.perf_counter(), time.process_time()
        reply = self.backend.generate(messages, max_new_tokens)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu
        self.prompt_tokens.append(reply.prompt_tokens)
        return reply


def true_boxes(reference: Reference) -> dict[str, list[int]]:
    """Each structure's box on the target (its reference mask over all slices, moved by :data:`SHIFT`) in
    Qwen2.5-VL's coordinates: what a perfect VLM answers."""
    boxes = {}
    for name in NAMES:
        mask = np.roll(reference.segmentation.mask(name), SHIFT, axis=(1, 2)).any(axis=0)
        rows, cols = np.nonzero(mask)
        boxes[name] = QWEN2_5_VL.to_model((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), (mask.shape[1], mask.shape[0]))
    return boxes


class TrueAnswers:
    """Wraps a backend: the model still answers (and takes its time), but the reply is the true boxes of the asked
    structures (the tiny random model's own answer is cut at its token limit and parses as nothing)."""

    def __init__(self, backend, boxes: dict[str, list[int]]):
        self.backend, self.boxes = backend, boxes

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, messages, max_new_tokens):
        reply = self.backend.generate(messages, max_new_tokens)
        task = messages[-1]["content"][-1]["text"]  # "For each of these reference structures: 1: liver, 2: spleen, ..."
        asked = {name: box for name, box in self.boxes.items() if f": {name}," in task}
        return Reply(localization_answer(asked), reply.prompt_tokens, reply.completion_tokens)


def pipeline_figures(tiny_qwen: Path, tiny_sam2: Path) -> dict:
    """Calls, prompt tokens, and the share of a tiny-model ``rau`` run spent outside both models; exits naming the
    structures when one is not found (then no box was mapped and segmented, and the time says nothing)."""
    import torch

    figures = {}
    for ndim in (2, 3):
        reference, target = synthetic_pair(ndim, seed=ndim)
        engine = create_engine("rau", {"vlm_model": str(tiny_qwen), "sam2_model": str(tiny_sam2), "device": "cpu"})
        engine.localizer.backend = timed = Timed(TrueAnswers(engine.localizer.backend, true_boxes(reference)))
        engine.run(Request([reference], target), Progress())  # warm-up: loads SAM2, first-call costs
        timed.seconds, timed.cpu_seconds, timed.prompt_tokens = 0.0, 0.0, []
        sam2 = ModuleClock(engine.segmenter.model)
        started, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            result = engine.run(Request([reference], target), Progress())
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
        missed = [f"{item.structure.name} ({item.message})" for item in result.structures if not item.found]
        if missed:
            sys.exit(f"bench_vlm.py: error: the {ndim}D run found no {', '.join(missed)}: nothing timed; no figures written")
        key = f"{ndim}d"
        figures[f"vlm_calls_{key}"] = len(timed.prompt_tokens)
        figures[f"prompt_tokens_{key}"] = int(np.mean(timed.prompt_tokens))
        figures[f"structures_found_{key}"] = len(result.structures)
        figures[f"seconds_total_tiny_{key}"] = round(total, 3)
        figures[f"seconds_vlm_tiny_{key}"] = round(timed.seconds, 3)
        figures[f"seconds_sam2_tiny_{key}"] = round(sam2.seconds, 3)
        figures[f"seconds_outside_models_{key}"] = round(total - timed.seconds - sam2.seconds, 3)
        figures[f"cpu_seconds_outside_models_{key}"] = round(total_cpu - timed.cpu_seconds - sum(sam2.cpu_modules.values()), 3)  # all threads
    figures["vlm_calls_per_target"] = figures["vlm_calls_2d"]
    return figures


def qwen_3b_seconds(tiny_qwen: Path, max_new_tokens: int = 8) -> dict:
    """CPU seconds of one 2D 512x512 localization request with the Qwen2.5-VL-3B architecture (random bf16)."""
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from rau.render import render_overlay, render_plain
    from rau.vlm.local import TransformersBackend
    from rau.vlm.prompts import localization_messages

    tiny = Qwen2_5_VLConfig.from_pretrained(tiny_qwen)
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
            num_attention_heads=16, num_key_value_heads=2, max_position_embeddings=128000, tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
            eos_token_id=tiny.eos_token_id, pad_token_id=tiny.pad_token_id,
        ),
        vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=2048,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[7, 15, 23, 31]),
        image_token_id=tiny.image_token_id, video_token_id=tiny.video_token_id,
        vision_start_token_id=tiny.vision_start_token_id, vision_end_token_id=tiny.vision_end_token_id,
        eos_token_id=tiny.eos_token_id, pad_token_id=tiny.pad_token_id,
    )
    started = time.perf_counter()
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(config)
    model = model.to_empty(device="cpu").to(torch.bfloat16)
    model.tie_weights()  # the 3B ties lm_head to the embeddings (3.75 B parameters)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.02, generator=generator)
        for buffer_name, buffer in model.named_buffers():
            if "inv_freq" in buffer_name:
                dim = buffer.numel() * 2
                base = 1000000.0 if "language" in buffer_name or "rotary_emb" == buffer_name else 10000.0
                buffer.copy_(1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)))
    model.eval()
    build_seconds = time.perf_counter() - started
    backend = TransformersBackend(model, AutoProcessor.from_pretrained(tiny_qwen), QWEN2_5_VL)
    reference, target = synthetic_pair(2, seed=2)
    size = QWEN2_5_VL.model_size(512, 512)
    masks = [reference.segmentation.mask(n)[0] for n in NAMES]
    messages = localization_messages(render_overlay(reference.image.array[0], masks, size), render_plain(target.array[0], size), NAMES, NAMES, QWEN2_5_VL, size)
    started = time.perf_counter()
    reply = backend.generate(messages, max_new_tokens=max_new_tokens)
    return {
        "vlm_3b_cpu_seconds": round(time.perf_counter() - started, 2),
        "vlm_3b_new_tokens": reply.completion_tokens,
        "vlm_3b_prompt_tokens": reply.prompt_tokens,
        "vlm_3b_parameters": sum(p.numel() for p in model.parameters()),
        "vlm_3b_build_seconds": round(build_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_file, required=True, help="where to write the figures")
    parser.add_argument("--skip-3b", action="store_true", help="skip the Qwen2.5-VL-3B request (needs ~8 GB RAM, minutes)")
    args = parser.parse_args()
    from tiny_qwen import build_tiny_qwen
    from tiny_sam2 import save_tiny_sam2

    import torch

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        tiny_qwen = build_tiny_qwen(Path(folder) / "qwen", max_pixels=QWEN2_5_VL.max_pixels)  # not the tests' cap
        tiny_sam2 = save_tiny_sam2(Path(folder) / "sam2", presence="always")
        figures = {"cpu_threads": torch.get_num_threads(), **pipeline_figures(tiny_qwen, tiny_sam2)}
        if not args.skip_3b:
            figures.update(qwen_3b_seconds(tiny_qwen))
            model_seconds = figures["vlm_3b_cpu_seconds"]
            outside = figures["seconds_outside_models_2d"]
            figures["share_outside_models"] = round(outside / (outside + model_seconds), 4)
    write_json(args.json, figures)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
