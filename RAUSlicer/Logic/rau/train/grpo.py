"""GRPO reinforcement learning of a LoRA adapter (usually started from the SFT adapter), with TRL's GRPOTrainer.

Rewards (:mod:`rau.train.rewards`): answer format, presence/identity correctness, box IoU.
TRL's batch counts completions: ``batch_size * grad_accum`` must be a multiple of
``num_generations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rau.errors import InputError
from rau.train.rewards import REWARDS
from rau.train.run import FineTuneSettings, callbacks, finish, prepare, resume_checkpoint, trainer_arguments

DEFAULT_WEIGHTS = {"format": 0.5, "correctness": 1.0, "box_iou": 1.0}


@dataclass
class GRPOSettings:
    """GRPO settings: completions per prompt, their length and temperature, KL weight and the rewards' weights."""
    num_generations: int = 4
    max_completion_length: int = 256
    temperature: float = 1.0
    beta: float = 0.0
    reward_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


def run_grpo(settings: FineTuneSettings, grpo: GRPOSettings | None = None):
    """Train (or resume) and save the adapter in ``settings.out``; returns that folder."""
    from trl import GRPOConfig, GRPOTrainer

    grpo = grpo or GRPOSettings()
    completions = settings.batch_size * settings.grad_accum
    if grpo.num_generations < 2 or completions % grpo.num_generations:
        raise InputError(
            f"batch size x grad accumulation ({completions}) must be a multiple of num_generations ({grpo.num_generations}), which must be at least 2"
        )
    unknown = set(grpo.reward_weights) - set(REWARDS)
    if unknown:
        raise InputError(f"unknown reward(s) {sorted(unknown)}; choose from {', '.join(REWARDS)}")
    model, processor, family, train, val = prepare(settings, "grpo")
    names = list(grpo.reward_weights)
    config = GRPOConfig(
        **trainer_arguments(settings, model, "grpo"),
        num_generations=grpo.num_generations,
        max_completion_length=grpo.max_completion_length,
        temperature=grpo.temperature,
        beta=grpo.beta,
        reward_weights=[grpo.reward_weights[n] for n in names],
        remove_unused_columns=False,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=[REWARDS[n] for n in names], args=config,
                          train_dataset=train.remove_columns("completion"), processing_class=processor,
                          callbacks=callbacks(settings, processor, family, val))
    trainer.train(resume_from_checkpoint=resume_checkpoint(settings))
    return finish(trainer, settings, "grpo", processor, family, val)
