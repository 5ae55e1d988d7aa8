"""Fixtures of the fine-tuning tests: a pairs folder from HC18 and a 4-step SFT run of the tiny Qwen2.5-VL on it (built
once per session by conftest.py's ``pairs`` and ``sft_adapter``, with :func:`build_pairs` and :func:`train_sft_adapter`:
a test that changes either works on a copy)."""

from __future__ import annotations

import contextlib
import json
import shutil

import pytest

import rau.train.evaluation
from rau.cli import main
from train_data import hc18_manifest


@contextlib.contextmanager
def capped_held_out_answers():
    """Held-out answers of at most 8 tokens, not inference's limits: the random tiny model never ends one, and these
    tests check that evaluation runs and is logged, not what it scores. Training runs in this process, so it sees the cap."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rau.train.evaluation, "answer_tokens", lambda task, truth, bounds: 8)
        yield


@pytest.fixture(scope="module", autouse=True)
def short_held_out_answers():
    """:func:`capped_held_out_answers` for every test of a module that imports this fixture."""
    with capped_held_out_answers():
        yield


def build_pairs(shared_data, tiny_qwen, folder):
    """``rau train build-pairs`` on six HC18 pictures (a third held out), into ``folder / "pairs"``."""
    manifest = hc18_manifest(shared_data, folder, 6)
    code = main(["train", "build-pairs", "--data", str(manifest), "--out", str(folder / "pairs"), "--model", str(tiny_qwen),
                 "--references-per-target", "1", "--val-fraction", "0.34", "--seed", "0"])
    assert code == 0
    return folder / "pairs"


def sft_command(tiny_qwen, pairs, out) -> list[str]:
    """The command line of :func:`sft_adapter`'s run: 4 steps, checkpoints and held-out evaluations at steps 2 and 4."""
    return ["train", "sft", "--model", str(tiny_qwen), "--data", str(pairs), "--out", str(out), "--device", "cpu",
            "--max-steps", "4", "--batch-size", "2", "--learning-rate", "1e-2", "--logging-steps", "1",
            "--save-steps", "2", "--eval-steps", "2", "--eval-limit", "2"]


def train_sft_adapter(tiny_qwen, pairs, out):
    """:func:`sft_command`'s run into ``out``, its held-out answers capped as in the modules that use it."""
    with capped_held_out_answers():
        assert main(sft_command(tiny_qwen, pairs, out)) == 0
    return out


def interrupted(sft_adapter, tmp_path):
    """A copy of :func:`sft_adapter`'s run stopped after its checkpoint at step 2."""
    out = shutil.copytree(sft_adapter, tmp_path / "run")
    for name in ("adapter_model.safetensors", "rau_adapter.json"):
        (out / name).unlink()
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    return out


def log(folder):
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def listing(folder):
    """Every file under ``folder``, by its relative path, with its bytes: what a refused command must leave as it was."""
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
