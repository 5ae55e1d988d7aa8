"""GRPO reinforcement learning of a LoRA adapter (usually started from the SFT adapter), with TRL's GRPOTrainer.

Rewards (:mod:`rau.train.rewards`): answer format, presence/identity correctness, box IoU.
TRL's batch counts completions: ``batch_size * grad_accum`` must be a multiple of
``num_generations``. Completions get, unless told otherwise, the longest token limit inference
gives an answer to a training question (:func:`completion_limit`); each is read as inference reads the
reply to its question, within that question's own limit (a presence answer's 32 tokens, not a box answer's more).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace

from rau.errors import OptionError
from rau.train.rewards import REWARDS, answer_tokens, limited_rewards
from rau.train.run import FineTuneSettings, callbacks, prepare, train_and_finish, trainer_arguments, with_run_defaults
from rau.train.settings import GRPO_DEFAULTS


@dataclass
class GRPOSettings:
    """GRPO settings: completions per prompt, their length (None: :func:`completion_limit` of the training split) and
    temperature, KL weight and the rewards' weights; None: not given, so a resumed run's, else :data:`rau.train.settings.GRPO_DEFAULTS`."""
    num_generations: int | None = None
    max_completion_length: int | None = None
    temperature: float | None = None
    beta: float | None = None
    reward_weights: dict[str, float] | None = None


def check_reward_weights(weights: dict[str, float]) -> None:
    """Refuse a reward that does not exist, a negative weight (it would train away from its reward) and weights that
    are all 0 (nothing to learn from), naming ``--reward-weight``."""
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise OptionError(f"--reward-weight: unknown reward(s) {', '.join(map(repr, unknown))}; choose from {', '.join(REWARDS)}")
    negative = [f"{name}={weight:g}" for name, weight in weights.items() if weight < 0]
    if negative:
        raise OptionError(f"--reward-weight {negative[0]}: a weight is 0 (the reward left out) or more; a negative one would train away from it")
    if not any(weights.values()):
        raise OptionError("--reward-weight: every reward weighs 0, so training would have nothing to learn from; give one a weight above 0")


def completion_limit(columns) -> int:
    """The longest token limit inference gives an answer to one of the questions of ``columns`` (a pairs split's
    ``task``, ``truth`` and ``bounds`` columns; :func:`rau.train.rewards.answer_tokens`)."""
    return max(answer_tokens(task, json.loads(truth), bounds)
               for task, truth, bounds in zip(columns["task"], columns["truth"], columns["bounds"]))


def run_grpo(settings: FineTuneSettings, grpo: GRPOSettings | None = None):
    """Train (or resume) and save the adapter in ``settings.out``; returns that folder."""
    from trl import GRPOConfig, GRPOTrainer

    from rau.vlm.local import end_tokens

    settings = with_run_defaults(replace(settings, stage_settings=vars(grpo or GRPOSettings())), "grpo", GRPO_DEFAULTS)
    grpo = GRPOSettings(**settings.stage_settings)
    completions = settings.batch_size * settings.grad_accum
    if grpo.num_generations < 2 or completions % grpo.num_generations:
        raise OptionError(f"--batch-size x --grad-accum ({settings.batch_size} x {settings.grad_accum} = {completions}) must be a multiple "
                          f"of --num-generations ({grpo.num_generations}), which must be at least 2")
    check_reward_weights(grpo.reward_weights)
    model, processor, family, train, val = prepare(settings, "grpo")
    names = list(grpo.reward_weights)
    longest = grpo.max_completion_length or completion_limit(train)
    config = GRPOConfig(
        **trainer_arguments(settings, model, "grpo"),
        num_generations=grpo.num_generations,
        max_completion_length=longest,
        temperature=grpo.temperature,
        beta=grpo.beta,
        reward_weights=[grpo.reward_weights[n] for n in names],
        remove_unused_columns=False,
    )
    tokenizer = getattr(processor, "tokenizer", processor)
    decode = functools.partial(tokenizer.decode, skip_special_tokens=True)  # as TRL decodes completions
    rewards = limited_rewards(names, longest, end_tokens(model, processor), decode)
    trainer = GRPOTrainer(model=model, reward_funcs=rewards, args=config,
                          train_dataset=train.remove_columns("completion"), processing_class=processor,
                          callbacks=callbacks(settings, "grpo", processor, family, val))
    return train_and_finish(trainer, settings, "grpo", processor, family, val)
