"""What `--resume` keeps of a run besides batch, accumulation and seed: its --train-limit, --epochs and GRPO's own
settings, taken from the run when left out and refused when changed; and what it says of another stage's run first."""

from __future__ import annotations

import json
import shutil

from rau.cli import main
from train_fixtures import listing, short_held_out_answers  # noqa: F401  (fixtures)


def test_resume_without_train_limit_trains_the_run_s_questions(pairs, tiny_qwen, tmp_path, capsys):
    """Before: --resume without --train-limit went on with every training question, exit 0 and no word, and its adapter
    differed from the uninterrupted run's; now it takes the run's limit and gives the same adapter, and another limit or
    --epochs is refused."""
    full = tmp_path / "full"
    run = ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--device", "cpu", "--max-steps", "4", "--save-steps", "2",
           "--eval-steps", "0", "--eval-limit", "2"]
    assert main([*run, "--out", str(full), "--train-limit", "4", "--epochs", "3"]) == 0
    assert (json.loads((full / "rau_run.json").read_text())["train_limit"], json.loads((full / "rau_run.json").read_text())["epochs"]) == (4, 3)
    out = shutil.copytree(full, tmp_path / "interrupted")
    for name in ("adapter_model.safetensors", "rau_adapter.json"):
        (out / name).unlink()
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    command = [*run, "--out", str(out), "--resume"]
    before = listing(out)
    for changed, said in ((["--train-limit", "3"], "--train-limit 4 there, 3 now"), (["--epochs", "5"], "--epochs 3.0 there, 5.0 now")):
        assert main([*command, *changed]) == 2
        assert f"--resume: the run in {out} was trained with other settings ({said})" in capsys.readouterr().err
    assert listing(out) == before
    assert main(command) == 0, capsys.readouterr().err
    assert (out / "adapter_model.safetensors").read_bytes() == (full / "adapter_model.safetensors").read_bytes()


GRPO_RUN = ["--device", "cpu", "--max-steps", "2", "--save-steps", "1", "--batch-size", "2", "--num-generations", "2",
            "--max-completion-length", "8", "--temperature", "0.5", "--beta", "0.1", "--reward-weight", "format=0.25",
            "--eval-steps", "0", "--eval-limit", "1"]


def test_grpo_resume_keeps_the_run_s_generation_settings(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: --resume took GRPO's defaults for a left-out --num-generations, --temperature, --beta, --reward-weight or
    --max-completion-length, and another value given, without a word."""
    from rau.train.grpo import GRPO_DEFAULTS
    from rau.train.run import FineTuneSettings, with_run_defaults

    out = tmp_path / "grpo"
    common = ["train", "grpo", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out)]
    assert main([*common, "--adapter", str(sft_adapter), *GRPO_RUN]) == 0
    shutil.rmtree(out / "checkpoints" / "checkpoint-2")  # stopped after step 1
    taken = with_run_defaults(FineTuneSettings(str(tiny_qwen), str(pairs), str(out), resume=True), "grpo", GRPO_DEFAULTS)
    assert taken.stage_settings == {"num_generations": 2, "max_completion_length": 8, "temperature": 0.5, "beta": 0.1,
                                    "reward_weights": {"format": 0.25, "correctness": 1.0, "box_iou": 1.0}}
    before = listing(out)
    resume = [*common, "--adapter", str(sft_adapter), "--device", "cpu", "--max-steps", "2", "--eval-steps", "0", "--eval-limit", "1", "--resume"]
    for changed, said in ((["--num-generations", "4"], "--num-generations 2 there, 4 now"),  # before: the batch multiple error
                          (["--num-generations", "4", "--batch-size", "4"], "--batch-size 2 there, 4 now; --num-generations 2 there, 4 now"),
                          (["--temperature", "1"], "--temperature 0.5 there, 1.0 now"),
                          (["--beta", "0"], "--beta 0.1 there, 0.0 now"),
                          (["--max-completion-length", "9"], "--max-completion-length 8 there, 9 now"),
                          (["--reward-weight", "format=0.5"], "--reward-weight format=0.25 correctness=1.0 box_iou=1.0 there, "
                                                            "format=0.5 correctness=1.0 box_iou=1.0 now")):
        assert main([*resume, *changed]) == 2
        assert f"--resume: the run in {out} was trained with other settings ({said}" in capsys.readouterr().err
    assert listing(out) == before


def test_grpo_resume_of_an_sft_run_names_the_stage_before_the_batch(sft_adapter, pairs, tiny_qwen, tmp_path, capsys):
    """Before: "batch size x grad accumulation (1) must be a multiple of num_generations (4), which must be at least 2",
    the 1 being the SFT run's batch size, when no --batch-size was given."""
    out = shutil.copytree(sft_adapter, tmp_path / "adapter")
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    assert main(["train", "grpo", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu",
                 "--resume"]) == 2
    assert f"--resume: the run in {out} is a `rau train sft` run" in capsys.readouterr().err
