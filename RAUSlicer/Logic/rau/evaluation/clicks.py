"""The simulated user of ``rau evaluate --clicks N``: corrections where the error is largest.

After the engine, each structure gets up to N clicks through ``Result.session``. A click goes
to the centre (the maximum of the distance transform) of the largest connected error region:
an inside point in a false-negative region, an outside point in a false-positive one, the
protocol behind the NoC metric of interactive segmentation (SAM, SimpleClick, nnInteractive).
Reported: mean Dice after 0..N clicks and NoC@0.80 / NoC@0.90 (clicks to reach that Dice,
N when never reached).
"""

from __future__ import annotations

import numpy as np

from rau.engines import Engine, Progress
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.evaluation.manifest import Case
from rau.evaluation.runner import CaseScore, Prediction, case_failed, case_failure, scored_case, truth_masks
from rau.fusion import dice
from rau.image import Image, orient_lps, orient_lps_mask
from rau.result import voxels

NOC_THRESHOLDS = (0.80, 0.90)


def next_click(prediction: np.ndarray, truth: np.ndarray, target: Image) -> tuple[tuple[int, int, int], int] | None:
    """The (i, j, k) point and label (1 inside, 0 outside) of the next click on ``target``, or None when nothing is
    wrong. A volume is searched in LPS voxel order (:func:`rau.image.orient_lps`), so of several points as deep
    the same is chosen whatever the file's voxel order. Depth is counted in voxels: in millimetres, the
    corrector's zones (which follow the click's depth) grew less, and a CT slab's Dice after 3 clicks fell
    from 0.528 to 0.492."""
    from scipy import ndimage

    lps = orient_lps(target.with_array(truth.astype(np.uint8)))
    prediction, truth = orient_lps_mask(target, prediction), lps.array > 0
    best = None
    for label, error in ((1, truth & ~prediction), (0, prediction & ~truth)):
        regions, count = ndimage.label(error)
        if not count:
            continue
        sizes = np.bincount(regions.ravel())[1:]
        largest = int(np.argmax(sizes)) + 1
        if best is None or sizes[largest - 1] > best[0]:
            best = (sizes[largest - 1], label, regions == largest)
    if best is None:
        return None
    _, label, region = best
    planar = target.ndim == 2
    padded = np.pad(region[0] if planar else region, 1)  # the image border counts as boundary
    distance = ndimage.distance_transform_edt(padded)[(slice(1, -1),) * padded.ndim]
    index = np.unravel_index(int(np.argmax(distance)), distance.shape)
    k, j, i = (0, *index) if planar else index
    point = np.rint(target.to_index(lps.to_world((i, j, k)))).astype(int)  # the same voxel in the target's own order
    return (int(point[0]), int(point[1]), int(point[2])), label


def simulate(session, name: str, truth: np.ndarray, clicks: int, progress: Progress | None = None) -> list[float]:
    """Dice of ``name`` after 0, 1, ... ``clicks`` simulated corrections (the last value repeats once perfect).

    Each click is a one-point correction (the vessels engine: an inside click renames the piece under it, an outside
    one removes it; it never traces, which takes two clicks in one prompt). A click the session refuses ends the
    curve (the user's click changed nothing). The corrections are undone afterwards, so every structure starts from
    the engine's answer (a vessel correction may also take pixels from other segments)."""
    current = session.results[name]
    prediction = voxels(current, truth.shape)
    curve = [dice(prediction, truth)]
    session.undo_depth = max(session.undo_depth, clicks)
    made = 0
    try:
        for _ in range(clicks):
            click = next_click(prediction, truth, session.target)
            if click is None:
                curve.append(curve[-1])
                continue
            point, label = click
            try:
                item = session.reprompt(name, Prompt(points=[point], labels=[label]), progress)
            except InputError:  # refused (a vessel click off the vessels): nothing changes, and the next click is the same
                curve += [curve[-1]] * (clicks - made)
                break
            made += 1
            prediction = voxels(item, truth.shape)
            curve.append(dice(prediction, truth))
    finally:
        for _ in range(made):
            session.undo(name)
    return curve


def evaluate_case_with_clicks(engine: Engine, case: Case, clicks: int, prediction: Prediction | None = None,
                              said: list[str] | None = None) -> tuple[CaseScore, dict[str, list[float]]]:
    """The engine's score on one case, and each scored structure's Dice-per-click curve; the engine's result, before
    any click, written to ``prediction``, and what reading and running the case said added to ``said``
    (:func:`rau.evaluation.runner.scored_case`)."""
    score, (references, _, truth) = scored_case(engine, case, prediction, said=said)
    if score.result.session is None:
        raise ValueError(f"the {score.result.engine!r} engine returned no correction session")
    truths = truth_masks(references[0], truth)
    curves = {}
    for row in score.rows:
        name = row["structure"]
        if name in truths and truths[name].any():
            curves[name] = simulate(score.result.session, name, truths[name], clicks)
    return score, curves


def try_case_with_clicks(engine: Engine, case: Case, clicks: int, prediction: Prediction | None = None) -> tuple[CaseScore, dict[str, list[float]]]:
    """:func:`evaluate_case_with_clicks`, but a failing case is a failed score with no curves (:data:`RUN_STOPPERS`
    still stop everything; it keeps what was said before it failed)."""
    said: list[str] = []
    try:
        return evaluate_case_with_clicks(engine, case, clicks, prediction, said)
    except Exception as error:  # noqa: BLE001  (any failure is this case's, reported in its rows)
        return case_failed(case, case_failure(error), prediction, said), {}


def noc(curve: list[float], threshold: float) -> int:
    """Clicks needed to reach ``threshold`` Dice (0 when the engine alone does), capped at the clicks given."""
    return next((n for n, value in enumerate(curve) if value >= threshold), len(curve) - 1)


def summarize_clicks(curves: list[list[float]]) -> dict:
    """Mean Dice after each click, and mean NoC with the count of structures that never got there."""
    if not curves:
        return {"structures": 0, "mean_dice_per_click": [], "noc": {}}
    array = np.asarray(curves)
    summary = {"structures": len(curves), "mean_dice_per_click": [round(float(v), 4) for v in array.mean(axis=0)], "noc": {}}
    for threshold in NOC_THRESHOLDS:
        reached = [noc(c, threshold) for c in curves]
        failed = sum(max(c) < threshold for c in curves)
        summary["noc"][f"{threshold:.2f}"] = {"mean": round(float(np.mean(reached)), 3), "not_reached": int(failed)}
    return summary


def print_clicks(summary: dict) -> None:
    """The Dice-per-click curve and the NoC table."""
    if not summary["structures"]:
        print("simulated user: no structure was corrected (no case scored one)")
        return
    clicks = len(summary["mean_dice_per_click"]) - 1
    print(f"simulated user, {summary['structures']} structures, up to {clicks} clicks each")
    print("clicks     " + "".join(f"{n:>7}" for n in range(clicks + 1)))
    print("mean Dice  " + "".join(f"{v:>7.3f}" for v in summary["mean_dice_per_click"]))
    for threshold, numbers in summary["noc"].items():
        print(f"NoC@{threshold}   {numbers['mean']:.2f} (capped at {clicks}; {numbers['not_reached']} never reached it)")
