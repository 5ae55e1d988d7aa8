"""An adapter whose rau_adapter.json is damaged is refused, naming that file, by rau segment and rau train --adapter
alike (not warned of as missing, its family and base model left unchecked)."""

from __future__ import annotations

import shutil

from test_options_not_applied import segment

from rau.cli import main


def damaged_copy(sft_adapter, tmp_path):
    """A checkpoint of :func:`sft_adapter`'s run whose rau_adapter.json is cut off."""
    damaged = shutil.copytree(sft_adapter / "checkpoints" / "checkpoint-2", tmp_path / "damaged")
    (damaged / "rau_adapter.json").write_text('{"base_model": ')
    return damaged


def test_a_damaged_adapter_description_is_refused_naming_it(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: "warning: the adapter X has no rau_adapter.json ..." and the adapter loaded, its family check skipped."""
    damaged = damaged_copy(sft_adapter, tmp_path)
    said = f"{damaged}: its rau_adapter.json is damaged or cut off ("
    out = tmp_path / "seg" / "t.nii.gz"
    assert main(segment(out, "--engine", "vlm-box", "--vlm-model", str(tiny_qwen), "--vlm-adapter", str(damaged))) == 2
    error = capsys.readouterr().err
    assert f"error: --vlm-adapter {said}" in error and "has no rau_adapter.json" not in error, error
    assert not out.parent.exists()
    train = tmp_path / "train"
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--adapter", str(damaged), "--out", str(train),
                 "--device", "cpu", "--max-steps", "1", "--eval-steps", "0"]) == 2
    error = capsys.readouterr().err
    assert f"error: --adapter {said}" in error, error
    assert not train.exists()
    assert (damaged / "rau_adapter.json").read_text() == '{"base_model": '
