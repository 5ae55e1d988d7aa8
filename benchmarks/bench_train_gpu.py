"""LoRA SFT throughput of the real Qwen2.5-VL architectures (random weights) through ``rau train sft``'s code.

For each ``--size``: writes a random-weight model folder (real layer sizes, a small
local tokenizer, the real Qwen2.5-VL processor), builds synthetic 2D pairs (three
ellipse "organs" per 512x512 image) with ``rau.train.build``, runs
:func:`rau.train.sft.run_sft` for ``--steps`` steps and reports samples per second
(steady state, after ``--warmup`` steps) and peak GPU memory. ``--json OUT`` writes
the figures. ``--size tiny --steps 3 --warmup 1`` checks the script on a CPU (about a minute);
3b and 7b are refused (exit 2) on a machine without a CUDA GPU.

    python benchmarks/bench_train_gpu.py --size 3b 7b --steps 100 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from figures import json_file, require_cuda, write_json
from rau.validation import argument, positive_integer

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "RAUSlicer" / "Logic"), str(ROOT / "Testing")]

SIZES = {  # Qwen2.5-VL-3B / 7B-Instruct config.json values
    "3b": dict(text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2, tie_word_embeddings=True),
               vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=2048)),
    "7b": dict(text=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4, tie_word_embeddings=False),
               vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584)),
    "tiny": dict(text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False),
                 vision=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64)),
}


def write_model(folder: Path, size: str, device: str) -> Path:
    """A random-weight Qwen2.5-VL of ``size`` with the real processor and a locally trained tokenizer."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from tiny_qwen import CHAT_TEMPLATE, SPECIAL_TOKENS, train_tokenizer

    tokenizer = train_tokenizer(folder)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    spec = SIZES[size]
    heads = spec["text"]["num_attention_heads"]
    half = spec["text"]["hidden_size"] // heads // 2  # mrope sections split the rotary half
    mrope = [half // 4, half * 3 // 8, half - half // 4 - half * 3 // 8]
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=151936 if size != "tiny" else len(tokenizer), max_position_embeddings=32768, rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": mrope},
                         eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"], **spec["text"]),
        vision_config=dict(patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[7, 15, 23, 31] if spec["vision"]["depth"] == 32 else [1], **spec["vision"]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=spec["text"]["tie_word_embeddings"],
    )
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16 if device == "cuda" else torch.float32)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.save_pretrained(folder)
    parameters = sum(p.numel() for p in model.parameters())
    del model
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=4 * 28 * 28, max_pixels=1024 * 28 * 28),
                                    video_processor=Qwen2VLVideoProcessor(), tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(folder)
    return parameters


def write_synthetic_dataset(folder: Path, subjects: int = 12, side: int = 512) -> Path:
    """PNG images with three ellipse structures at subject-specific places, and a manifest CSV."""
    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:side, :side]
    lines = ["subject,image,labels,label_table"]
    (folder / "table.csv").write_text("value,name\n1,liver\n2,spleen\n3,kidney\n", encoding="utf-8")
    for number in range(subjects):
        labels = np.zeros((side, side), np.uint8)
        image = rng.normal(60, 20, (side, side))
        for value in (1, 2, 3):
            cy, cx = rng.uniform(0.25, 0.75, 2) * side
            ry, rx = rng.uniform(0.06, 0.15, 2) * side
            inside = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
            labels[inside] = value
            image[inside] += 40 * value
        PILImage.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"s{number}.png")
        PILImage.fromarray(labels).save(folder / f"s{number}_labels.png")
        lines.append(f"s{number},s{number}.png,s{number}_labels.png,table.csv")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "manifest.csv"


def measure(size: str, steps: int, warmup: int, batch_size: int, work: Path) -> dict:
    import torch
    from transformers import TrainerCallback

    from rau.models.loader import ModelSource
    from rau.train.build import build_pairs
    from rau.train.pairs import PairOptions
    from rau.train.run import FineTuneSettings
    from rau.train.sft import run_sft
    from rau.vlm.local import model_family

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model_dir, data_dir = work / f"model-{size}", work / "data"
    model_dir.mkdir(), data_dir.mkdir(exist_ok=True)
    started = time.perf_counter()
    parameters = write_model(model_dir, size, device)
    manifest = data_dir / "manifest.csv" if (data_dir / "manifest.csv").exists() else write_synthetic_dataset(data_dir)
    pairs = work / f"pairs-{size}"
    card = build_pairs(manifest, pairs, model_family(ModelSource(str(model_dir))), PairOptions(references_per_target=4), val_fraction=0, seed=0)
    setup_seconds = time.perf_counter() - started
    times = {}

    class StepClock(TrainerCallback):
        def on_step_end(self, args, state, control, **_):
            if device == "cuda":
                torch.cuda.synchronize()
            times[state.global_step] = time.perf_counter()

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    settings = FineTuneSettings(model=str(model_dir), data=str(pairs), out=str(work / f"adapter-{size}"), max_steps=steps,
                                    batch_size=batch_size, logging_steps=max(1, steps // 10), save_steps=10**6, eval_steps=0, device=device)
    run_sft(settings, [StepClock()])
    measured = [s for s in times if s > warmup]
    seconds = times[max(measured)] - times[warmup] if measured else float("nan")
    tokens = [json.loads(line).get("num_tokens") for line in open(work / f"adapter-{size}" / "log.jsonl", encoding="utf-8")]
    return {
        "size": size, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "parameters": parameters,
        "questions": card["splits"]["train"]["questions"], "steps": steps, "batch_size": batch_size,
        "samples_per_second": round(len(measured) * batch_size / seconds, 3),
        "seconds_per_step": round(seconds / len(measured), 4) if measured else None,
        "tokens_trained": max((t for t in tokens if t), default=None),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device == "cuda" else None,
        "setup_seconds": round(setup_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs="+", default=["3b"], choices=sorted(SIZES))
    parser.add_argument("--steps", type=argument(positive_integer, "--steps"), default=100)
    parser.add_argument("--warmup", type=argument(positive_integer, "--warmup"), default=5, help="steps not timed (at least 1)")
    parser.add_argument("--batch-size", type=argument(positive_integer, "--batch-size"), default=4)
    parser.add_argument("--json", type=json_file, help="write the results here")
    args = parser.parse_args()
    if args.warmup >= args.steps:
        parser.error(f"--warmup {args.warmup} leaves no timed step of --steps {args.steps}")
    if set(args.size) - {"tiny"}:  # before: 3b and 7b trained on the CPU, a 15 GB model left in a temporary folder
        require_cuda(parser, "--size 3b and 7b", "--size tiny checks the script on the CPU")
    results = []
    with tempfile.TemporaryDirectory() as work:
        for size in args.size:
            results.append(measure(size, args.steps, args.warmup, args.batch_size, Path(work)))
            print(json.dumps(results[-1]), flush=True)
            if args.json:
                write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
