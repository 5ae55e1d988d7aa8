"""``rau evaluate --vqa`` with a truth structure that vanished on the target's grid: not asked, said and out of
presence accuracy, as in engine mode (``test_cli_evaluate_lost_truth``)."""

from __future__ import annotations

import json

from test_cli_evaluate_lost_truth import lost_truth_case

from rau.cli import main


def test_vqa_does_not_ask_of_a_truth_structure_smaller_than_a_target_pixel_and_says_so(tmp_path, tiny_qwen, capsys):
    """Before: the vanished spleen was asked of as absent (truth False), counted in presence accuracy, no warning."""
    lost_truth_case(tmp_path)
    assert main(["evaluate", str(tmp_path / "cases.csv"), "--vqa", "--vlm-model", str(tiny_qwen), "--device", "cpu",
                 "--json", str(tmp_path / "vqa.json")]) == 0
    said = (f"{tmp_path / 'truth.nrrd'}: structures of the truth that cover no voxel centre of the target's grid once resampled onto "
            "it (too small or thin for its voxels) were not scored: 'spleen' (status truth_too_small)")
    err = capsys.readouterr().err
    assert f"warning: t.png with r.png: {said}" in err
    document = json.loads((tmp_path / "vqa.json").read_text())
    presence = [(r["structure"], r.get("status"), r.get("truth")) for r in document["records"] if r["task"] == "presence"]
    assert ("spleen", "truth_too_small", None) in presence and all(name == "liver" for name, status, _ in presence if status is None), presence
    assert not [r for r in document["records"] if r.get("structure") == "spleen" and r["task"] != "presence"]
    assert said in [w["warning"] for w in document["warnings"]]  # with what else the run said (the tiny model's answers cut short)
    assert all(f"warning: {w['warning']}" in err for w in document["warnings"] if w["warning"] != said)
    summary = document["summary"]
    assert (summary["truth_too_small"], summary["presence_questions"]) == (1, sum(status is None for _, status, _ in presence))
