"""Training your own RAU model: pair building, rewards, LoRA fine-tuning (SFT, GRPO).

``sources`` reads annotated datasets, ``slices`` cuts volumes into matched 2D
slices, ``pairs`` draws reference/target pairs and questions, ``dataset`` writes
and reads them, ``rewards`` scores answers, ``sft`` and ``grpo`` fine-tune.
torch, transformers, trl and peft are imported inside functions only.
"""
