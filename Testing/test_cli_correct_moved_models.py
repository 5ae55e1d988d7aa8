"""``rau correct`` on a ``rau``-engine result made with a ``--vlm-adapter`` (tiny Qwen2.5-VL, tiny SAM2): the adapter
and ``--sam2-revision`` are replaced like the other model options, and a ``--vlm-server`` given drops the recorded
local model and adapter (the server holds its own)."""

from __future__ import annotations

import json
import shutil

import pytest
from chat_server import ChatServer
from test_serve import write_two_halves

from rau.cli import main
from rau.options import DEFAULTS

RECORDED = ("(options not given here are the ones the result recorded; --device, --model-cache, --sam2-model, --sam2-revision, "
            "--vlm-model, --vlm-adapter, --vlm-server replace them)")


def lora_adapter(tiny_qwen, folder):
    """A LoRA adapter trained on nothing (its B matrices are zero) for the tiny Qwen, as ``rau train`` saves one."""
    peft = pytest.importorskip("peft")
    from rau.vlm.backend import create_backend

    model = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model
    peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)")).save_pretrained(folder)
    return folder


def test_a_rau_result_made_with_an_adapter_is_corrected_with_the_adapter_moved_or_on_a_vlm_server(tiny_qwen, tiny_sam2, tmp_path, capsys):
    """Before: with the adapter moved, "error: --vlm-adapter ...: no such folder (... --vlm-model, --vlm-server replace
    them)", ``--vlm-adapter`` and ``--sam2-revision`` "unrecognized arguments", and ``--vlm-server`` "--vlm-adapter
    applies to a local model; load the adapter on the server instead": the result could not be corrected."""
    (reference, labels, _), target, table = write_two_halves(tmp_path)
    adapter = lora_adapter(tiny_qwen, tmp_path / "adA")
    out = tmp_path / "out" / "halves.nii.gz"
    assert main(["segment", "--engine", "rau", "--vlm-model", str(tiny_qwen), "--vlm-adapter", str(adapter), "--sam2-model",
                 str(tiny_sam2["always"]), "--device", "cpu", "--reference", str(reference), "--reference-labels", str(labels),
                 "--label-table", str(table), "--target", str(target), "--out", str(out)]) == 0, capsys.readouterr().err
    moved = shutil.move(adapter, tmp_path / "adB")  # the adapter lies elsewhere now (another machine)
    saved = out.with_name("halves.result.json")
    correct = ["correct", str(saved), "--structure", "left", "--box", "8,16,31,47"]
    capsys.readouterr()

    assert main([*correct, "--out", str(tmp_path / "out" / "a.nii.gz")]) == 2
    error = capsys.readouterr().err
    assert f"error: --vlm-adapter {adapter}: " in error and error.rstrip().endswith(RECORDED)

    assert main([*correct, "--vlm-adapter", str(moved), "--sam2-revision", "main", "--out", str(tmp_path / "out" / "b.nii.gz")]) == 0
    said = capsys.readouterr().err.splitlines()
    assert ("warning: --sam2-revision is ignored: a revision applies only to a Hugging Face id, and --sam2-model names a "
            "local folder") in said
    recorded = json.loads((tmp_path / "out" / "b.result.json").read_text())["inputs"]["engine_options"]
    assert (recorded["vlm_model"], recorded["vlm_adapter"], recorded["sam2_revision"]) == (str(tiny_qwen), str(moved), "main")

    answer = json.dumps([{"label": "left", "present": True, "bbox_2d": [8, 16, 31, 47]},
                         {"label": "right", "present": True, "bbox_2d": [32, 16, 55, 47]}])
    with ChatServer(lambda body: answer) as server:
        code = main([*correct, "--vlm-server", server.url, "--out", str(tmp_path / "out" / "c.nii.gz")])
    assert code == 0, capsys.readouterr().err
    assert server.requests  # the rerun asked the server, not the local model
    recorded = json.loads((tmp_path / "out" / "c.result.json").read_text())["inputs"]["engine_options"]
    assert (recorded["vlm_server"], recorded["vlm_model"], recorded["vlm_adapter"]) == (server.url, DEFAULTS.vlm_model, None)
