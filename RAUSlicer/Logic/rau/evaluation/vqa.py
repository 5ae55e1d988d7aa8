"""VQA and box evaluation of a VLM, as in the RAU paper: presence, identity, box IoU / hit rate.

For one reference/target pair with the target's truth, :func:`evaluate_pair` asks, on each
view of :mod:`rau.vlm.key_slices` (reference, target and truth in LPS voxel order, as the
localizer and training see them):

* **presence**: for every legend structure, "is it visible in image 2?" (truth: the structure
  has voxels on the target slice);
* **identity**: for every structure present on the target slice, its truth box drawn in
  yellow, "which reference structure is this?";
* **localization**: the engine's own request (:class:`rau.vlm.localizer.VLMLocalizer`); box
  IoU against the truth box on the target slice, a hit when IoU >= ``HIT_IOU``.

It returns one record per question; :func:`summarize` turns records into accuracies.
:func:`evaluate_cases` does this for every reference/target pair of an evaluation manifest
(``rau evaluate MANIFEST --vqa``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from rau.boxes import Box
from rau.engines.base import Progress, Reference, Request
from rau.evaluation.manifest import Case
from rau.evaluation.metrics import TRUTH_TOO_SMALL
from rau.evaluation.runner import case_failure, load_case, lost_truth_warnings, matching_warnings, scored_request, truth_lost_on_grid, truth_masks
from rau.image import Image
from rau.labels import Segmentation
from rau.render import render_boxed, render_overlay, render_plain
from rau.user_warnings import collected_warnings, warn
from rau.vlm.answers import parse_identity, parse_presence
from rau.vlm.backend import Backend
from rau.vlm.key_slices import orient_request_lps, orient_segmentation_lps, plan_views
from rau.vlm.localizer import VLMLocalizer, warn_cut_short
from rau.vlm.prompts import identity_messages, presence_messages

HIT_IOU = 0.5
ANSWER_TOKENS = 32


def evaluate_pair(backend: Backend, reference: Reference, target: Image, truth: Segmentation, names=None,
                  per_structure: bool = False, target_name: str | None = None) -> list[dict]:
    """Records ``{task, structure, truth, answer, correct | iou}`` for one pair; ``per_structure``: the boxes are
    asked one structure a request (``--vlm-per-structure``), as the engine would; ``target_name``: as errors name it.
    A structure whose truth vanished on the target's grid (:func:`~rau.evaluation.runner.truth_lost_on_grid`) is not
    asked: its one record has status :data:`~rau.evaluation.metrics.TRUTH_TOO_SMALL`, as in engine mode."""
    lost = truth_lost_on_grid(reference, truth)
    request = orient_request_lps(Request([reference], target, names, target_name=target_name))
    reference, target = request.references[0], request.target
    truths = truth_masks(reference, orient_segmentation_lps(truth))  # matched as rau evaluate matches: by name, else by value
    names = request.labels().names
    records = [{"task": "presence", "structure": name, "status": TRUTH_TOO_SMALL} for name in names if name in lost]
    for view in plan_views(reference.segmentation, reference.image, target, names):
        planes = {n: reference.segmentation.mask(n)[view.reference_slice] for n in names}  # each mask made once
        legend = [n for n in names if planes[n].any()]
        slice_ref, slice_target = reference.image.array[view.reference_slice], target.array[view.target_slice]
        overlay = render_overlay(slice_ref, [planes[n] for n in legend],
                                 backend.family.model_size(slice_ref.shape[1], slice_ref.shape[0], f"reference {reference.name!r}"))
        size = backend.family.model_size(slice_target.shape[1], slice_target.shape[0], request.target_called())
        for name in (n for n in view.names if n not in lost):
            truth_box = _truth_box(truths, name, view.target_slice)
            reply = backend.generate(presence_messages(overlay, render_plain(slice_target, size), legend, name), ANSWER_TOKENS)
            answer = parse_presence(reply.text, name, reply.cut_short)
            if reply.cut_short:
                warn_cut_short(ANSWER_TOKENS, [name] if answer.present is None else [])
            records.append({"task": "presence", "structure": name, "truth": truth_box is not None, "answer": answer.present,
                            "correct": answer.present == (truth_box is not None)})
            if truth_box is not None:
                edges = (truth_box.lower[0], truth_box.lower[1], truth_box.upper[0], truth_box.upper[1])
                boxed = render_boxed(slice_target, edges, size)
                reply = backend.generate(identity_messages(overlay, boxed, legend), ANSWER_TOKENS)
                chosen, _ = parse_identity(reply.text, legend, reply.cut_short)
                if reply.cut_short:
                    warn_cut_short(ANSWER_TOKENS, [] if chosen else [name])
                records.append({"task": "identity", "structure": name, "truth": name, "answer": chosen, "correct": chosen == name})
    for name, found in VLMLocalizer(backend, per_structure).localize(request, Progress()).items():
        k = found.answer.get("target_slice")
        truth_box = _truth_box(truths, name, k) if k is not None else None
        if truth_box is not None:
            records.append(box_record(name, truth_box, found.present, found.box, Box.iou))
    return records


def box_record(structure: str, truth_box, present: bool | None, box, iou) -> dict:
    """The record of a box question on ``structure``, present in the truth as ``truth_box``: the IoU (``iou(truth_box,
    box)``) of the box answered, 0 when the answer says it absent or gives none; a hit from :data:`HIT_IOU`. A structure
    absent in the truth gives no box record (its presence is the presence question's)."""
    score = iou(truth_box, box) if present and box is not None else 0.0
    return {"task": "box", "structure": structure, "iou": score, "hit": score >= HIT_IOU}


def evaluate_cases(backend: Backend, cases: Iterable[Case], per_structure: bool = False) -> Iterator[tuple[list[dict], list[dict]]]:
    """Case by case, as each is done: :func:`evaluate_pair`'s records on each of its references and its warnings
    (``{target, reference, warning}``: each said as it comes, as :func:`rau.user_warnings.warn` says it), both naming
    their ``target`` and ``reference``. The truth meets the reference
    as ``rau evaluate``'s engine mode has it meet (:func:`~rau.evaluation.runner.scored_request`, with its warnings).
    A pair that cannot be asked about (unreadable files, a 3D reference for a 2D target, a truth none of whose
    structures is the reference's ..., or a bug) is one record of task and status ``error`` with the reason
    (:func:`failed_pair`), as ``rau evaluate`` reports a failed case; the others are asked."""
    for case in cases:
        try:
            references, target, truth = load_case(case)
        except Exception as error:  # noqa: BLE001  (any failure is this case's, reported in its record)
            yield [failed_pair({"target": case.name, "reference": None}, error)], []
            continue
        records, warnings = [], []
        for reference in references:
            pair = {"target": case.name, "reference": reference.name}
            found = []  # what the truth's matching and grid tell of the pair, said below with its names
            with collected_warnings(echo=True) as said:  # what reading and asking say, printed as it comes
                try:
                    request, labels = scored_request(case, [reference], target, truth)
                    found += matching_warnings(labels, truth, case.structures)
                    asked = evaluate_pair(backend, reference, target, truth, case.structures, per_structure, request.target_name)
                    records += [{**pair, **record} for record in asked]
                    found += lost_truth_warnings(case.target_labels, [record["structure"] for record in asked if record.get("status") == TRUTH_TOO_SMALL])
                except Exception as error:  # noqa: BLE001  (any failure is this pair's, reported in its record)
                    records.append(failed_pair(pair, error))
            for warning in found:
                warn(f"{pair_name(pair)}: {warning}")
            warnings += [{**pair, "warning": warning} for warning in [*found, *said]]
        yield records, warnings


def failed_pair(pair: dict, error: Exception) -> dict:
    """The record of a ``pair`` (its target and reference) that failed with ``error``: task and status ``error``, and
    why, as engine mode gives a failed case's (:func:`~rau.evaluation.runner.case_failure`, which raises a failure
    that stops the run)."""
    return {**pair, "task": "error", "status": "error", "error": case_failure(error)}


def pair_name(record: dict) -> str:
    """A --vqa record's target and, where it has one, reference: ``001.png with 002.png``."""
    return record["target"] + (f" with {record['reference']}" if record["reference"] else "")


def summarize(records: list[dict]) -> dict:
    """Presence and identity accuracy, mean box IoU and hit rate (None where no question was asked); the structures
    not asked (:data:`~rau.evaluation.metrics.TRUTH_TOO_SMALL`) count only in their own count."""
    def share(task, key):
        values = [r[key] for r in records if r["task"] == task and r.get("status") != TRUTH_TOO_SMALL]
        return (float(np.mean(values)) if values else None), len(values)

    presence, presence_n = share("presence", "correct")
    identity, identity_n = share("identity", "correct")
    iou, box_n = share("box", "iou")
    hit, _ = share("box", "hit")
    return {
        "failed_pairs": sum(r["task"] == "error" for r in records),
        "presence_accuracy": presence, "presence_questions": presence_n,
        "identity_accuracy": identity, "identity_questions": identity_n,
        "mean_box_iou": iou, "box_hit_rate": hit, "box_hit_iou": HIT_IOU, "boxes": box_n,
        TRUTH_TOO_SMALL: sum(r.get("status") == TRUTH_TOO_SMALL for r in records),
    }


def _truth_box(truths: dict[str, np.ndarray], name: str, k: int) -> Box | None:
    """The truth box of ``name`` on target slice ``k`` (None when absent there or unknown to the truth)."""
    mask = truths.get(name)
    if mask is None:
        return None
    plane = np.zeros_like(mask)
    plane[k] = mask[k]
    return Box.from_mask(plane)
