"""The model being fine-tuned: base VLM through the shared loader, LoRA through peft.

LoRA targets the language model only (attention and MLP projections; Qwen3-VL-MoE keeps
its experts in fused weights, not layers LoRA adapts, so there only attention); the vision
tower stays frozen unless ``train_vision`` also puts LoRA on its blocks' attention and MLP
layers. The paper's LoRA settings are the defaults: r 8, alpha 16, dropout 0.01.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rau.errors import InputError
from rau.io.json_text import parse_json
from rau.models.loader import ModelSource, load_model, load_processor, option_named, pick_device, resolve
from rau.user_warnings import ignore_deprecated_checkpointing_reads
from rau.vlm.families import ModelFamily
from rau.vlm.local import (AdapterError, check_adapter_folder, check_trainable_folder, load_adapter, model_family, other_base,
                           same_place, trained_on_words)

LANGUAGE_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
VISION_TARGETS = r".*visual\.blocks.*\.(qkv|proj|gate_proj|up_proj|down_proj|fc1|fc2|linear_fc1|linear_fc2)"
"""The vision blocks' attention and MLP layers: Qwen2.5-VL's MLP is gate/up/down_proj, Qwen2-VL's fc1/fc2, Qwen3-VL's
linear_fc1/linear_fc2."""


LEARNING_RATES = {"sft": 1e-4, "grpo": 1e-5}
"""Each stage's learning rate when ``--learning-rate`` is not given."""


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapter settings: rank, scaling, dropout, and whether the vision tower is adapted too."""
    r: int = 8
    alpha: int = 16
    dropout: float = 0.01
    train_vision: bool = False

    def config(self):
        """These settings as a peft ``LoraConfig`` on the language model's projections (and the vision tower's)."""
        from peft import LoraConfig

        targets = LANGUAGE_TARGETS if not self.train_vision else f"({LANGUAGE_TARGETS})|({VISION_TARGETS})"
        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout, target_modules=targets, task_type="CAUSAL_LM")


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
