"""--top-k and --fusion rank and fuse several references: a run with one reference per target warns that it ignores
them, as it warns of any engine option it does not use, and says so in --help."""

import json

from rau.cli import main

HC18 = {"000": "0.069135804", "058": "0.077068008", "001": "0.08965852"}
IGNORED = [f"{flag} is ignored: the run has one reference per target: nothing to rank or fuse" for flag in ("--top-k", "--fusion")]


def pair(shared_data, reference: str) -> list[str]:
    folder = shared_data / "hc18_fetal_head_us"
    return ["--reference", str(folder / f"images/{reference}_HC.png"), "--reference-labels", str(folder / f"masks/{reference}_HC_mask.png"),
            "--reference-spacing", HC18[reference]]


def test_rau_segment_with_one_reference_warns_that_it_ignores_top_k_and_fusion(shared_data, tmp_path, capsys):
    """Before: --fusion staple --top-k 3 with one reference ran without a word."""
    target = ["--target", str(shared_data / "hc18_fetal_head_us/images/058_HC.png"), "--target-spacing", HC18["058"], "--no-deformable"]
    options = ["--top-k", "3", "--fusion", "staple"]
    assert main(["segment", *pair(shared_data, "000"), *target, *options, "--out", str(tmp_path / "one/t.png")]) == 0
    error = capsys.readouterr().err
    assert all(f"warning: {line}" in error for line in IGNORED)
    assert json.loads((tmp_path / "one/t.result.json").read_text())["warnings"] == IGNORED
    assert main(["segment", *pair(shared_data, "000"), *pair(shared_data, "001"), *target, *options, "--out", str(tmp_path / "two/t.png")]) == 0
    assert "is ignored" not in capsys.readouterr().err  # two references: both options are used


def test_rau_batch_whose_targets_have_one_reference_each_warns_that_it_ignores_top_k(shared_data, tmp_path, capsys):
    folder = shared_data / "hc18_fetal_head_us"
    (tmp_path / "targets.csv").write_text("target_image,target_spacing,reference_image,reference_labels,reference_spacing\n"
                                          f"{folder}/images/058_HC.png,{HC18['058']},{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png,{HC18['000']}\n")
    assert main(["batch", str(tmp_path / "targets.csv"), "--out", str(tmp_path / "batch"), "--workers", "1", "--no-deformable", "--top-k", "2"]) == 0
    assert f"warning: {IGNORED[0]}" in capsys.readouterr().err
    assert json.loads((tmp_path / "batch/058_HC.result.json").read_text())["warnings"][:1] == [IGNORED[0]]


def test_help_says_two_references_give_the_best_ranked_ones_labels(capsys):
    try:
        main(["segment", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "fused by registration (from 3; with vote or staple, 2 give the best-ranked one's labels)" in text
    assert "vote (ties: the best-ranked decides, so 2 references give the best-ranked one's labels)" in text
