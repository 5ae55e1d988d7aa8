"""What `--resume` says of a run whose rau_run.json does not say a setting: recorded before --epochs, --train-limit
and GRPO's settings were (refused unless they are given), or as not given (null: named as what it meant)."""

from __future__ import annotations

import json

from rau.cli import main
from train_fixtures import interrupted, listing, sft_command, short_held_out_answers  # noqa: F401  (fixtures)


def test_resume_of_a_run_recorded_without_epochs_and_train_limit_asks_for_them(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: a run recorded before --epochs and --train-limit were went on with their defaults (every question, 5
    epochs) when they were left out, exit 0 and no word, whatever the run was started with."""
    out = interrupted(sft_adapter, tmp_path)
    record = json.loads((out / "rau_run.json").read_text())
    (out / "rau_run.json").write_text(json.dumps({key: value for key, value in record.items() if key not in ("epochs", "train_limit")}))
    before = listing(out)
    command = sft_command(tiny_qwen, pairs, out)
    assert main([*command, "--resume"]) == 2
    error = capsys.readouterr().err
    assert f"--resume: {out / 'rau_run.json'} does not say the run's --epochs, --train-limit (it was written before" in error, error
    assert listing(out) == before
    assert main([*command, "--resume", "--epochs", "5"]) == 2
    assert "does not say the run's --train-limit (" in capsys.readouterr().err
    assert listing(out) == before
    assert main([*command, "--resume", "--epochs", "5", "--train-limit", "1000"]) == 0, capsys.readouterr().err  # as it was started
    assert (out / "adapter_model.safetensors").read_bytes() == (sft_adapter / "adapter_model.safetensors").read_bytes()


def test_resume_names_options_and_says_what_a_setting_not_given_meant(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: "trained with other settings (train_limit None there, 3 now)", naming the internal key and Python's None."""
    out = interrupted(sft_adapter, tmp_path)
    before = listing(out)
    command = sft_command(tiny_qwen, pairs, out)
    assert main([*command, "--resume", "--train-limit", "3", "--grad-accum", "2"]) == 2
    error = capsys.readouterr().err
    assert (f"--resume: the run in {out} was trained with other settings (--grad-accum 1 there, 2 now; "
            "--train-limit not given there (all questions), 3 now)") in error, error
    assert "None" not in error
    assert listing(out) == before
