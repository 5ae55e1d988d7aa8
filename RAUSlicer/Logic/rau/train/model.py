"""The model being fine-tuned: base VLM through the shared loader, LoRA through peft (its settings and targets:
:class:`rau.train.settings.LoraSettings`).
"""

from __future__ import annotations

import os

from rau.errors import InputError
from rau.io.json_text import parse_json
from rau.models.loader import ModelSource, load_model, load_processor, option_named, pick_device, resolve
from rau.train.settings import LoraSettings
from rau.user_warnings import ignore_deprecated_checkpointing_reads
from rau.vlm.families import ModelFamily
from rau.vlm.local import (AdapterError, check_adapter_folder, check_trainable_folder, load_adapter, model_family, other_base,
                           same_place, trained_on_words)


def training_device(requested: str | None = None) -> str:
    """The device of this process: ``cuda:LOCAL_RANK`` under accelerate/torchrun, else :func:`pick_device`."""
    if os.environ.get("LOCAL_RANK") is not None and (requested in (None, "auto", "cuda")):
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return pick_device(requested)


def load_trainable(model_name: str, lora: LoraSettings, adapter=None, device: str | None = None):
    """(peft model, processor, family): a fresh LoRA, or ``adapter`` (e.g. from SFT) trained further.

    The family is the one inference uses with this model (:func:`rau.vlm.local.model_family`). A model or adapter
    that cannot be loaded (weights holding NaN ...) is refused naming ``--model`` or ``--adapter``.
    """
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText, AutoProcessor

    source = ModelSource(model_name)
    check_trainable_folder(resolve(source))  # as before a run: a SAM2 folder, one without its tokenizer or of another family is named as such
    if adapter:
        with option_named("--adapter", adapter, (AdapterError,)):
            check_adapter_base(adapter, source)
    processor = load_processor(AutoProcessor, source)
    with option_named("--model", model_name):
        model = load_model(AutoModelForImageTextToText, source, training_device(device))
    ignore_deprecated_checkpointing_reads()
    with option_named("--adapter", adapter, (AdapterError,)):
        model = load_adapter(model, adapter, trainable=True) if adapter else get_peft_model(model, lora.config())
    return model, processor, model_family(source, processor)


def check_adapter_base(adapter, source: ModelSource) -> None:
    """Refuse to train ``adapter`` further on another base model than the one ``rau train`` trained it on
    (:func:`rau.vlm.local.other_base`): its weights would be taken as this model's."""
    trained_on = other_base(adapter, source)
    if trained_on is not None:
        remedy = "the model it was trained on" if same_place(trained_on, source) else trained_on
        raise InputError(f"--adapter {adapter} was trained on {trained_on_words(trained_on, source, '--model ')}; give --model "
                         f"{remedy}, or leave --adapter out to start a new adapter on this model")


def adapter_lora(adapter) -> LoraSettings:
    """The LoRA settings ``adapter`` was made with (its ``adapter_config.json``), which a run training it further keeps."""
    path = check_adapter_folder(adapter) / "adapter_config.json"
    try:
        config = parse_json(path.read_text(encoding="utf-8"))
        return LoraSettings(int(config["r"]), int(config["lora_alpha"]), float(config["lora_dropout"]), "visual" in str(config.get("target_modules")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AdapterError(f"{path}: not a readable LoRA configuration ({type(error).__name__}: {error})") from None


def check_family(card_family: ModelFamily, family: ModelFamily) -> None:
    """Refuse pairs rendered for another image size rule or coordinate convention than the model's ``family``."""
    if card_family != family:
        raise InputError(
            f"the pairs were rendered for {card_family.describe()}, but this model's processor gives {family.describe()}; "
            "rebuild them with `rau train build-pairs --model` pointing at this model"
        )
