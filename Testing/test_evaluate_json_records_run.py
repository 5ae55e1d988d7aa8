"""``rau evaluate --json`` records what produced its scores: the engine options as each case's result JSON records
them (models, adapter and device among them), and the warnings the run said, in engine mode and with ``--vqa``."""

from __future__ import annotations

import json
from pathlib import Path

import rau
from rau.cli import main
from test_model_folder_checks import _adapter

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"


def one_case(folder: Path) -> Path:
    """``cases.csv``: the HC18 sample 000 as the reference of target 001, with its truth."""
    path = folder / "cases.csv"
    path.write_text("reference_image,reference_labels,target_image,target_labels\n"
                    f"{HC18 / '000_HC.png'},{HC18 / '000_HC_mask.png'},{HC18 / '001_HC.png'},{HC18 / '001_HC_mask.png'}\n")
    return path


def test_an_engine_evaluation_records_its_options_as_its_predictions_do_and_the_runs_warnings(tiny_sam2, tmp_path, capsys):
    """Before: the JSON held the engine's name only; the options were in the predictions' result JSONs alone."""
    scores = tmp_path / "scores.json"
    main(["evaluate", str(one_case(tmp_path)), "--engine", "registration+sam2", "--sam2-model", str(tiny_sam2["always"]),
          "--device", "cpu", "--top-k", "2", "--no-deformable", "--json", str(scores), "--predictions", str(tmp_path / "predictions")])
    said = capsys.readouterr().err
    document = json.loads(scores.read_text())
    [result] = (tmp_path / "predictions").glob("*.result.json")
    assert document["engine_options"] == json.loads(result.read_text())["inputs"]["engine_options"]
    assert (document["engine_options"]["sam2_model"], document["engine_options"]["device"]) == (str(tiny_sam2["always"]), "cpu")
    assert document["warnings"] and all(f"warning: {warning}" in said for warning in document["warnings"])
    assert any(warning.startswith("--top-k is ignored: ") for warning in document["warnings"])


def test_a_vqa_evaluation_records_its_adapter_and_device_and_every_warning_it_said(tiny_qwen, tmp_path, capsys):
    """Before: two adapters' JSONs differed only in their scores, and the tiny model's answers cut short were said
    ("the VLM's answer was cut at ... tokens") but its ``warnings`` stayed []."""
    adapter = _adapter(tmp_path / "adapter")
    scores = tmp_path / "vqa.json"
    main(["evaluate", str(one_case(tmp_path)), "--vqa", "--vlm-model", str(tiny_qwen), "--vlm-adapter", str(adapter),
          "--device", "cpu", "--top-k", "2", "--json", str(scores)])
    said = capsys.readouterr().err
    document = json.loads(scores.read_text())
    options = document["engine_options"]
    assert (options["vlm_model"], options["vlm_adapter"], options["device"]) == (str(tiny_qwen), str(adapter), "cpu")
    warnings = document["warnings"]
    assert warnings[0] == {"target": None, "reference": None, "warning": "--top-k is ignored: --vqa does not use it"}
    cut = [warning for warning in warnings if "the VLM's answer was cut at" in warning["warning"]]
    assert cut and all((warning["target"], warning["reference"]) == ("001_HC.png", "000_HC.png") for warning in cut)
    assert said.count("warning: the VLM's answer was cut at") == len(cut)
