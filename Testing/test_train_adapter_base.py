"""Which base model an adapter or a run goes on: `--resume` tells the model as `--adapter` does (by its fingerprint), an
adapter without rau_adapter.json is said to be unchecked, and one that does not fit is named without options of another
command."""

from __future__ import annotations

import json
import shutil

import pytest

from rau.cli import main
from rau.models.loader import ModelSource
from rau.train.model import LoraSettings, load_trainable
from rau.vlm.local import TransformersBackend
from tiny_qwen import build_tiny_qwen
from train_fixtures import interrupted, listing, sft_command, short_held_out_answers  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def other_qwen(tmp_path_factory):
    """Another tiny Qwen2.5-VL of the same shape as ``tiny_qwen`` (other random weights): an adapter loads onto it."""
    return build_tiny_qwen(tmp_path_factory.mktemp("other_qwen"), seed=1)


def test_resume_takes_the_run_s_model_in_another_folder_and_refuses_another_model(sft_adapter, pairs, tiny_qwen, other_qwen,
                                                                                 tmp_path, capsys):
    """Before: the run's model copied to another folder was refused by --resume ("--model ... there, ... now"), though
    --adapter takes the same copy (by its fingerprint); a run whose checkpoint records no fingerprint keeps the path rule."""
    out = interrupted(sft_adapter, tmp_path)
    before = listing(out)
    copy = shutil.copytree(tiny_qwen, tmp_path / "moved_qwen")
    for model, said, unsaid in ((copy, "(--learning-rate 0.01 there, 0.5 now)", "--model"),
                                (other_qwen, f"(--model {tiny_qwen.resolve()} there, {other_qwen} now; --learning-rate", None)):
        command = sft_command(model, pairs, out)
        command[command.index("--learning-rate") + 1] = "0.5"  # refused before training, whatever the model
        assert main([*command, "--resume"]) == 2
        error = capsys.readouterr().err
        assert f"--resume: the run in {out} was trained with other settings {said}" in error, error
        assert unsaid is None or unsaid not in error, error
    described = out / "checkpoints" / "checkpoint-2" / "rau_adapter.json"
    description = json.loads(described.read_text())
    del description["base_fingerprint"]  # as a checkpoint described before fingerprints were
    described.write_text(json.dumps(description))
    assert main([*sft_command(copy, pairs, out), "--resume"]) == 2
    assert f"(--model {tiny_qwen.resolve()} there, {copy} now)" in capsys.readouterr().err
    described.write_bytes(before[described.relative_to(out)])
    assert listing(out) == before


def test_an_adapter_without_its_description_is_said_to_be_unchecked(sft_adapter, other_qwen, tmp_path, capsys):
    """Before: an adapter folder without rau_adapter.json went on any base model of its shape without a word, in rau
    segment and in rau train (which then recorded that base as its own)."""
    bare = shutil.copytree(sft_adapter / "checkpoints" / "checkpoint-2", tmp_path / "bare")
    (bare / "rau_adapter.json").unlink()
    named = json.loads((bare / "adapter_config.json").read_text())["base_model_name_or_path"]
    TransformersBackend.load(ModelSource(str(other_qwen)), device="cpu", adapter=bare)
    error = capsys.readouterr().err
    assert (f"warning: the adapter {bare} has no rau_adapter.json, so the base model it was trained on cannot be checked "
            f"(its adapter_config.json names {named}); if that is not {other_qwen}") in error, error
    load_trainable(str(other_qwen), LoraSettings(), bare, "cpu")
    assert f"warning: the adapter {bare} has no rau_adapter.json" in capsys.readouterr().err


def test_an_adapter_that_does_not_fit_its_model_is_named_in_the_command_s_words(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: an adapter whose adapter_config.json says another rank than its weights was refused by rau train as
    "--adapter X does not fit this model (was it trained on another --vlm-model?)", an option rau train lacks."""
    damaged = shutil.copytree(sft_adapter / "checkpoints" / "checkpoint-2", tmp_path / "damaged")
    config = json.loads((damaged / "adapter_config.json").read_text())
    (damaged / "adapter_config.json").write_text(json.dumps({**config, "r": config["r"] * 2}))
    out = tmp_path / "out"
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--adapter", str(damaged),
                 "--device", "cpu", "--max-steps", "1"]) == 2
    error = capsys.readouterr().err
    assert f"--adapter {damaged} does not fit this model (" in error and "size mismatch" in error, error
    assert "--vlm-model" not in error
    assert not out.exists()


def test_resume_refuses_another_model_put_where_the_run_s_model_was(sft_adapter, pairs, tiny_qwen, other_qwen, tmp_path, capsys):
    """Before: --resume compared the fingerprint only when --model named another folder than the run's, so another model
    put in the run's own folder (or a Hub id's cached revision changed) was trained on to the end, rc 0, without a word;
    and --adapter refused it with a remedy refused again ("give --model" the same folder)."""
    out = interrupted(sft_adapter, tmp_path)
    swapped = shutil.copytree(other_qwen, tmp_path / "tqX")  # the folder the run records, another model in it now
    checkpoint = out / "checkpoints" / "checkpoint-2"
    for record in (out / "rau_run.json", checkpoint / "rau_adapter.json"):
        record.write_text(record.read_text().replace(json.dumps(str(tiny_qwen.resolve())), json.dumps(str(swapped))))
    before = listing(out)
    assert main([*sft_command(swapped, pairs, out), "--resume"]) == 2
    error = capsys.readouterr().err
    assert (f"--resume: the run in {out} was trained with other settings (--model {swapped}: the model there is not the one "
            "the run was trained on (its files changed since)); give the same ones") in error, error
    assert listing(out) == before
    assert main(["train", "sft", "--model", str(swapped), "--data", str(pairs), "--adapter", str(checkpoint), "--out",
                 str(tmp_path / "out"), "--device", "cpu", "--max-steps", "1", "--eval-steps", "0"]) == 2
    error = capsys.readouterr().err
    assert (f"--adapter {checkpoint} was trained on another model than the one now in --model {swapped} (its files changed "
            "since); give --model the model it was trained on") in error, error
    TransformersBackend.load(ModelSource(str(swapped)), device="cpu", adapter=checkpoint)
    error = capsys.readouterr().err
    assert (f"warning: the adapter {checkpoint} was trained on another model than the one now in {swapped} (its files "
            "changed since)") in error, error
