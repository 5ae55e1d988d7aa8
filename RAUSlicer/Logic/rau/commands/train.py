"""``rau train build-pairs | sft | grpo``: make training pairs from annotated data, fine-tune a LoRA adapter.

The adapter folder that ``sft`` or ``grpo`` writes loads with
``rau segment --engine rau --vlm-model MODEL --vlm-adapter DIR``. Several GPUs:
run the same command under ``accelerate launch -m rau.cli train ...`` or ``torchrun``.
"""

from __future__ import annotations

import argparse
import json

from rau.errors import InputError, OptionError, about
from rau.train.grpo import GRPOSettings
from rau.train.settings import DEFAULT_WEIGHTS, LoraSettings
from rau.validation import finite_number
from rau.vlm.families import FAMILY_NAMES, family_for


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
