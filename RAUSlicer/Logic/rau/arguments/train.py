"""``rau train``'s command line: ``build-pairs``, ``sft`` and ``grpo`` with their settings (what it does: :mod:`rau.commands.train`)."""

from __future__ import annotations

import argparse

from rau.train.settings import DEFAULT_WEIGHTS, GRPO_DEFAULTS, LEARNING_RATES, RUN_DEFAULTS, LoraSettings
from rau.validation import argument, device_name, non_empty_path, non_negative_integer, non_negative_number, positive_integer, positive_number, share_below_one, whole_number
from rau.vlm.families import FAMILY_NAMES


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="build training pairs and fine-tune the VLM (LoRA)")
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    build = steps.add_parser("build-pairs", help="reference/target pairs and questions from an annotated dataset")
    build.add_argument("--data", required=True, type=argument(non_empty_path, "--data"), help="dataset folder (one subfolder per subject) or manifest CSV (image,labels[,subject,pixel_spacing,label_table])")
    build.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output folder for the pairs (JSONL + images + card)")
    build.add_argument("--model", type=argument(non_empty_path, "--model"), help="render for this model's image size rule (default: --family)")
    build.add_argument("--family", help=f"model family when --model is not given (default {FAMILY_NAMES[0]}); with --model, the one its config.json names")
    build.add_argument("--val-fraction", type=argument(share_below_one, "--val-fraction"), default=0.2, help="share of subjects held out for validation (default 0.2; at least 2 subjects unless 0)")
    build.add_argument("--references-per-target", type=argument(positive_integer, "--references-per-target"), default=4, help="(default 4)")
    build.add_argument("--slices-per-pair", type=argument(positive_integer, "--slices-per-pair"), default=4, help="(default 4)")
    build.add_argument("--questions-per-pair", type=argument(positive_integer, "--questions-per-pair"), default=4, help="(default 4)")
    build.add_argument("--min-pixels", type=argument(positive_integer, "--min-pixels"), default=20, help="smallest cross-section asked about, in pixels (default 20)")
    build.add_argument("--tasks", nargs="+", default=["presence", "identity", "box"], choices=["presence", "identity", "box"], help="question kinds to build (default all three)")
    build.add_argument("--seed", type=argument(seed_number, "--seed"), default=0, help="(default 0)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing pairs folder")
    build.set_defaults(run="rau.commands.train:run_build_pairs")

    for name, helptext in (("sft", "supervised fine-tuning on the ideal answers"), ("grpo", "GRPO with format, correctness and box-IoU rewards")):
        step = steps.add_parser(name, help=helptext)
        _add_fine_tune_arguments(step)
        if name == "grpo":
            step.add_argument("--num-generations", type=argument(lambda v, o: whole_number(v, o, minimum=2), "--num-generations"), help=f"answers sampled per question (default {GRPO_DEFAULTS['num_generations']}; --batch-size x --grad-accum must be a multiple; with --resume: the run's)")
            step.add_argument("--max-completion-length", type=argument(positive_integer, "--max-completion-length"), help="longest answer sampled, in tokens (default: the longest limit inference gives an answer to a training question; with --resume: the run's)")
            step.add_argument("--temperature", type=argument(positive_number, "--temperature"), help=f"sampling temperature (default {GRPO_DEFAULTS['temperature']:g}; with --resume: the run's)")
            step.add_argument("--beta", type=argument(non_negative_number, "--beta"), help=f"KL penalty towards the starting model (default {GRPO_DEFAULTS['beta']:g}; with --resume: the run's)")
            step.add_argument("--reward-weight", action="append", default=[], metavar="NAME=W", help=f"{', '.join(DEFAULT_WEIGHTS)} (default {', '.join(f'{weight:g}' for weight in DEFAULT_WEIGHTS.values())}; with --resume: the run's)")
        step.set_defaults(run=f"rau.commands.train:run_{name}")


def _add_fine_tune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=argument(non_empty_path, "--model"), help="base VLM: Hugging Face id or local folder")
    parser.add_argument("--data", required=True, type=argument(non_empty_path, "--data"), help="pairs folder from `rau train build-pairs`")
    parser.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output adapter folder")
    parser.add_argument("--adapter", type=argument(non_empty_path, "--adapter"), help="start from this LoRA adapter (e.g. the SFT output for GRPO)")
    parser.add_argument("--lora-r", type=argument(positive_integer, "--lora-r"), help=f"LoRA rank of a new adapter (default {LoraSettings.r})")
    parser.add_argument("--lora-alpha", type=argument(positive_integer, "--lora-alpha"), help=f"(default {LoraSettings.alpha})")
    parser.add_argument("--lora-dropout", type=argument(share_below_one, "--lora-dropout"), help=f"(default {LoraSettings.dropout:g})")
    parser.add_argument("--train-vision", action="store_true", default=None, help="also put LoRA on the vision tower's attention and MLP layers (frozen by default)")
    parser.add_argument("--epochs", type=argument(positive_number, "--epochs"), help=f"(default {_run_default('epochs')}; with --resume: the run's)")
    parser.add_argument("--max-steps", type=argument(positive_integer, "--max-steps"), default=-1, help="stop after this many steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=argument(positive_integer, "--batch-size"), help=f"per device (default {_run_default('batch_size')}, one question's answers; with --resume: the run's)")
    parser.add_argument("--grad-accum", type=argument(positive_integer, "--grad-accum"), help=f"gradient accumulation steps (default {_run_default('grad_accum')}; with --resume: the run's)")
    parser.add_argument("--learning-rate", type=argument(positive_number, "--learning-rate"), help=f"default {LEARNING_RATES['sft']:g} (sft), {LEARNING_RATES['grpo']:g} (grpo)")
    parser.add_argument("--eval-steps", type=argument(non_negative_integer, "--eval-steps"), default=100, help="held-out VQA evaluation every N steps (0: only at the end; default 100)")
    parser.add_argument("--eval-limit", type=argument(positive_integer, "--eval-limit"), default=32, help="validation questions per evaluation (default 32)")
    parser.add_argument("--save-steps", type=argument(positive_integer, "--save-steps"), default=100, help="checkpoint every N steps (default 100)")
    parser.add_argument("--logging-steps", type=argument(positive_integer, "--logging-steps"), default=10, help="(default 10)")
    parser.add_argument("--train-limit", type=argument(positive_integer, "--train-limit"), help="use only the first N training questions (default all; with --resume: the run's)")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="less GPU memory, slower")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUT/checkpoints")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier training run in OUT (a folder holding anything else is refused)")
    parser.add_argument("--device", type=argument(device_name, "--device"), help="auto, cpu, cuda, cuda:N, mps (default: best available)")
    parser.add_argument("--seed", type=argument(seed_number, "--seed"), help=f"(default {_run_default('seed')}; with --resume: the run's)")


def _run_default(key: str) -> str:
    """The default of a training setting as its help says it: ``1``, or ``1; grpo: 4`` when GRPO's differs."""
    sft, grpo = RUN_DEFAULTS[key]["sft"], RUN_DEFAULTS[key]["grpo"]
    return f"{sft:g}" if sft == grpo else f"{sft:g}; grpo: {grpo:g}"


def seed_number(value, option: str) -> int:
    """A random seed, 0 to 2**32 - 1 (what numpy and torch take)."""
    return whole_number(value, option, minimum=0, maximum=2**32 - 1)
