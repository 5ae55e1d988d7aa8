"""``rau models``: which SAM checkpoints rau can run (and with which class), and converting original-format ones."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from rau.errors import OptionError
from rau.validation import not_a_folder


def run_list(args: argparse.Namespace) -> int:
    """``rau models list``: the SAM model types and aliases rau knows, then what each given folder holds."""
    from rau.models.loader import has_file
    from rau.sam2.model import MEDSAM2_HELP, MODEL_ALIASES, VIDEO_MODELS, describe

    for folder in map(Path, args.folders):
        if not folder.is_dir():
            raise OptionError(f"FOLDER {folder}: {not_a_folder(folder)}")
        if has_file(folder, "adapter_config.json"):
            raise OptionError(f"FOLDER {folder}: a LoRA adapter (rau train), not a SAM model; give it to rau segment with --vlm-adapter")
    described = [(folder, describe(Path(folder))) for folder in args.folders]  # every folder is read before anything is printed
    print("model types (config.json model_type -> class):")
    for model_type, kind in VIDEO_MODELS.items():
        print(f"  {model_type:<20} {kind.class_name:<24} {kind.family}; default normalisation mean {kind.mean}, std {kind.std}")
    print("--sam2-model aliases:")
    for alias, name in MODEL_ALIASES.items():
        print(f"  {alias:<10} {name} (Sam2VideoModel, SAM2.1)")
    print(f"  {'medsam2':<10} {MEDSAM2_HELP}")
    for folder, info in described:
        print(f"{folder}: {info['class']} ({info['family']}), {info['frame_size']} px frames, mean {info['mean']}, std {info['std']}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """``rau models convert``: turn an original SAM 2 / MedSAM2 checkpoint into a model folder rau loads."""
    from rau.sam2.convert import convert_checkpoint
    from rau.sam2.model import describe

    out = convert_checkpoint(args.checkpoint, args.config, args.out)
    info = describe(out)
    print(f"wrote {out}: {info['class']}, {info['frame_size']} px frames; use it with --sam2-model {shlex.quote(str(out))}")
    return 0
