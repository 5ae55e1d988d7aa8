"""``rau train build-pairs | sft | grpo``: make training pairs from annotated data, fine-tune a LoRA adapter.

The adapter folder that ``sft`` or ``grpo`` writes loads with
``rau segment --engine rau --vlm-model MODEL --vlm-adapter DIR``. Several GPUs:
run the same command under ``accelerate launch -m rau.cli train ...`` or ``torchrun``.
"""

from __future__ import annotations

import argparse
import json

from rau.errors import InputError, OptionError, about
from rau.train.grpo import DEFAULT_WEIGHTS, GRPO_DEFAULTS, GRPOSettings
from rau.train.model import LEARNING_RATES, LoraSettings
from rau.train.run import RUN_DEFAULTS
from rau.validation import argument, device_name, finite_number, non_empty_path, non_negative_integer, non_negative_number, positive_integer, positive_number, share_below_one, whole_number
from rau.vlm.families import FAMILY_NAMES, family_for


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
    build.set_defaults(run=run_build_pairs)

    for name, helptext in (("sft", "supervised fine-tuning on the ideal answers"), ("grpo", "GRPO with format, correctness and box-IoU rewards")):
        step = steps.add_parser(name, help=helptext)
        _add_fine_tune_arguments(step)
        if name == "grpo":
            step.add_argument("--num-generations", type=argument(lambda v, o: whole_number(v, o, minimum=2), "--num-generations"), help=f"answers sampled per question (default {GRPO_DEFAULTS['num_generations']}; --batch-size x --grad-accum must be a multiple; with --resume: the run's)")
            step.add_argument("--max-completion-length", type=argument(positive_integer, "--max-completion-length"), help="longest answer sampled, in tokens (default: the longest limit inference gives an answer to a training question; with --resume: the run's)")
            step.add_argument("--temperature", type=argument(positive_number, "--temperature"), help=f"sampling temperature (default {GRPO_DEFAULTS['temperature']:g}; with --resume: the run's)")
            step.add_argument("--beta", type=argument(non_negative_number, "--beta"), help=f"KL penalty towards the starting model (default {GRPO_DEFAULTS['beta']:g}; with --resume: the run's)")
            step.add_argument("--reward-weight", action="append", default=[], metavar="NAME=W", help=f"{', '.join(DEFAULT_WEIGHTS)} (default {', '.join(f'{weight:g}' for weight in DEFAULT_WEIGHTS.values())}; with --resume: the run's)")
        step.set_defaults(run=run_sft if name == "sft" else run_grpo)


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


def _settings(args: argparse.Namespace):
    """The run's settings; a ``--device`` this machine lacks, and a ``--model`` or ``--adapter`` that cannot be used
    (:func:`_check_model`), are refused before any work."""
    from rau.models.loader import ModelNotAvailableError, check_device
    from rau.train.run import FineTuneSettings

    try:
        check_device(args.device)
    except ModelNotAvailableError as error:
        raise OptionError(f"--device {args.device}: {error}") from None
    _check_model(args.model, args.adapter)

    keys = ["model", "data", "out", "adapter", "epochs", "max_steps", "batch_size", "grad_accum", "learning_rate", "eval_steps",
            "eval_limit", "save_steps", "logging_steps", "train_limit", "gradient_checkpointing", "resume", "device", "seed", "overwrite"]
    return FineTuneSettings(lora=_lora(args), **{k: getattr(args, k) for k in keys})


def _lora(args: argparse.Namespace) -> LoraSettings:
    """The LoRA settings of a new adapter, defaults where not given; refused with ``--adapter``, whose own settings a run keeps."""
    given = {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": args.lora_dropout, "train_vision": args.train_vision}
    given = {key: value for key, value in given.items() if value is not None}
    if args.adapter and given:
        option = {"r": "--lora-r", "alpha": "--lora-alpha", "dropout": "--lora-dropout", "train_vision": "--train-vision"}[next(iter(given))]
        raise OptionError(f"{option}: a run from --adapter keeps that adapter's own LoRA settings (its adapter_config.json); "
                          f"leave {option} out, or leave --adapter out to start a new adapter")
    return LoraSettings(**given)


def run_build_pairs(args: argparse.Namespace) -> int:
    from rau.train.build import build_pairs
    from rau.train.pairs import PairOptions

    given = family_for(args.family, "--family") if args.family else None
    family = _model_family(args.model, given) if args.model else given or family_for(FAMILY_NAMES[0])
    options = PairOptions(args.references_per_target, args.slices_per_pair, args.questions_per_pair, args.min_pixels, tuple(args.tasks))
    card = build_pairs(args.data, args.out, family, options, args.val_fraction, args.seed, args.overwrite)
    for split, info in card["splits"].items():
        print(f"{split}: {info['questions']} questions {json.dumps(info['tasks'])} from {len(info['subjects'])} subjects")
    print(f"wrote {args.out} (card: {args.out}/README.md)")
    return 0


def _model_family(model: str, given=None):
    """The family of ``--model``, whose folder is checked as ``sft`` checks it (:func:`_check_model`); a Hub id that cannot
    be had (offline, not in the cache) is told that ``--family`` does without it; a ``given`` ``--family`` it contradicts
    is refused as ``rau segment`` refuses such a ``--vlm-family``."""
    from rau.models.loader import ModelSource, resolve
    from rau.vlm.local import check_family_option, model_family

    try:
        _check_model(model)
    except OptionError as error:
        if ModelSource(model).is_local:
            raise
        raise OptionError(f"{str(error).rstrip('.')}; or, without the model, give --family {'|'.join(FAMILY_NAMES)} "
                          "instead of --model") from None
    check_family_option(resolve(ModelSource(model)), given, "--family")
    return model_family(ModelSource(model))


def _check_model(model: str, adapter: str | None = None) -> None:
    """Refuse a ``--model`` that is no usable vision-language model (a SAM2 folder is told to be one; weights cut off
    or damaged are named) or an ``--adapter`` that is no readable LoRA adapter: :class:`OptionError` naming the option."""
    from rau.models.loader import ModelSource, resolve
    from rau.vlm.local import check_adapter_folder, check_trainable_folder

    for option, value, check in (("--model", model, lambda: check_trainable_folder(resolve(ModelSource(model)))),
                                 ("--adapter", adapter, lambda: check_adapter_folder(adapter))):
        try:
            if value:
                check()
        except InputError as error:
            raise OptionError(f"{option} {about(value, error)}") from None


def run_sft(args: argparse.Namespace) -> int:
    from rau.train.sft import run_sft as sft

    print(f"wrote adapter {sft(_settings(args))}")
    return 0


def run_grpo(args: argparse.Namespace) -> int:
    from rau.train.grpo import check_reward_weights, run_grpo as grpo

    weights = dict(DEFAULT_WEIGHTS) if args.reward_weight else None  # none given: the defaults, or a resumed run's
    for item in args.reward_weight:
        name, _, value = item.partition("=")
        try:
            weights[name] = finite_number(value, "--reward-weight")
        except OptionError:
            raise OptionError(f"--reward-weight wants NAME=NUMBER, got {item!r}") from None
    if weights is not None:
        check_reward_weights(weights)  # before the model is read
    settings = GRPOSettings(args.num_generations, args.max_completion_length, args.temperature, args.beta, weights)
    print(f"wrote adapter {grpo(_settings(args), settings)}")
    return 0
