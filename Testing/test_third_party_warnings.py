"""Deprecation warnings of transformers stay out of rau's output (tiny Qwen2.5-VL, tiny SAM2): the README promises
one-line ``warning: ...`` messages, not a library's FutureWarning with its source line."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from test_cli_correct_moved_models import lora_adapter
from test_serve import write_two_halves

from rau.train.model import LoraSettings, load_trainable
from rau.train.run import FineTuneSettings, trainer_arguments

LOGIC = Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic"


def future_warnings(record) -> list[str]:
    return [str(item.message) for item in record if issubclass(item.category, FutureWarning)]


def test_a_segment_run_with_an_adapter_prints_no_future_warning(tiny_qwen, tiny_sam2, tmp_path):
    """Before: peft read the model's deprecated ``is_gradient_checkpointing`` as the adapter loaded, so stderr held
    "modeling_utils.py:3312: FutureWarning: `is_gradient_checkpointing` is deprecated ..." and a "warnings.warn(" line."""
    (reference, labels, _), target, table = write_two_halves(tmp_path)
    adapter = lora_adapter(tiny_qwen, tmp_path / "adapter")
    command = [sys.executable, "-m", "rau", "segment", "--engine", "rau", "--vlm-model", str(tiny_qwen), "--vlm-adapter",
               str(adapter), "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu", "--reference", str(reference),
               "--reference-labels", str(labels), "--label-table", str(table), "--target", str(target),
               "--out", str(tmp_path / "out" / "halves.nii.gz")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LOGIC), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "FutureWarning" not in run.stderr and "warnings.warn(" not in run.stderr, run.stderr


def test_training_arguments_and_a_new_lora_raise_no_future_warning(tiny_qwen, tmp_path):
    """Before: ``rau train`` passed the deprecated ``gradient_checkpointing=`` to the TRL config ("`gradient_checkpointing`
    is deprecated ... Use `activation_checkpointing`"), and peft's new LoRA read ``is_gradient_checkpointing``."""
    pytest.importorskip("peft")
    from trl import SFTConfig

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model, _, _ = load_trainable(str(tiny_qwen), LoraSettings(), device="cpu")
        settings = FineTuneSettings(model=str(tiny_qwen), data=str(tmp_path), out=str(tmp_path / "out"), epochs=1.0, batch_size=1,
                                    grad_accum=1, seed=0, gradient_checkpointing=True)
        config = SFTConfig(**trainer_arguments(settings, model, "sft"))
    assert future_warnings(record) == []
    assert config.activation_checkpointing is True and config.gradient_checkpointing is True  # still asked for, as trl reads it
