"""A damaged picture in a manifest fails its own case (exit 1, the others scored or segmented, the JSON and CSV or the
batch summary written), whether or not its pixel-size cell is filled: a file that cannot be read takes no part in
the pixel-size check (it is neither "without a pixel size" nor "with one"), and the read that follows names it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image as Picture

import rau
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
REFERENCE_SPACING = "0.28"
DAMAGED = "not a readable image (image file is truncated)"


@pytest.fixture
def cohort(tmp_path, monkeypatch) -> Path:
    """``tmp_path``, the working folder, with reference 000 and a good target 002 (with their masks, at a quarter of
    their size: fast) and ``cut.png``, 001 cut in half."""
    for name in ("000_HC.png", "000_HC_mask.png", "001_HC_mask.png", "002_HC.png", "002_HC_mask.png"):
        with Picture.open(HC18 / name) as picture:
            picture.resize((picture.width // 4, picture.height // 4), Picture.Resampling.NEAREST).save(tmp_path / name)
    whole = (HC18 / "001_HC.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def manifest(cut_spacing: str) -> str:
    """``cases.csv``: ``cut.png`` (pixel size ``cut_spacing``, maybe empty) then 002, both against reference 000 in mm."""
    path = Path("cases.csv")
    path.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
                    f"000_HC.png,000_HC_mask.png,{REFERENCE_SPACING},cut.png,001_HC_mask.png,{cut_spacing}\n"
                    f"000_HC.png,000_HC_mask.png,{REFERENCE_SPACING},002_HC.png,002_HC_mask.png,0.25\n")
    return str(path)


@pytest.mark.parametrize("cut_spacing", ["", "0.36"])
def test_an_evaluation_scores_the_other_case(cohort, capsys, cut_spacing):
    """Before, with the cell empty: "cases.csv line 2: cut.png: not a readable image ...", exit 2, nothing written,
    002 not scored (and before that, "a picture without a pixel size, while ... has one")."""
    scores = cohort / "scores.json"
    assert main(["evaluate", manifest(cut_spacing), "--json", str(scores), "--no-deformable"]) == 1
    assert f"failed: cut.png: {DAMAGED}" in capsys.readouterr().err
    cases = {case["target"]: case for case in json.loads(scores.read_text())["cases"]}
    assert (cases["cut.png"]["status"], cases["cut.png"]["error"]) == ("error", f"cut.png: {DAMAGED}")
    assert cases["002_HC.png"]["status"] == "ok" and cases["002_HC.png"]["structures"][0]["dice"] > 0
    with open(scores.with_suffix(".csv"), newline="") as handle:
        assert {row["target"]: row["status"] for row in csv.DictReader(handle)} == {"cut.png": "error", "002_HC.png": "detected"}


def test_a_batch_segments_the_other_target(cohort, capsys):
    """Before: "cases.csv line 2: cut.png: not a readable image ...", exit 2, no output for 002."""
    out = cohort / "out"
    assert main(["batch", manifest(""), "--out", str(out), "--workers", "1", "--no-deformable"]) == 1
    assert f"failed: {cohort / 'cut.png'}: {DAMAGED}" in capsys.readouterr().err
    with open(out / "batch_summary.csv", newline="") as handle:
        assert {row["target"]: row["status"] for row in csv.DictReader(handle)} == {"cut": "failed", "002_HC": "done"}
    assert (out / "002_HC.nii.gz").is_file() and not list(out.glob("cut.*"))


def test_a_mix_among_the_readable_pictures_is_still_refused(cohort, capsys):
    """Leaving the damaged reference out, a good reference without a pixel size beside a target with one is the mix
    refused as before, naming the good reference, and nothing is written."""
    argv = ["segment", "--reference", "cut.png", "--reference-labels", "001_HC_mask.png", "--reference", "000_HC.png",
            "--reference-labels", "000_HC_mask.png", "--target", "002_HC.png", "--target-spacing", "0.25", "--out", "out/002.nii.gz"]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("rau segment: error: --reference 000_HC.png: a picture without a pixel size, while --target 002_HC.png has one")
    assert not (cohort / "out").exists()
