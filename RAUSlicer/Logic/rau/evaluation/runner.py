"""Runs an engine over manifest cases and scores each structure against truth."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rau.engines import Engine, Progress, Reference, Request
from rau.engines.base import Cancelled, check_references, run_request, validate_request
from rau.errors import InputError, failure_reason
from rau.evaluation.manifest import Case
from rau.evaluation.metrics import TRUTH_TOO_SMALL, not_scored, presence_accuracy, structure_metrics
from rau.fusion import dice
from rau.image import Image
from rau.io import read_image, read_segmentation
from rau.io.run_outputs import write_outputs
from rau.labels import LabelSet, Segmentation, names_in_words, normalize_name
from rau.models.loader import ModelNotAvailableError
from rau.reference_names import distinct_names
from rau.result import Result
from rau.user_warnings import collected_warnings, record

SEGMENT_SEG_NRRD = "rau segment --seg-nrrd on the case writes a Slicer segmentation that keeps them whole"
"""What keeps a prediction's overlapping structures whole: rau evaluate writes no ``.seg.nrrd``."""


@dataclass
class CaseScore:
    """The scores of one case: a row per structure, the time, and reference ranking facts.

    A case that could not run has ``error`` (its reason) and rows with status ``error``; a case an interrupted
    evaluation never reached has ``ran`` false and rows with status ``not_run``. ``warnings``: what scoring it says (left
    out structures, how names met, truth lost on the grid); ``run_warnings``: what reading and running it said, in
    order, each once (also a failed case's, before it failed).
    """

    target: str
    references: list[str]
    seconds: float
    rows: list[dict]
    ranking: dict | None = None
    result: Result | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    ran: bool = True
    run_warnings: list[str] = field(default_factory=list)
    target_image: str = ""
    """The target file as the manifest gives it, which a failure's reason may name in place of ``target``."""

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class Prediction:
    """Where ``rau evaluate --predictions`` writes a case's segmentation (:func:`rau.io.run_outputs.output_paths`,
    checked by the caller) and the inputs its result JSON records, as ``rau segment``'s does (``rau correct`` reads them),
    with the run's ``warnings`` before the case's (an engine option the engine does not read). Without ``overwrite``
    (``--overwrite``) a file there is never replaced nor removed, not even one another run wrote after the caller's check."""

    paths: dict
    inputs: dict
    warnings: list[str] = field(default_factory=list)
    overwrite: bool = False


RUN_STOPPERS = (Cancelled, ModelNotAvailableError)
"""Failures that are not a case's and stop the whole run: a cancel, and a model that cannot be used (its weights
hold NaN ...), which an engine loads on the first case that needs it and every case would meet again; its message
names the option (``--sam2-model DIR: ...``), which the command line reports as an unusable argument (exit 2)."""


def try_case(engine: Engine, case: Case, progress: Progress | None = None, prediction: Prediction | None = None) -> CaseScore:
    """The score of :func:`scored_case` (``prediction``: where the engine's result is written), but a case that fails
    is returned as failed with its reason (and what was said before) instead of raising; :data:`RUN_STOPPERS` still
    stop everything."""
    said: list[str] = []
    try:
        return scored_case(engine, case, prediction, progress, said)[0]
    except Exception as error:  # noqa: BLE001  (any failure is this case's, reported in its rows)
        return case_failed(case, case_failure(error), prediction, said)


def case_failure(error: Exception) -> str:
    """Why one case failed with ``error``, for its rows (:func:`rau.errors.failure_reason`: a bug as ``internal error
    (...)``), the evaluation going on; :data:`RUN_STOPPERS` are raised again, to stop it."""
    if isinstance(error, RUN_STOPPERS):
        raise error
    return failure_reason(error)


def scored_case(engine: Engine, case: Case, prediction: Prediction | None = None, progress: Progress | None = None,
                said: list[str] | None = None) -> tuple[CaseScore, tuple[list[Reference], Image, Segmentation]]:
    """Read ``case`` and score ``engine`` on it (:func:`score_run`), the engine's result written to ``prediction``
    (None: nothing written) as ``rau segment`` writes one: label map, label table and result JSON, all or none. What
    reading and running the case said, printed as it comes, is recorded there and in the score's ``run_warnings``, and
    added to ``said`` (given: also when the case fails). Also the case's references, target and truth."""
    said = [] if said is None else said
    try:
        with collected_warnings(echo=True) as collected:
            loaded = load_case(case)
            score = score_run(engine, case, *loaded, progress)
    finally:
        said += dict.fromkeys(collected)  # each once
    score.run_warnings = said
    if prediction:
        write_outputs(score.result, prediction.paths, prediction.overwrite, inputs=prediction.inputs,
                      warnings=[*prediction.warnings, *said], keeps_whole=SEGMENT_SEG_NRRD, references=loaded[0])
    return score, loaded


def case_failed(case: Case, reason: str, prediction: Prediction | None, said: list[str] = ()) -> CaseScore:
    """A case that failed for ``reason`` (:func:`failed_case`), with what reading and running it ``said`` before; with
    ``--overwrite``, an earlier run's files in its ``prediction`` are removed, so the folder holds no segmentation the
    figures do not score (without it, the files there are another run's, written since this one checked)."""
    if prediction and prediction.overwrite:
        for path in prediction.paths.values():
            path.unlink(missing_ok=True)
    failed = failed_case(case, reason)
    failed.run_warnings = list(said)
    return failed


def failed_case(case: Case, reason: str, ran: bool = True) -> CaseScore:
    """A failed case: one ``error`` row per structure the manifest names (one unnamed row when it names none);
    ``ran`` false: a case never reached (rows ``not_run``)."""
    status = "error" if ran else "not_run"
    rows = [{"structure": name, **not_scored(status), "confidence": math.nan, "error": reason} for name in case.structures or [""]]
    return CaseScore(case.name, distinct_names(entry.image for entry in case.references), 0.0, rows, error=reason, ran=ran,
                     target_image=str(case.target_image))


def score_run(engine: Engine, case: Case, references: list[Reference], target: Image, truth: Segmentation, progress: Progress | None = None) -> CaseScore:
    """Run ``engine`` on loaded case data and score it (the score keeps the result)."""
    request, labels = scored_request(case, references, target, truth)
    started = time.perf_counter()
    result = run_request(engine, request, progress, say=record)  # told with the scores below, recorded as rau segment does
    seconds = time.perf_counter() - started
    matched = truth_names(references[0], truth)
    lost = truth_lost_on_grid(references[0], truth)
    scored = [item.structure.name for item in result.structures if item.structure.name not in lost]

    def truth_of(name: str) -> np.ndarray:  # made when scored, one at a time: a label map's masks are made when asked for
        return truth.masks[matched[name]] if name in matched else np.zeros(target.shape, bool)

    rows = []
    for item in result.structures:
        name = item.structure.name
        metrics = structure_metrics(item.mask, truth_of(name), target) if name in scored else not_scored(TRUTH_TOO_SMALL)
        rows.append({"structure": name, **metrics, "confidence": round(float(item.confidence), 4)})
    transfers = result.details.get("transfers")  # kept of two or more references only
    ranking = ranking_quality(transfers, result.details.get("ranking"), {name: truth_of(name) for name in scored})
    warnings = request.input_warnings() + matching_warnings(labels, truth, case.structures)
    warnings += lost_truth_warnings(case.target_labels, [row["structure"] for row in rows if row["status"] == TRUTH_TOO_SMALL])
    return CaseScore(case.name, [r.name for r in references], seconds, rows, ranking, result, warnings=warnings)


def check_case_references(case: Case, references: list[Reference]) -> None:
    """:func:`~rau.engines.base.check_references` for a manifest case's references, each named by its manifest line."""
    check_references(references, [entry.place for entry in case.references], structures=case.structures)


def scored_request(case: Case, references: list[Reference], target: Image, truth: Segmentation) -> tuple[Request, LabelSet]:
    """The request a case runs and the reference's structures it can score (:func:`scorable_labels`); raises
    :class:`~rau.errors.InputError` for a request no engine can serve (:func:`~rau.engines.base.validate_request`:
    said before the truth's names) and when its truth holds none of them (:func:`truth_mismatch`)."""
    check_case_references(case, references)
    request = Request(references, target, case.structures, target_path=Path(case.target_image))
    validate_request(request)
    labels = scorable_labels(references[0].segmentation, request.labels().names, request.left_out())
    mismatch = truth_mismatch(labels, truth)
    if mismatch:
        raise InputError(mismatch)
    return request, labels


def truth_names(reference: Reference, truth: Segmentation) -> dict[str, str]:
    """Each reference structure that the truth names (by name, else by label value) -> the truth's name of it."""
    return {mine.name: theirs.name for mine, theirs in reference.segmentation.labels.match(truth.labels)}


def truth_masks(reference: Reference, truth: Segmentation) -> dict[str, np.ndarray]:
    """The truth mask of each reference structure that the truth names (:func:`truth_names`).
    A structure the truth does not name is absent from the target: scored against an empty mask."""
    return {mine: truth.masks[theirs] for mine, theirs in truth_names(reference, truth).items()}


def truth_lost_on_grid(reference: Reference, truth: Segmentation) -> set[str]:
    """The reference structures whose truth structure has voxels in its file but none on the target's grid
    (:attr:`~rau.labels.Segmentation.lost_on_grid`): they are not scored (:data:`~rau.evaluation.metrics.TRUTH_TOO_SMALL`)."""
    return {mine for mine, theirs in truth_names(reference, truth).items() if theirs in truth.lost_on_grid}


def lost_truth_warnings(truth_path, names: list[str]) -> list[str]:
    """What a user must know of the structures ``names`` whose truth (``truth_path``) vanished on the target's grid."""
    if not names:
        return []
    return [f"{truth_path}: structures of the truth that cover no voxel centre of the target's grid once resampled onto "
            f"it (too small or thin for its voxels) were not scored: {names_in_words(names)} (status {TRUTH_TOO_SMALL})"]


def scorable_labels(reference: Segmentation, answered: list[str], left_out=()) -> LabelSet:
    """The structures of the (first) reference a case can score: those it has voxels of, those the engine answers
    for (``answered``: the request's) and those ``left_out`` names (warned of already). A label table may name many
    more (every organ of a protocol), which no truth structure should match."""
    answered = set(answered)
    said = {normalize_name(name) for name in left_out}
    held = [s for s in reference.labels if s.name in answered or reference.has_voxels(s.name) or normalize_name(s.name) in said]
    return LabelSet(tuple(held), named=reference.labels.named)


def matching_warnings(labels: LabelSet, truth: Segmentation, asked: list[str] | None = None) -> list[str]:
    """What a user must know about how the reference's structures met the truth's (:func:`truth_masks`): matched
    by label value although one side names its structures, or structures with voxels in the truth (in its file: also
    one too small for the target's grid) that matched none of the reference's (they are not scored). With ``asked``
    (the case's structures), those are spoken of only when an asked structure met none in the truth (it may be one
    of them under another name): before, a case asking for three organs was warned of every other organ of the truth
    that its reference lacked."""
    warnings = []
    if labels.named != truth.labels.named:
        named, plain = ("reference", "truth") if labels.named else ("truth", "reference")
        warnings.append(f"the {named}'s structures have names but the {plain}'s do not (no label table): they were "
                        "matched by label value; give the table to match them by name")
    pairs = labels.match(truth.labels)
    matched = {theirs.name for _, theirs in pairs}
    unmatched = [name for name in truth.labels.names if name not in matched and (truth.has_voxels(name) or name in truth.lost_on_grid)]
    if asked and all(labels.find(name) in {mine for mine, _ in pairs} for name in asked):
        unmatched = []  # every asked structure has its truth: the others were not asked for
    if unmatched and matched:
        warnings.append(f"structures of the truth matched no structure of the reference and were not scored: "
                        f"{names_in_words(unmatched)}; check the names or label tables")
    return warnings


def truth_mismatch(labels: LabelSet, truth: Segmentation) -> str | None:
    """Why a case's truth cannot score the reference's structures ``labels`` (:func:`scorable_labels`): it holds
    structures and none of them is one of the reference's (by name, else by value); None when it can. Scored, every
    structure would count as absent and every painted one as a false positive, an engine's error for a labelling one."""
    if labels.match(truth.labels) or not truth.present():
        return None
    by_value = not (labels.named and truth.labels.named)  # then the values did not meet: say them

    def listed(structures: LabelSet) -> str:
        return ", ".join(f"{s.name!r} = value {s.value}" if by_value else repr(s.name) for s in structures)

    return (f"no structure of the truth ({listed(truth.present())}) is one of the reference's ({listed(labels)}); "
            "check the names or label tables")


def load_case(case: Case) -> tuple[list[Reference], Image, Segmentation]:
    """The case's references, its target image and the target's truth segmentation."""
    references = case.load_references()
    target = read_image(case.target_image, case.target_spacing)
    with collected_warnings(echo=True):  # said, but not the run's to record: rau segment reads no truth
        truth = read_segmentation(case.target_labels, geometry=target, label_table=case.label_tables()[-1], pixel_spacing=case.target_spacing,
                                  image_path=case.target_image)
    return references, target, truth


def ranking_quality(transfers: dict | None, ranking: list | None, truths: dict[str, np.ndarray]) -> dict | None:
    """How well the engine's reference ranking of two or more references predicts each reference's own Dice.

    The Dice figures need the engine to keep every reference's transferred masks (``details["transfers"]``, the
    registration engine's); without them only ``references`` is given, each with its score and similarity.
    ``truths`` holds the truth mask of each structure the case scores; every reference's Dice is
    their mean over those the truth has, as ``mean_dice``: a structure the reference lacks, or
    that lands outside the target, counts 0. Reports Spearman's rho between the ranking score and
    single-reference Dice (and between the image similarity and Dice, where the ranking score is
    another; from three references on, see :func:`_spearman`), the Dice of the top-ranked reference, of the best one
    (the ceiling of perfect ranking) and the mean over all references (how well single registrations do). Each is the
    reference's own Dice as registered in the pool (a pool registers 2D references upright only), not that of the
    reference run alone (a single reference also tries 2D starts turned +-30 degrees): the two may differ; ``references``
    lists each in ranking order with its score, similarity and own Dice, so that a low top-1 Dice can be traced to the reference that ranked first.
    """
    present = {name: mask for name, mask in truths.items() if mask.any()}
    if not ranking or len(ranking) < 2:
        return None
    if not transfers:
        return {"references": [{key: entry[key] for key in ("reference", "score", "similarity")} for entry in ranking]}
    if not present:
        return None
    scores = []
    for entry in ranking:
        masks = transfers[entry["reference"]]
        scores.append(float(np.mean([dice(np.zeros_like(mask) if masks.get(name) is None else masks[name], mask)
                                     for name, mask in present.items()])))
    similarity = [entry["similarity"] for entry in ranking]
    ranking_score = [entry["score"] for entry in ranking]
    return {
        "spearman_score_vs_dice": _spearman(ranking_score, scores),
        "spearman_similarity_vs_dice": _spearman(similarity, scores),
        "top1_dice": round(scores[0], 4),
        "best_single_dice": round(max(scores), 4),
        "mean_single_dice": round(float(np.mean(scores)), 4),
        "references": [{"reference": entry["reference"], "score": entry["score"], "similarity": entry["similarity"], "dice": round(dice_of, 4)}
                       for entry, dice_of in zip(ranking, scores)],
    }


def _spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rho, or None where it is undefined (all of ``a`` or all of ``b`` alike: tied Dice) or says nothing
    (two values: +1 or -1 whatever they are)."""
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:  # ties: spearmanr would warn on stderr and give NaN
        return None
    from scipy.stats import spearmanr  # here, not at the top: scipy.stats takes about a second to import, in every `rau` start

    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else round(rho, 4)


def summarize(scores: list[CaseScore]) -> dict:
    """Overall and per-structure means over the cases that ran, detection counts, failed cases, mean time;
    ``mean_dice`` is the headline. Cases never reached (``ran`` false) count nowhere, structures not scored
    (:data:`~rau.evaluation.metrics.TRUTH_TOO_SMALL`) only in their own count and their structure's ``cases``."""
    failed = sum(score.failed for score in scores if score.ran)
    scores = [score for score in scores if not score.failed]
    rows = [row for score in scores for row in score.rows]
    per_structure: dict[str, list[dict]] = {}
    spelling: dict[str, str] = {}  # one structure spelt otherwise by another case (Liver, liver) is one row, as names match everywhere
    for row in rows:
        name = spelling.setdefault(normalize_name(row["structure"]), row["structure"])
        per_structure.setdefault(name, []).append(row)
    summary = {
        "mean_dice": _mean(r["dice"] for r in rows),
        "mean_hd95_mm": _mean(r["hd95_mm"] for r in rows),
        "mean_box_iou": _mean(r["box_iou"] for r in rows),
        "mean_centroid_mm": _mean(r["centroid_mm"] for r in rows),
        "detected": sum(r["status"] == "detected" for r in rows),
        "missed": sum(r["status"] == "missed" for r in rows),
        "false_positive": sum(r["status"] == "false_positive" for r in rows),
        TRUTH_TOO_SMALL: sum(r["status"] == TRUTH_TOO_SMALL for r in rows),
        "presence_accuracy": presence_accuracy(r["status"] for r in rows),
        "cases": len(scores),
        "failed_cases": failed,
        "mean_seconds_per_case": _mean(s.seconds for s in scores),
        "structures": {name: _structure_summary(items) for name, items in per_structure.items()},
    }
    rankings = [s.ranking for s in scores if s.ranking]
    if rankings:
        summary["ranking"] = {key: _mean(r[key] for r in rankings if r[key] is not None) for key in rankings[0] if key != "references"}
    return summary


def _structure_summary(rows: list[dict]) -> dict:
    """One structure's mean Dice and HD95, ``n`` the Dice values they average (a structure absent from both the
    truth and the answer, or found where the truth has none, has no Dice) and ``cases`` all its rows."""
    dice = [r["dice"] for r in rows if r["dice"] is not None and not math.isnan(r["dice"])]
    return {"dice": _mean(dice), "hd95_mm": _mean(r["hd95_mm"] for r in rows), "n": len(dice), "cases": len(rows)}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return round(float(np.mean(values)), 4) if values else None
