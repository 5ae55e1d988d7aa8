"""How a ``rau train`` run ends and goes on: ``--resume`` after a stop in the final evaluation, a run that diverges, and
what a resume must keep (batch, accumulation, seed) or may change (``--max-steps``, whose schedule it then follows)."""

from __future__ import annotations

import json
import shutil

import pytest

import rau.train.evaluation
from rau.cli import main
from train_fixtures import listing, log, sft_command, short_held_out_answers  # noqa: F401  (fixtures)


def _stopped_while_finishing(monkeypatch, out):
    """Ctrl-C in the final held-out evaluation (the adapter is being saved in ``OUT/.saving``), not in the earlier ones."""
    evaluate = rau.train.evaluation.evaluate

    def evaluate_or_stop(*args, **kwargs):
        if (out / ".saving").is_dir():
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(rau.train.evaluation, "evaluate", evaluate_or_stop)


def test_resume_after_a_stop_in_the_final_evaluation_finishes_the_run_as_an_uninterrupted_one(
        sft_adapter, pairs, tiny_qwen, tmp_path, capsys, monkeypatch):
    """Before: the run was refused by every command ("--max-steps 4 counts every step of the run, and ... checkpoint-4 has
    trained 4 already"; a higher one: "the last step of its run"), and the final evaluation began without a word."""
    out = tmp_path / "adapter"
    command = sft_command(tiny_qwen, pairs, out)
    with monkeypatch.context() as patch:
        _stopped_while_finishing(patch, out)
        assert main(command) == 130
    assert "evaluating the adapter on 2 held-out questions..." in capsys.readouterr().err
    assert not (out / "rau_adapter.json").exists() and not (out / "adapter_model.safetensors").exists()
    assert main([*command, "--resume"]) == 0, capsys.readouterr().err
    assert "checkpoint-4 holds every step of the run; finishing it" in capsys.readouterr().err
    finished, uninterrupted = listing(out), listing(sft_adapter)
    assert finished.keys() == uninterrupted.keys()
    differ = [str(name) for name in finished if finished[name] != uninterrupted[name] and name.parts[0] != "checkpoints"]
    assert sorted(differ) == ["log.jsonl", "training_args.bin"]  # the run's timings; its output_dir, OUT/checkpoints
    assert [entry for entry in log(out) if "loss" in entry] == [entry for entry in log(sft_adapter) if "loss" in entry]
    assert main([*command, "--resume"]) == 2  # finished now: nothing is left to do
    assert "checkpoint-4 is the last step of its run, whose learning-rate schedule has ended there" in capsys.readouterr().err


def test_resume_finishes_a_run_stopped_in_its_final_evaluation_over_an_earlier_adapter(
        sft_adapter, pairs, tiny_qwen, tmp_path, capsys, monkeypatch):
    """The earlier run's adapter and description, kept in OUT until the new run finishes, are not taken for the new one's."""
    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    command = ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "1", "--batch-size", "2",
               "--eval-steps", "0", "--eval-limit", "1", "--learning-rate", "1e-1", "--out", str(out)]
    with monkeypatch.context() as patch:
        _stopped_while_finishing(patch, out)
        assert main([*command, "--overwrite"]) == 130
    assert json.loads((out / "rau_adapter.json").read_text())["steps"] == 4  # the earlier run's, as it was
    assert main([*command, "--resume"]) == 0, capsys.readouterr().err
    trained = out / "checkpoints" / "checkpoint-1" / "adapter_model.safetensors"
    assert (out / "adapter_model.safetensors").read_bytes() == trained.read_bytes()
    described = json.loads((out / "rau_adapter.json").read_text())
    assert described["steps"] == 1 and described["eval"] and "failed" not in described["eval"], described


def test_a_run_whose_weights_become_nan_stops_naming_the_learning_rate_and_saves_no_adapter(pairs, tiny_qwen, tmp_path, capsys):
    """Before: the weights became NaN, the log said loss 0 for each step after, the adapter (all NaN) was written with a
    rau_adapter.json marking it finished, exit 0; rau segment then refused it as damaged."""
    out = tmp_path / "adapter"
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu", "--max-steps", "4",
                 "--batch-size", "2", "--learning-rate", "1e30", "--logging-steps", "1", "--eval-steps", "0", "--eval-limit", "1"]) == 2
    error = capsys.readouterr().err
    assert "--learning-rate 1e+30: training diverged: the adapter weights became NaN or infinite at step " in error, error
    assert "start again with a lower --learning-rate (--overwrite replaces this run in " in error
    assert not (out / "adapter_model.safetensors").exists() and not (out / "rau_adapter.json").exists()
    assert all(entry["loss"] != 0 for entry in log(out) if "loss" in entry)


def test_resume_refuses_another_batch_size_accumulation_or_seed(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: each was taken without a word, exit 0 (the run went on drawing other batches than it was trained on)."""
    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # an interrupted run
    before = listing(out)
    common = ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu", "--max-steps", "4",
              "--eval-steps", "0", "--eval-limit", "1", "--resume"]
    for changed, said in ((["--batch-size", "1"], "--batch-size 2 there, 1 now"),
                          (["--batch-size", "2", "--grad-accum", "3"], "--grad-accum 1 there, 3 now"),
                          (["--batch-size", "2", "--seed", "7"], "--seed 0 there, 7 now")):
        assert main([*common, *changed]) == 2
        assert f"--resume: the run in {out} was trained with other settings ({said})" in capsys.readouterr().err
    assert listing(out) == before


def test_resume_with_another_max_steps_follows_the_schedule_of_that_total(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: the first resumed step kept the rate of the checkpoint's 4-step schedule (0.005 at step 3), the later ones
    that of the 6-step one."""
    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # interrupted after step 2
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu", "--max-steps", "6",
                 "--batch-size", "2", "--learning-rate", "1e-2", "--logging-steps", "1", "--eval-steps", "0", "--eval-limit", "1",
                 "--resume"]) == 0, capsys.readouterr().err
    rates = {entry["step"]: entry["learning_rate"] for entry in log(out) if "learning_rate" in entry}
    assert [rates[step] for step in (3, 4, 5, 6)] == pytest.approx([0.01 * left / 6 for left in (4, 3, 2, 1)])  # a straight 6-step run's


def test_resume_without_batch_size_accumulation_or_seed_takes_the_run_s(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: "--resume: the run in OUT was trained with other settings (batch_size 2 there, 1 now)", a batch size the
    user never gave, while a left-out --learning-rate was taken from the run."""
    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")  # an interrupted run
    recorded = json.loads((out / "rau_run.json").read_text())
    assert (recorded["batch_size"], recorded["grad_accum"], recorded["seed"]) == (2, 1, 0)
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu", "--max-steps", "4",
                 "--eval-steps", "0", "--eval-limit", "1", "--resume"]) == 0, capsys.readouterr().err
    assert json.loads((out / "rau_run.json").read_text()) == recorded
    assert (out / "adapter_model.safetensors").is_file()
