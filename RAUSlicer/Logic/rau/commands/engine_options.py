"""Command-line options shared by every command that runs an engine."""

from __future__ import annotations

import argparse

from rau.engines import DEFAULT_ENGINE, ENGINES
from rau.fusion import DEFAULT_FUSION, FUSION_METHODS


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and the options engines read (each engine ignores those it does not use)."""
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES), help=f"default: {DEFAULT_ENGINE}")
    group.add_argument("--top-k", type=int, default=None, help="references fused when several are given (default 5)")
    group.add_argument("--fusion", choices=list(FUSION_METHODS), default=None, help=f"multi-reference fusion: local (each reference votes where it locally matches the target), vote or staple (default {DEFAULT_FUSION})")
    group.add_argument("--no-deformable", action="store_true", help="registration: affine only, skip the deformable stage")
    group.add_argument("--sam2-model", default=None, help="SAM2: tiny, small, base-plus (default), large, a Hugging Face id or a local folder")
    group.add_argument("--device", default=None, help="torch device for models: auto (default), cpu, cuda, mps")
    group.add_argument("--slice-axis", choices=["auto", "i", "j", "k"], default=None, help="SAM2: volume axis to slice along (default: coarsest spacing)")
    group.add_argument("--window", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None, help="SAM2: intensity window, e.g. -160 240 for abdominal CT (default: 0.5-99.5 percentiles)")
    group.add_argument("--vlm-model", default=None, help="VLM: Hugging Face id or local folder (default Qwen/Qwen2.5-VL-7B-Instruct); with --vlm-server, the served model name")
    group.add_argument("--vlm-server", default=None, metavar="URL", help="VLM: OpenAI-compatible server (vLLM, SGLang); images go to this URL only; API key from RAU_VLM_API_KEY")
    group.add_argument("--vlm-adapter", default=None, metavar="DIR", help="VLM: LoRA adapter folder (e.g. from rau train sft)")
    group.add_argument("--vlm-family", choices=["qwen2.5-vl", "qwen3-vl", "qwen2-vl"], default=None, help="VLM: coordinate convention when the model name does not tell")
    group.add_argument("--vlm-per-structure", action="store_true", help="VLM: one request per structure instead of one per target")


def engine_options(args: argparse.Namespace) -> dict:
    """The engine options the user set, as a dict for :func:`rau.engines.create_engine`."""
    keys = ["top_k", "fusion", "vlm_model", "vlm_server", "vlm_adapter", "vlm_family", "vlm_per_structure"]
    keys += ["sam2_model", "device", "slice_axis", "window"]
    options = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "no_deformable", False):
        options["deformable"] = False
    return options
