"""``rau evaluate`` with a truth drawn on a finer grid than the target's: a structure too small to cover any of the
target's voxel centres is said and not scored, instead of counting as absent (the engine's answer a false positive)."""

from __future__ import annotations

import csv
import json

import numpy as np
from single_slice import write_picture

from rau.cli import main
from rau.image import Image
from rau.io import write_image

FINER = 3
"""The truth's pixels per target pixel along each side."""


def lost_truth_case(tmp_path):
    """A manifest ``cases.csv`` in ``tmp_path``: target t.png, its reference r.png (the target, one pixel apart) with
    liver and spleen, and a truth drawn 3 times finer whose spleen is one fine pixel between the target's pixel centres."""
    rows, cols = np.mgrid[:64, :64]
    liver, spleen = (rows - 24) ** 2 + (cols - 26) ** 2 < 10**2, (rows - 44) ** 2 + (cols - 42) ** 2 < 6**2
    picture = (40 + 130 * liver + 190 * spleen + np.random.default_rng(5).normal(0, 6, rows.shape)).clip(0, 255).astype(np.uint8)
    labels = (liver + 2 * spleen).astype(np.uint8)
    write_picture(picture, tmp_path / "t.png")
    picture[0, 0] += 1  # the reference is the target itself, one pixel apart: the engine answers with its labels
    write_picture(picture, tmp_path / "r.png")
    write_picture(labels, tmp_path / "r_mask.png")
    fine = np.repeat(np.repeat(labels == 1, FINER, axis=0), FINER, axis=1).astype(np.uint8)
    fine[FINER * 44 + 1, FINER * 42 + 1] = 2  # inside the spleen, a third of a pixel off the target's pixel centre
    step = 1 / FINER  # the target's 1 mm pixels (read as such: it has no pixel size), both grids from the same origin
    write_image(Image(fine[None], spacing=(step, step, 1.0), ndim=2), tmp_path / "truth.nrrd")
    for name in ("r_mask", "truth"):
        (tmp_path / f"{name}.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels\nr.png,r_mask.png,t.png,truth.nrrd\n")


def test_a_truth_structure_smaller_than_a_target_pixel_is_said_and_not_scored(tmp_path, capsys):
    """Before, the spleen of a truth drawn 3 times finer, one fine pixel between the target's pixel centres, vanished
    on the target's grid without a word: the engine's spleen was a false positive and presence accuracy 0.5."""
    lost_truth_case(tmp_path)

    assert main(["evaluate", str(tmp_path / "cases.csv"), "--no-deformable", "--json", str(tmp_path / "scores.json")]) == 0
    said = f"{tmp_path / 'truth.nrrd'}: structures of the truth that cover no voxel centre of the target's grid once resampled onto it"
    assert f"warning: t.png: {said}" in capsys.readouterr().err
    scores = json.loads((tmp_path / "scores.json").read_text())
    case = scores["cases"][0]
    assert case["warnings"] == [f"{said} (too small or thin for its voxels) were not scored: 'spleen' (status truth_too_small)"]
    assert [(row["structure"], row["status"], row["dice"]) for row in case["structures"]] == [
        ("liver", "detected", 1.0), ("spleen", "truth_too_small", None)]  # before: spleen false_positive
    with open(tmp_path / "scores.csv", newline="") as handle:
        assert [(row["structure"], row["status"], row["dice"]) for row in csv.DictReader(handle)] == [
            ("liver", "detected", "1.0"), ("spleen", "truth_too_small", "")]
    summary = scores["summary"]
    assert (summary["presence_accuracy"], summary["false_positive"], summary["truth_too_small"], summary["mean_dice"]) == (1.0, 0, 1, 1.0)
    assert summary["structures"]["spleen"] == {"dice": None, "hd95_mm": None, "n": 0, "cases": 1}


def test_a_truth_structure_lost_on_the_grid_under_another_name_is_said_to_match_nothing(tmp_path, capsys):
    """Before: a truth naming its spleen "splen", too small for the target's pixels, was left out of the warning of
    truth structures that matched none of the reference's (it named only those with voxels once resampled), so the
    engine's spleen counted as a false positive without a word of the truth's."""
    lost_truth_case(tmp_path)
    (tmp_path / "truth.labels.csv").write_text("value,name\n1,liver\n2,splen\n")

    assert main(["evaluate", str(tmp_path / "cases.csv"), "--no-deformable", "--json", str(tmp_path / "scores.json")]) == 0
    case = json.loads((tmp_path / "scores.json").read_text())["cases"][0]
    assert [(row["structure"], row["status"]) for row in case["structures"]] == [("liver", "detected"), ("spleen", "false_positive")]
    assert "structures of the truth matched no structure of the reference and were not scored: 'splen'; check the names or label tables" in case["warnings"]
