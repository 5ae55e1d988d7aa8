"""The training settings and their defaults: LoRA's, each stage's, GRPO's. ``rau train --help`` shows them, so this
module loads no model code (peft only when :meth:`LoraSettings.config` is called).

LoRA targets the language model only (attention and MLP projections; Qwen3-VL-MoE keeps its experts in fused weights,
not layers LoRA adapts, so there only attention); the vision tower stays frozen unless ``train_vision`` also puts LoRA
on its blocks' attention and MLP layers. The paper's LoRA settings are the defaults: r 8, alpha 16, dropout 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass

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


RUN_DEFAULTS = {"epochs": {"sft": 5.0, "grpo": 5.0}, "batch_size": {"sft": 1, "grpo": 4}, "grad_accum": {"sft": 1, "grpo": 1},
                "train_limit": {"sft": None, "grpo": None}, "seed": {"sft": 0, "grpo": 0}}
"""Each stage's epochs, batch size (grpo: one question's answers), gradient accumulation, training questions (None:
all) and seed when not given to a fresh run."""


DEFAULT_WEIGHTS = {"format": 0.5, "correctness": 1.0, "box_iou": 1.0}
"""Each reward's weight in GRPO (:data:`rau.train.rewards.REWARDS`) when not given to a fresh run."""
GRPO_DEFAULTS = {"num_generations": 4, "max_completion_length": None, "temperature": 1.0, "beta": 0.0, "reward_weights": DEFAULT_WEIGHTS}
"""GRPO's own settings when not given to a fresh run (``max_completion_length`` None: :func:`rau.train.grpo.completion_limit`)."""
