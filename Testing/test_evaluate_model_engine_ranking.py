"""``rau evaluate`` of a case with several references records the ranking of every engine that ranks them, not only
the registration engine's: each reference in ranking order with its score and similarity (own Dice needs each
reference's own labels, which only the registration engine keeps)."""

import json
from pathlib import Path

import rau
from chat_server import ChatServer
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
SPACING = "0.069135804"


def test_a_vlm_engine_case_records_its_reference_ranking(tmp_path, capsys):
    """Before: ``"ranking": null``, though the vlm-box engine had ranked the two references."""
    manifest = tmp_path / "cases.csv"
    manifest.write_text("reference_image,reference_labels,target_image,target_labels,reference_spacing,target_spacing\n" + "".join(
        f"{HC18 / f'{case}_HC.png'},{HC18 / f'{case}_HC_mask.png'},{HC18 / '001_HC.png'},{HC18 / '001_HC_mask.png'},{SPACING},{SPACING}\n"
        for case in ("000", "002")))
    answer = json.dumps([{"label": "fetal head", "present": True, "bbox_2d": [300, 200, 500, 400]}])
    with ChatServer(lambda body: answer) as server:
        code = main(["evaluate", str(manifest), "--engine", "vlm-box", "--vlm-server", server.url,
                     "--vlm-model", "Qwen/Qwen2.5-VL-7B-Instruct", "--json", str(tmp_path / "scores.json")])
    assert code == 0, capsys.readouterr().err
    ranking = json.loads((tmp_path / "scores.json").read_text())["cases"][0]["ranking"]
    assert sorted(entry["reference"] for entry in ranking["references"]) == ["000_HC.png", "002_HC.png"]
    assert set(ranking["references"][0]) == {"reference", "score", "similarity"}
    scores = [entry["score"] for entry in ranking["references"]]
    assert scores == sorted(scores, reverse=True)
