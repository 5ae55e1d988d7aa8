"""Printing evaluation summaries as plain-text tables."""

from __future__ import annotations

import math
import sys

from rau.errors import about
from rau.evaluation.metrics import TRUTH_TOO_SMALL


def print_table(summary: dict) -> None:
    """Per-structure cases, Dice values (n) and their mean, HD95, then the overall line; distances in the summary's
    ``distance_unit`` (mm unless it says otherwise: ``px`` for pictures without a pixel size)."""
    width = max([len(n) for n in summary["structures"]] + [9])
    unit = summary.get("distance_unit", "mm")
    distance = max(8, len(f"HD95 {unit}"))  # mixed units read "mm/px"
    print(f"{'structure':<{width}}  {'cases':>5}  {'n':>3}  {'Dice':>6}  {'HD95 ' + unit:>{distance}}")
    for name, numbers in summary["structures"].items():
        print(f"{name:<{width}}  {numbers['cases']:>5}  {numbers['n']:>3}  {fmt(numbers['dice'])}  {fmt(numbers['hd95_mm'], distance, 1)}")
    print(
        f"mean Dice {fmt(summary['mean_dice']).strip()}  HD95 {fmt(summary['mean_hd95_mm'], 0, 1).strip()} {unit}  "
        f"box IoU {fmt(summary['mean_box_iou']).strip()}  centroid {fmt(summary['mean_centroid_mm'], 0, 1).strip()} {unit}  "
        f"detected {summary['detected']} missed {summary['missed']} false positives {summary['false_positive']}"
        + (f" not scored (truth too small) {summary[TRUTH_TOO_SMALL]}" if summary.get(TRUTH_TOO_SMALL) else "") + "  "
        f"presence accuracy {fmt(summary.get('presence_accuracy')).strip()}  "
        + _cases_said(summary)
    )
    if summary.get("ranking"):
        ranking = summary["ranking"]
        print(
            f"reference ranking: Spearman(ranking score, Dice) {fmt(ranking.get('spearman_score_vs_dice')).strip()} "
            f"(image similarity: {fmt(ranking['spearman_similarity_vs_dice']).strip()}), "
            f"top-1 Dice in the pool {fmt(ranking['top1_dice']).strip()}, "
            f"best single reference Dice in the pool {fmt(ranking['best_single_dice']).strip()} "
            "(as registered in the pool; run alone, a reference may score otherwise)"
        )


def _cases_said(summary: dict) -> str:
    """How many cases ran, how many of them failed, and the mean time of those scored (``summary["cases"]``)."""
    failed = summary.get("failed_cases", 0)
    ran = summary["cases"] + failed
    return (f"{ran} case{'s' if ran != 1 else ''}" + (f" ({failed} failed)" if failed else "")
            + f", {fmt(summary['mean_seconds_per_case'], 0, 1).strip()} s per {'scored ' if failed else ''}case")


def print_failures(scores) -> None:
    """On stderr, one line per failed case (its target and the reason) and per warning about a case's scoring."""
    for score in scores:
        if score.failed:
            print(f"failed: {about(score.target, score.error, score.target_image)}", file=sys.stderr)
        for warning in score.warnings:
            print(f"warning: {score.target}: {warning}", file=sys.stderr)


def fmt(value, width: int = 6, digits: int = 3) -> str:
    """A number right-aligned in ``width`` with ``digits`` decimals, or ``-`` for missing values."""
    return f"{'-':>{width}}" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:>{width}.{digits}f}"
