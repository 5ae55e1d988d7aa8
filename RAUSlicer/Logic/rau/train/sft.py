"""Supervised fine-tuning (SFT) of a LoRA adapter on the pairs' ideal answers, with TRL's SFTTrainer."""

from __future__ import annotations

from rau.train.run import FineTuneSettings, callbacks, prepare, train_and_finish, trainer_arguments, with_run_defaults


def run_sft(settings: FineTuneSettings, extra_callbacks=()):
    """Train (or resume) and save the adapter in ``settings.out``; returns that folder."""
    from trl import SFTConfig, SFTTrainer

    settings = with_run_defaults(settings, "sft")
    model, processor, family, train, val = prepare(settings, "sft")
    config = SFTConfig(
        **trainer_arguments(settings, model, "sft"),
        max_length=None,  # never cut image tokens
        completion_only_loss=True,
    )
    trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=processor,
                         callbacks=callbacks(settings, "sft", processor, family, val) + list(extra_callbacks))
    return train_and_finish(trainer, settings, "sft", processor, family, val)
