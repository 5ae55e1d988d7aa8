"""SFT and GRPO on the tiny random Qwen2.5-VL through ``rau train``, and the adapter in ``rau segment``."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import rau.train.evaluation
from rau.cli import main
from rau.models.loader import ModelSource
from rau.train.dataset import read_records
from rau.train.evaluation import record_messages
from rau.vlm.local import TransformersBackend
from tiny_qwen import build_tiny_qwen
from train_fixtures import listing, log, sft_command, short_held_out_answers  # noqa: F401  (fixtures)


def test_sft_loss_is_finite_and_moves_and_held_out_metrics_are_logged(sft_adapter):
    entries = log(sft_adapter)
    losses = [e["loss"] for e in entries if "loss" in e]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses) and len(set(losses)) > 1
    evaluations = [e for e in entries if "eval_format_valid" in e]
    assert [e["step"] for e in evaluations] == [2, 4]
    assert {"eval_identity_accuracy", "eval_mean_box_iou", "eval_box_hit_rate"} <= set(evaluations[0])
    assert (sft_adapter / "checkpoints" / "checkpoint-4").is_dir()
    described = json.loads((sft_adapter / "rau_adapter.json").read_text())
    assert described["stage"] == "sft" and described["steps"] == 4 and described["lora"]["r"] == 8


def test_adapter_loads_through_the_inference_backend_and_changes_its_outputs(sft_adapter, pairs, tiny_qwen):
    import torch

    messages = record_messages(pairs, read_records(pairs, "val")[0])
    outputs = []
    for adapter in (None, sft_adapter):
        backend = TransformersBackend.load(ModelSource(str(tiny_qwen)), device="cpu", adapter=adapter)
        with torch.no_grad():
            outputs.append(backend.model(**backend.inputs(messages)).logits[0, -1])
    assert not torch.allclose(outputs[0], outputs[1])


def test_grpo_continues_the_sft_adapter_with_logged_rewards(sft_adapter, pairs, tiny_qwen, tmp_path):
    out = tmp_path / "grpo"
    code = main(["train", "grpo", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--adapter", str(sft_adapter),
                 "--device", "cpu", "--max-steps", "2", "--batch-size", "2", "--num-generations", "2",
                 "--max-completion-length", "8", "--logging-steps", "1", "--eval-steps", "0", "--eval-limit", "1", "--temperature", "0.1"])
    assert code == 0
    steps = [e for e in log(out) if "loss" in e]
    assert len(steps) == 2 and all(math.isfinite(e["loss"]) for e in steps)
    assert all("rewards/format_reward/mean" in e and "rewards/box_iou_reward/mean" in e for e in steps)
    assert json.loads((out / "rau_adapter.json").read_text())["stage"] == "grpo"
    assert (out / "adapter_model.safetensors").is_file()


def test_grpo_refuses_a_batch_that_does_not_fit_the_generations(pairs, tiny_qwen, tmp_path, capsys):
    code = main(["train", "grpo", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(tmp_path / "g"),
                 "--batch-size", "3", "--num-generations", "2"])
    assert code == 2 and "--batch-size x --grad-accum (3 x 1 = 3) must be a multiple of --num-generations (2)" in capsys.readouterr().err


def test_rau_segment_runs_with_the_trained_adapter(sft_adapter, tiny_qwen, shared_data, tmp_path):
    from tiny_sam2 import save_tiny_sam2

    data = shared_data / "hc18_fetal_head_us"
    rows = [line.split(",") for line in (data / "pixel_size_and_HC.csv").read_text().splitlines()[1:3]]
    sam2 = save_tiny_sam2(tmp_path / "sam2", presence="always")
    out = tmp_path / "out" / "target.nii.gz"
    code = main([
        "segment", "--engine", "rau", "--vlm-model", str(tiny_qwen), "--vlm-adapter", str(sft_adapter), "--sam2-model", str(sam2),
        "--device", "cpu", "--reference", str(data / "images" / rows[0][0]), "--reference-spacing", rows[0][1],
        "--reference-labels", str(data / "masks" / rows[0][0].replace(".png", "_mask.png")),
        "--target", str(data / "images" / rows[1][0]), "--target-spacing", rows[1][1], "--out", str(out),
    ])
    assert code == 0
    assert json.loads(out.with_name("target.result.json").read_text())["engine"] == "rau"


@pytest.fixture(scope="module")
def other_qwen(tmp_path_factory):
    """Another tiny Qwen2.5-VL of the same shape as ``tiny_qwen`` (other random weights): an adapter loads onto it."""
    return build_tiny_qwen(tmp_path_factory.mktemp("other_qwen"), seed=1)


def test_an_adapter_put_on_another_base_model_is_said_to_be(sft_adapter, tiny_qwen, other_qwen, capsys):
    """Before: an adapter of the same shape was layered onto another model or revision without a word."""
    TransformersBackend.load(ModelSource(str(tiny_qwen)), device="cpu", adapter=sft_adapter)
    assert "warning" not in capsys.readouterr().err
    TransformersBackend.load(ModelSource(str(other_qwen)), device="cpu", adapter=sft_adapter)
    assert f"warning: the adapter {sft_adapter} was trained on {tiny_qwen.resolve()}, not on {other_qwen}" in capsys.readouterr().err


def test_an_adapter_goes_on_its_base_model_in_another_folder_or_as_its_hub_id(sft_adapter, pairs, tiny_qwen, tmp_path, monkeypatch,
                                                                             capsys):
    """Before: the base model was compared by its folder or Hub id, so the same model elsewhere was refused for --adapter
    ("was trained on ..., not on --model ...", exit 2), and rau segment warned that the adapter was another model's: an
    adapter trained on the folder, given the model's Hub id (found in the cache), or one trained on the id, given a folder
    the model was downloaded into, or the models folder copied to another disk."""
    import shutil

    import huggingface_hub

    shutil.copytree(tiny_qwen, tmp_path / "cache/models--tiny--qwen/snapshots/0123abcd")
    (tmp_path / "cache/models--tiny--qwen/refs").mkdir()
    (tmp_path / "cache/models--tiny--qwen/refs/main").write_text("0123abcd")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    downloaded = shutil.copytree(tiny_qwen, tmp_path / "downloaded")
    quick = ["--data", str(pairs), "--device", "cpu", "--max-steps", "1", "--eval-steps", "0", "--eval-limit", "1"]
    assert main(["train", "sft", "--model", "tiny/qwen", "--adapter", str(sft_adapter), "--out", str(tmp_path / "on_id"), *quick]) == 0
    assert main(["train", "sft", "--model", str(downloaded), "--adapter", str(tmp_path / "on_id"), "--out", str(tmp_path / "on_copy"),
                 *quick]) == 0
    assert json.loads((tmp_path / "on_id/rau_adapter.json").read_text())["base_model"] == "tiny/qwen"  # as given, for information
    TransformersBackend.load(ModelSource(str(downloaded)), device="cpu", adapter=sft_adapter)
    assert "was trained on" not in capsys.readouterr().err


def test_a_checkpoint_given_as_adapter_is_refused_or_said_to_be_on_another_base(sft_adapter, pairs, tiny_qwen, other_qwen, tmp_path,
                                                                                capsys):
    """Before: a checkpoint held no record of its base model, so --adapter CHECKPOINT trained on another base without a word
    (recorded as that base's adapter), and rau segment layered it on another base without a warning."""
    checkpoint, other = sft_adapter / "checkpoints" / "checkpoint-4", other_qwen
    assert main(["train", "sft", "--model", str(other), "--data", str(pairs), "--adapter", str(checkpoint), "--out", str(tmp_path / "out"),
                 "--device", "cpu", "--max-steps", "1", "--eval-steps", "0"]) == 2
    assert f"--adapter {checkpoint} was trained on {tiny_qwen.resolve()}, not on --model {other}" in capsys.readouterr().err
    TransformersBackend.load(ModelSource(str(other)), device="cpu", adapter=checkpoint)
    assert f"warning: the adapter {checkpoint} was trained on {tiny_qwen.resolve()}, not on {other}" in capsys.readouterr().err
    assert json.loads((checkpoint / "rau_adapter.json").read_text())["steps"] == 4


def test_the_same_data_model_and_seed_train_the_same_adapter_on_any_thread_count(sft_adapter, pairs, tiny_qwen, tmp_path):
    """Before: the new LoRA weights were drawn before the trainer seeded torch, so every run differed; and training ran
    on the caller's torch thread count (OMP_NUM_THREADS), whose other rounding changed the adapter (by 6e-7)."""
    import torch
    from safetensors.numpy import load_file

    again, previous = tmp_path / "again", torch.get_num_threads()  # the fixture's run was given these
    torch.set_num_threads(1 if previous > 1 else 2)
    try:
        assert main(sft_command(tiny_qwen, pairs, again)) == 0
    finally:
        torch.set_num_threads(previous)
    first, second = (load_file(str(folder / "adapter_model.safetensors")) for folder in (sft_adapter, again))
    assert first.keys() == second.keys() and all(np.array_equal(first[name], second[name]) for name in first)


def test_an_adapter_is_not_replaced_and_resume_needs_a_checkpoint(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    import shutil

    adapter = shutil.copytree(sft_adapter, tmp_path / "adapter")  # the session's run stays as it is, whatever this does
    before, files = (adapter / "adapter_model.safetensors").read_bytes(), listing(adapter)
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "1"]
    assert main(["train", "sft", *common, "--out", str(adapter)]) == 2
    assert "adapter_model.safetensors exists; replace it with --overwrite" in capsys.readouterr().err
    assert (adapter / "adapter_model.safetensors").read_bytes() == before
    assert listing(adapter) == files
    assert main(["train", "sft", *common, "--out", str(tmp_path / "new"), "--resume"]) == 2
    error = capsys.readouterr().err
    assert "--resume: " in error and "new/checkpoints holds no complete checkpoint to continue from" in error
    assert not (tmp_path / "new").exists()


def test_resume_refuses_a_step_total_already_trained_and_overwrite_with_it(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: a run resumed from checkpoint-4 with --max-steps 4 (or fewer) trained a fifth step, and --resume with
    --overwrite resumed without a word about the option that asked to replace the run."""
    import shutil

    run = shutil.copytree(sft_adapter, tmp_path / "run")
    for name in ("adapter_model.safetensors", "rau_adapter.json"):
        (run / name).unlink()
    shutil.rmtree(run / "checkpoints" / "checkpoint-4")  # stopped after step 2 of 4
    before = listing(run)
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--batch-size", "2", "--out", str(run), "--resume"]
    for extra, said in ((["--max-steps", "2"], "--max-steps 2 counts every step of the run, and "),
                        (["--max-steps", "1"], "checkpoint-2 has trained 2 already; give more than 2 to train on"),
                        (["--max-steps", "6", "--overwrite"], "--resume goes on with the run in --out and --overwrite replaces it")):
        assert main(["train", "sft", *common, *extra]) == 2
        assert said in capsys.readouterr().err
    assert listing(run) == before


def test_resume_refuses_to_extend_a_finished_run(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: a finished 4-step run resumed with --max-steps 6 trained steps 5 and 6 on from its ended learning-rate
    schedule (step 5 at learning rate 0), exit 0; and resumed with --max-steps 4 (or fewer) it was told to give more than
    4, which the next try then refused as ended."""
    import shutil

    run = shutil.copytree(sft_adapter, tmp_path / "run")
    before = listing(run)
    last = run / "checkpoints" / "checkpoint-4"
    for max_steps in ("6", "4", "2"):
        assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--out", str(run), "--resume",
                     "--max-steps", max_steps, "--batch-size", "2", "--eval-steps", "0"]) == 2
        error = capsys.readouterr().err
        assert f"--resume: {last} is the last step of its run, whose learning-rate schedule has ended there" in error, (max_steps, error)
        assert f"start a new run from its adapter: --adapter {last} --out NEW_FOLDER" in error
        assert "give more than" not in error
    assert listing(run) == before


def test_overwrite_refuses_a_folder_that_holds_no_training_run(pairs, tiny_qwen, tmp_path, capsys):
    """Before: --overwrite replaced README.md and deleted checkpoints/ and log.jsonl in any folder, a training run's or not."""
    out = tmp_path / "proj"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "mine.txt").write_text("precious")
    (out / "README.md").write_text("my notes")
    (out / "log.jsonl").write_text("{}\n")
    before = listing(out)
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu", "--max-steps", "1",
                 "--eval-steps", "0", "--eval-limit", "1", "--overwrite"]) == 2
    assert (f"--out {out} is not empty (README.md, checkpoints, log.jsonl) and holds no training run (no rau_run.json or "
            "rau_adapter.json); --overwrite replaces only an earlier run") in capsys.readouterr().err
    assert listing(out) == before


def test_out_on_an_input_folder_or_a_file_is_refused_and_nothing_changes(pairs, tiny_qwen, tmp_path, capsys):
    """Before, ``--out`` on the model folder rewrote its tokenizer files (and on the pairs folder its card), exit 0;
    ``--out`` on a file was an internal error."""
    before = {folder: listing(folder) for folder in (tiny_qwen, pairs)}
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "1"]
    (tmp_path / "a_file").write_text("")
    for out, problem in ((tiny_qwen, "is the --model folder"), (pairs, "is the --data folder"),
                         (pairs / "adapter", "is inside the --data folder"), (tmp_path / "a_file", "a file, not a folder")):
        assert main(["train", "sft", *common, "--out", str(out)]) == 2
        assert f"--out {out}" in (error := capsys.readouterr().err) and problem in error, error
    _empty_adapter(tmp_path / "run" / "checkpoints" / "checkpoint-2")  # an adapter the fresh run would delete
    assert main(["train", "sft", *common, "--adapter", str(tmp_path / "run" / "checkpoints" / "checkpoint-2"), "--out", str(tmp_path / "run")]) == 2
    assert "checkpoint-2 lies in " in capsys.readouterr().err and (tmp_path / "run" / "checkpoints" / "checkpoint-2").is_dir()
    assert {folder: listing(folder) for folder in (tiny_qwen, pairs)} == before


def _empty_adapter(folder):
    """A LoRA adapter folder with a configuration and no tensors."""
    import peft
    from safetensors.torch import save_file

    peft.LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)").save_pretrained(folder)
    save_file({}, folder / "adapter_model.safetensors")


def test_resume_skips_a_checkpoint_cut_short_and_a_fresh_run_starts_a_new_log(sft_adapter, pairs, tiny_qwen, tmp_path, capsys, monkeypatch):
    """Before, a checkpoint interrupted while it was saved (an empty folder) made --resume an internal error, and
    --overwrite appended the new run's log to the old one."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # as if stopped before step 4 was saved
    (out / "checkpoints" / "checkpoint-99").mkdir()
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--batch-size", "2", "--eval-steps", "0", "--eval-limit", "1",
              "--logging-steps", "1"]
    assert main(["train", "sft", *common, "--out", str(out), "--resume", "--max-steps", "4"]) == 0, capsys.readouterr().err
    assert json.loads((out / "rau_adapter.json").read_text())["steps"] == 4
    monkeypatch.chdir(tmp_path)  # relative paths are described as absolute ones (before, as given)
    relative = [os.path.relpath(tiny_qwen, tmp_path) if part == str(tiny_qwen) else os.path.relpath(pairs, tmp_path) if part == str(pairs) else part
                for part in common]
    assert main(["train", "sft", *relative, "--out", "adapter", "--overwrite", "--max-steps", "1"]) == 0, capsys.readouterr().err
    assert [entry["step"] for entry in log(out) if "loss" in entry] == [1]
    described = json.loads((out / "rau_adapter.json").read_text())
    assert described["base_model"] == str(tiny_qwen.resolve()) and described["pairs"] == str(pairs.resolve())


def test_a_folder_holding_other_files_is_refused_and_a_bad_seed_or_unwritable_out_named(pairs, tiny_qwen, tmp_path, capsys):
    """Before: a fresh run into a folder of the user's own files replaced its README.md and log.jsonl and deleted its
    checkpoints/ folder, exit 0; --seed -1 and an --out that cannot be made were internal errors."""
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "1"]
    own = tmp_path / "notes"
    (own / "checkpoints").mkdir(parents=True)
    (own / "README.md").write_text("my notes")
    (own / "checkpoints" / "notes.txt").write_text("keep")
    assert main(["train", "sft", *common, "--out", str(own)]) == 2
    assert f"--out {own} is not empty (README.md, checkpoints); give a new or empty folder" in capsys.readouterr().err
    assert (own / "README.md").read_text() == "my notes" and (own / "checkpoints" / "notes.txt").is_file()
    with pytest.raises(SystemExit) as stop:
        main(["train", "sft", *common, "--out", str(tmp_path / "x"), "--seed", "-1"])
    assert stop.value.code == 2
    assert "argument --seed: must be from 0 to 4294967295, got '-1'" in capsys.readouterr().err
    (tmp_path / "a_file").write_text("")
    assert main(["train", "sft", *common, "--out", str(tmp_path / "a_file" / "adapter")]) == 2
    assert f"--out {tmp_path / 'a_file' / 'adapter'}: cannot write there" in capsys.readouterr().err


def test_a_run_stopped_while_it_finishes_leaves_the_earlier_adapter_as_it_was(sft_adapter, pairs, tiny_qwen, tmp_path, monkeypatch):
    """Before: the adapter was saved before the final evaluation, so a run stopped there left new weights under the
    earlier run's description (or a fresh folder that looked complete)."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    before = listing(out)

    def stopped(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(rau.train.evaluation, "evaluate", stopped)
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "1", "--eval-steps", "0",
                 "--learning-rate", "1e-1", "--out", str(out), "--overwrite"]) == 130
    after = listing(out)
    runs = ("log.jsonl", "rau_run.json")  # with checkpoints/: the run that was stopped, which --resume goes on with

    def adapter(listing):
        return {name: data for name, data in listing.items() if "checkpoints" not in str(name) and name.name not in runs}

    assert adapter(after) == adapter(before)
    assert not (out / ".saving").exists()


def test_resume_refuses_another_model_or_learning_rate_and_logs_each_step_once(sft_adapter, pairs, tiny_qwen, other_qwen, tmp_path,
                                                                              capsys):
    """Before: --resume went on with another --model (and recorded it as the base) and ignored a new --learning-rate;
    the steps after the checkpoint were logged twice."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # as if stopped before step 4 was saved: it goes on from step 2
    other = other_qwen  # of the same shape, other weights
    common = ["--data", str(pairs), "--device", "cpu", "--batch-size", "2", "--eval-steps", "0", "--eval-limit", "1", "--logging-steps", "1",
              "--out", str(out), "--resume"]
    assert main(["train", "sft", "--model", str(other), *common, "--max-steps", "5"]) == 2
    assert f"--resume: the run in {out} was trained with other settings (--model {tiny_qwen.resolve()} there, {other} now)" in capsys.readouterr().err
    assert main(["train", "sft", "--model", str(tiny_qwen), *common, "--max-steps", "5", "--learning-rate", "0.5"]) == 2
    assert "--learning-rate 0.01 there, 0.5 now" in capsys.readouterr().err
    assert main(["train", "sft", "--model", str(tiny_qwen), *common, "--max-steps", "5"]) == 0, capsys.readouterr().err
    assert [entry["step"] for entry in log(out) if "loss" in entry] == [1, 2, 3, 4, 5]


def test_resume_takes_the_default_learning_rate_a_run_used_given_again(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: a run with the default learning rate records none, and --resume --learning-rate 1e-4 (that default) was
    refused as "learning_rate None there, 0.0001 now"."""
    import json
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # as if stopped before step 4 was saved
    record = json.loads((out / "rau_run.json").read_text())
    (out / "rau_run.json").write_text(json.dumps({**record, "learning_rate": None}))  # as a run without --learning-rate records it
    common = ["--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--batch-size", "2", "--eval-steps", "0", "--eval-limit", "1",
              "--out", str(out), "--resume", "--max-steps", "3"]  # one step after checkpoint-2: a resumed run, not its steps, is checked
    assert main(["train", "sft", *common, "--learning-rate", "2e-4"]) == 2
    assert "--learning-rate 0.0001 there, 0.0002 now" in capsys.readouterr().err
    assert main(["train", "sft", *common, "--learning-rate", "1e-4"]) == 0, capsys.readouterr().err


def test_grpo_runs_with_its_own_defaults():
    """Before, --batch-size 1 x --grad-accum 1 against --num-generations 4: grpo refused its own defaults."""
    from rau.cli import parse_arguments
    from rau.train.grpo import GRPO_DEFAULTS
    from rau.train.run import FineTuneSettings, with_run_defaults

    common = ["--model", "m", "--data", "d", "--out", "o"]
    grpo_args, _ = parse_arguments(["train", "grpo", *common])
    assert grpo_args.batch_size is None  # not given: the stage's default (a resumed run's own)
    grpo, sft = (with_run_defaults(FineTuneSettings("m", "d", "o"), stage) for stage in ("grpo", "sft"))
    assert (grpo.batch_size, sft.batch_size, grpo.grad_accum, sft.seed) == (4, 1, 1, 0)
    assert grpo_args.num_generations is None  # not given: GRPO_DEFAULTS (a resumed run's own)
    assert grpo.batch_size * grpo.grad_accum % GRPO_DEFAULTS["num_generations"] == 0


GRPO_QUICK = ["--device", "cpu", "--max-steps", "1", "--batch-size", "2", "--num-generations", "2", "--max-completion-length", "8",
              "--eval-steps", "0", "--eval-limit", "1"]


def test_grpo_from_an_adapter_refuses_another_base_and_records_the_adapters_lora(sft_adapter, pairs, tiny_qwen, other_qwen, tmp_path,
                                                                                 capsys):
    """Before: an adapter trained on another base was trained further on --model without a word and recorded as that
    model's; the record gave the --lora-r/--lora-alpha given (ignored by peft), not the adapter's own, and those options were
    ignored without a word."""
    other = other_qwen
    common = ["--data", str(pairs), "--adapter", str(sft_adapter), *GRPO_QUICK]
    assert main(["train", "grpo", "--model", str(other), *common, "--out", str(tmp_path / "refused")]) == 2
    assert (f"--adapter {sft_adapter} was trained on {tiny_qwen.resolve()}, not on --model {other}; give --model {tiny_qwen.resolve()}"
            in capsys.readouterr().err)
    assert not (tmp_path / "refused").exists()
    out = tmp_path / "grpo"
    assert main(["train", "grpo", "--model", str(tiny_qwen), *common, "--lora-alpha", "8", "--out", str(out)]) == 2
    assert ("--lora-alpha: a run from --adapter keeps that adapter's own LoRA settings (its adapter_config.json); leave --lora-alpha out"
            in capsys.readouterr().err)
    assert not out.exists()
    assert main(["train", "grpo", "--model", str(tiny_qwen), *common, "--out", str(out)]) == 0
    lora = {"r": 8, "alpha": 16, "dropout": 0.01, "train_vision": False}
    assert json.loads((out / "rau_adapter.json").read_text())["lora"] == lora
    assert json.loads((out / "rau_run.json").read_text())["lora"] == lora
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 8


def test_grpo_resume_refuses_an_sft_run(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: grpo --resume went on from an SFT run's checkpoint (with SFT's learning-rate schedule) and called it grpo."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    code = main(["train", "grpo", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--resume", *GRPO_QUICK])
    assert code == 2
    assert f"--resume: the run in {out} is a `rau train sft` run, which `rau train grpo` cannot go on with" in capsys.readouterr().err
    assert json.loads((out / "rau_adapter.json").read_text())["stage"] == "sft"


@pytest.mark.parametrize("damaged", ["adapter_model.safetensors", "optimizer.pt"])
def test_resume_names_a_damaged_checkpoint(sft_adapter, pairs, tiny_qwen, tmp_path, capsys, damaged):
    """Before: a cut-off file in the latest checkpoint (a full disk, an interrupted copy) made --resume an internal error."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    file = out / "checkpoints" / "checkpoint-4" / damaged
    os.truncate(file, file.stat().st_size // 2)
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--resume", "--device", "cpu",
                 "--max-steps", "5"]) == 2
    error = capsys.readouterr().err
    assert f"--resume: the checkpoint {out / 'checkpoints' / 'checkpoint-4'} is damaged or cut off ({damaged}: " in error, error
    assert "delete that folder to resume from the checkpoint before it" in error


def test_a_damaged_pairs_folder_is_named_and_no_out_is_left(pairs, tiny_qwen, tmp_path, capsys):
    """Before: a cut-off line in train.jsonl, or a missing picture, was an internal error; an OUT the run made stayed."""
    import shutil

    cut = shutil.copytree(pairs, tmp_path / "cut")
    text = (cut / "train.jsonl").read_text()
    (cut / "train.jsonl").write_text(text[: text.index("\n") + 40])
    train_picture, val_picture = (shutil.copytree(pairs, tmp_path / name) for name in ("train_picture", "val_picture"))
    (train_picture / read_records(pairs, "train")[0]["images"][0]).unlink()
    (val_picture / read_records(pairs, "val")[0]["images"][1]).unlink()
    cases = {cut: f"{cut / 'train.jsonl'}, line 2: not a whole JSON record",
             train_picture: f"{train_picture / read_records(pairs, 'train')[0]['images'][0]}: a picture of the pairs dataset {train_picture} is missing",
             val_picture: f"{val_picture / read_records(pairs, 'val')[0]['images'][1]}: a picture of the pairs dataset {val_picture}"}
    for data, message in cases.items():
        out = tmp_path / f"out_{data.name}"
        assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(data), "--out", str(out), "--device", "cpu", "--max-steps", "1"]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_a_run_that_failed_before_its_first_checkpoint_runs_again(pairs, tiny_qwen, tmp_path, capsys, monkeypatch):
    """Before: the settings and empty checkpoints/ folder a failed run left in OUT made the same command refuse it ("not empty")."""
    import trl

    def stopped(*_, **__):
        raise KeyboardInterrupt

    command = ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(tmp_path / "adapter"), "--device", "cpu",
               "--max-steps", "1", "--eval-steps", "0", "--eval-limit", "1"]
    with monkeypatch.context() as patch:
        patch.setattr(trl.SFTTrainer, "train", stopped)
        assert main(command) == 130
    assert (tmp_path / "adapter" / "rau_run.json").is_file()
    assert main(command) == 0, capsys.readouterr().err
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


def test_resume_refuses_a_damaged_run_record(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: a cut-off rau_run.json made --resume check nothing (another --data or --model was taken, exit 0)."""
    import shutil

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # an interrupted run, which --resume goes on with
    (out / "rau_run.json").write_text((out / "rau_run.json").read_text()[:40])
    before = listing(out)
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--resume", "--device", "cpu",
                 "--max-steps", "4", "--eval-steps", "0"]) == 2
    error = capsys.readouterr().err
    assert f"--resume: {out / 'rau_run.json'} is damaged or cut off (" in error and "start a new run" in error, error
    assert listing(out) == before


def test_resume_drops_a_cut_off_last_log_line_and_names_damage_elsewhere(sft_adapter, pairs, tiny_qwen, tmp_path, capsys, monkeypatch):
    """Before: a log.jsonl cut off by a kill while logging made --resume an internal error, after the model was read."""
    import shutil

    import rau.train.run

    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # killed after step 2 was saved, while it logged step 3
    lines = [line for line in (out / "log.jsonl").read_text().splitlines() if json.loads(line)["step"] <= 2]
    (out / "log.jsonl").write_text("\n".join(lines) + '\n{"step": 3, "loss": 5.8')
    command = ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--resume", "--device", "cpu",
               "--max-steps", "4", "--batch-size", "2", "--eval-steps", "0", "--eval-limit", "1", "--logging-steps", "1"]
    assert main(command) == 0, capsys.readouterr().err
    assert [entry["step"] for entry in log(out) if "loss" in entry] == [1, 2, 3, 4]
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    (out / "log.jsonl").write_text('{"step": 1\n' + (out / "log.jsonl").read_text())
    before = listing(out)
    with monkeypatch.context() as patch:
        patch.setattr(rau.train.run, "load_trainable", None)  # refused before the model is read
        assert main(command) == 2
    assert f"--resume: {out / 'log.jsonl'}, line 1: not a whole log entry (damaged)" in capsys.readouterr().err
    assert listing(out) == before
