"""``rau evaluate``: run an engine over a manifest of cases with truth and report metrics.

With ``--vqa`` it scores the vision-language model itself instead (:mod:`rau.evaluation.vqa`).

A case that fails is reported as failed with its reason (status ``error`` in its rows) and
the others are still scored and written. Exit status: 0 when every case ran, 1 when some
failed, 2 for unusable arguments (manifest, options, output paths).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from rau.commands.engine_options import engine_options, given_options
from rau.engines import DEFAULT_ENGINE, VLM_OPTIONS, unused_options
from rau.engines.base import Cancelled
from rau.engines.checks import check_models, checked_engine, warn_ignored, warn_unused_options
from rau.errors import InputError, OptionError, Terminated, about
from rau.evaluation import clicks, vqa
from rau.evaluation.manifest import case_files, largest_pool, read_manifest
from rau.evaluation.parallel import evaluate_in_processes
from rau.evaluation.report import fmt, print_failures, print_table
from rau.evaluation.runner import Prediction, failed_case, summarize, try_case
from rau.io.atomic import atomic_path, folders_held, signals_deferred
from rau.io.images import without_pixel_size
from rau.io.outputs import check_outputs
from rau.io.run_outputs import check_run_outputs, output_paths, recorded_engine_options
from rau.io.segmentations import output_stem
from rau.user_warnings import warn
from rau.vlm.backend import create_backend

CSV_COLUMNS = ["target", "references", "structure", "status", "dice", "hd95_mm", "box_iou", "centroid_mm", "confidence", "seconds", "error",
               "distance_unit"]
NOT_REACHED = "not run: the evaluation was interrupted before this case"
VQA_CSV_COLUMNS = ["target", "reference", "task", "structure", "status", "truth", "answer", "correct", "iou", "hit", "error"]


def run(args: argparse.Namespace) -> int:
    if args.vqa and args.jobs != 1:
        raise OptionError("--jobs applies to engine evaluation; --vqa runs in one process")
    if args.vqa and args.clicks:
        raise OptionError("--clicks simulates corrections of an engine's result; --vqa only asks the VLM questions")
    if args.clicks and args.jobs != 1:
        raise OptionError("--clicks runs the simulated user in one process; leave out --jobs")
    json_path = Path(args.json) if args.json else None
    if json_path and json_path.suffix.lower() != ".json":
        raise OptionError(f"--json {json_path}: name it with .json (a CSV of rows goes beside it)")
    cases = read_manifest(args.manifest)
    if json_path:
        rows = json_path.with_suffix(".csv")
        try:
            check_outputs([json_path, rows], [args.manifest, *case_files(cases)], args.overwrite)
        except InputError as error:  # the rows' CSV is named after --json: say so
            raise InputError(f"--json {json_path} (its rows go to {rows}): {error}") from None
    listed, cases = cases, cases[: args.limit]
    if args.vqa:
        if args.predictions:
            raise OptionError("--predictions writes an engine's segmentations; --vqa only asks the VLM questions")
        return run_vqa(args, cases, json_path)
    args = argparse.Namespace(**{**vars(args), "engine": args.engine or DEFAULT_ENGINE})  # None: not given (--vqa warns of one given)
    options = engine_options(args)  # bad options are refused before any is warned of as unused
    unused = warn_unused_options(args.engine, given_options(args), largest_pool(cases))
    predictions = planned_predictions(args, cases, listed, json_path, options, unused) if args.predictions else None
    units = distance_units(cases)
    run_record = {"engine_options": recorded_engine_options(options), "warnings": unused}
    scores, curves = score_cases(args, cases, json_path, units, run_record, predictions)
    summary = summary_of(scores, units, run_record, curves if args.clicks else None)
    if json_path:  # written first: a table that cannot be printed loses no result
        write_outputs(json_path, args, run_record, scores, summary, curves, units)
    print_table(summary)
    print_failures(scores)
    if args.clicks:
        clicks.print_clicks(summary["clicks"])
    if json_path or args.predictions:
        say_written(json_path, args.predictions)
    return 1 if any(score.failed for score in scores) else 0


def planned_predictions(args: argparse.Namespace, cases, listed, json_path: Path | None, options, warnings: list[str]) -> list[Prediction]:
    """Where each case's segmentation goes in ``--predictions``, numbered by case (as wide as the manifest's ``listed``
    cases need, at least 3 digits: ``--limit`` names them as a whole run does) and named after its target, with the
    inputs ``rau segment`` records (``options``, the engine options) and the run's ``warnings``; refused before any case
    runs where the folder is, or lies in, a file of the
    ``--json`` figures, or where a file would replace an input of the manifest, the ``--json`` figures or, without
    ``--overwrite``, an earlier file. Nothing is written or removed here: each
    case's files replace the earlier ones when they are written, as ``rau segment --overwrite`` replaces its own."""
    folder = Path(args.predictions)
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"--predictions {folder}: a file, not a folder")
    width = max(3, len(str(len(listed))))
    figures = {path.resolve() for path in (json_path, json_path.with_suffix(".csv"))} if json_path else set()
    if figure := next((path for path in (folder.resolve(), *folder.resolve().parents) if path in figures), None):
        raise OptionError(f"--predictions {folder}: --json {json_path} writes the file {figure}, which this folder would be "
                          "or lie in; choose another folder")
    predictions = []
    for number, case in enumerate(cases, 1):
        stem = output_stem(case.target_image)
        paths = output_paths(folder / f"{number:0{width}d}_{stem}.nii.gz", False)
        if clash := next((path for path in paths.values() if path.resolve() in figures), None):
            raise OptionError(f"--predictions {folder}: {clash} is also where --json {json_path} writes; choose another folder or name")
        try:
            check_run_outputs(paths, [args.manifest, *case_files(listed)], args.overwrite,
                              elsewhere="choose another --predictions folder", seg_nrrd_option=False)  # it names its outputs, has no --seg-nrrd
        except InputError as error:
            raise InputError(f"--predictions {folder}: {error}") from None
        predictions.append(Prediction(paths, case.recorded_inputs(options), warnings, args.overwrite))
    return predictions


def distance_units(cases) -> list[str]:
    """Each case's unit of distances (HD95, centroid): ``px`` for a target with no pixel size, neither its own nor given
    (a picture, a DICOM file without one: it works in pixels), else ``mm``."""
    return ["px" if case.target_spacing is None and without_pixel_size(case.target_image) else "mm" for case in cases]


def summary_of(scores, units: list[str], run_record: dict, curves: list[dict] | None = None) -> dict:
    """:func:`summarize` of ``scores`` with the unit of its distances, ``distance_unit``, over the cases scored (``mm``,
    ``px`` or, when their ``units`` mix the two, ``mm/px``, which is warned of and added to ``run_record``'s
    warnings), and with ``curves`` (``--clicks``) their summary under ``clicks``."""
    scored = [(score.target, unit) for score, unit in zip(scores, units) if score.ran and not score.failed]
    in_pixels = [target for target, unit in scored if unit == "px"]
    summary = summarize(scores) | {"distance_unit": "/".join(unit for unit in ("mm", "px") if unit in dict(scored).values()) or "mm"}
    if 0 < len(in_pixels) < len(scored):
        warning = (f"{len(in_pixels)} of {len(scored)} targets have no pixel size (first: {in_pixels[0]}): their HD95 and "
                   "centroid distances are in pixels, averaged with the others' mm; give their target_spacing")
        warn(warning)
        run_record["warnings"] = [*run_record["warnings"], warning]
    if curves is not None:
        summary["clicks"] = clicks.summarize_clicks([curve for case in curves for curve in case.values()])
    return summary


def score_cases(args: argparse.Namespace, cases, json_path: Path | None, units: list[str], run_record: dict,
                predictions: list[Prediction] | None = None) -> tuple[list, list[dict]]:
    """Every case's score and (with ``--clicks``) Dice-per-click curves, in manifest order; each case's engine result
    written to its ``predictions`` (:func:`planned_predictions`) when given; ``run_record``: what the JSON records of
    the run (:func:`write_outputs`).

    A failing case is a failed score, not an exception. When interrupted (Ctrl-C, SIGTERM), every case
    finished is written (with ``--jobs``, also one that finished behind a case still running), the user is
    told, and the interruption goes on.
    """
    options = engine_options(args, keep_transfers=True)
    engine = checked_engine(args.engine, options)  # bad options and models stop here, before any case
    description = f"rau evaluate ({args.engine})"
    outputs = predictions or [None] * len(cases)
    if args.clicks:
        scored = ((index, clicks.try_case_with_clicks(engine, case, args.clicks, outputs[index]))
                  for index, case in enumerate(_progress(cases, f"{description}, {args.clicks} clicks")))
    elif args.jobs == 1:
        scored = ((index, (try_case(engine, case, prediction=outputs[index]), {})) for index, case in enumerate(_progress(cases, description)))
    else:
        scored = ((index, (score, {})) for index, score in _progress(evaluate_in_processes(args.engine, options, cases, args.jobs, predictions),
                                                                     description, len(cases)))

    def write_finished(finished: dict) -> None:
        never_reached = {index: (failed_case(case, NOT_REACHED, ran=False), {}) for index, case in enumerate(cases)}
        scores, curves = _in_order(never_reached | finished)
        summary = summary_of(scores, units, run_record, curves if args.clicks else None)
        write_outputs(json_path, args, run_record, scores, summary, curves, units, interrupted=True)

    return _in_order(_gathered(scored, len(cases), json_path, write_finished))


def _gathered(done, total: int, json_path: Path | None, write_finished) -> dict:
    """``{case index: value}`` of ``done``, a generator of ``(case index, value)`` as the cases finish. When interrupted
    (Ctrl-C, SIGTERM), ``done`` is closed, the cases finished are written with ``write_finished(finished)`` (with
    ``--json``), the user is told, and the interruption goes on."""
    finished = {}
    try:
        for index, value in done:
            finished[index] = value
    except (KeyboardInterrupt, Cancelled, Terminated):
        done.close()  # its worker processes (--jobs) stop now, not when the traceback is freed
        if json_path:
            write_finished(finished)
            say_written(json_path)
        print(f"interrupted after {len(finished)} of {total} cases"
              + (f"; {json_path} holds those finished (the others as not_run)" if json_path else ""), file=sys.stderr)
        raise
    return finished


def _in_order(finished: dict) -> tuple[list, list]:
    """The two parts of each case's value in ``finished`` (``{case index: (scores, curves)}``, or ``--vqa``'s
    ``(records, warnings)``) in manifest order."""
    ordered = [finished[index] for index in sorted(finished)]
    return [first for first, _ in ordered], [second for _, second in ordered]


def run_vqa(args: argparse.Namespace, cases, json_path: Path | None) -> int:
    """``--vqa``: ask the VLM presence and identity questions and for boxes on every pair, score against truth."""
    options = engine_options(args)  # --vlm-model's default without --vlm-model, as for an engine
    check_models("vlm-box", options)  # the VLM's checks, as for an engine that uses it alone: errors name the option
    ignored = [{"target": None, "reference": None, "warning": warning} for warning in warn_ignored(vqa_unused_options(args))]
    backend = create_backend(options)
    asked = vqa.evaluate_cases(backend, _progress(cases, "rau evaluate --vqa"), options.vlm_per_structure)

    def write_finished(finished: dict) -> None:
        never_reached = {index: ([{"target": case.name, "reference": None, "task": "not_run", "status": "not_run", "error": NOT_REACHED}], [])
                         for index, case in enumerate(cases)}
        records, warnings = _joined(never_reached | finished)
        write_vqa_outputs(json_path, args, options, records, ignored + warnings, backend.served_model, interrupted=True)

    records, warnings = _joined(_gathered(((index, done) for index, done in enumerate(asked)), len(cases), json_path, write_finished))
    warnings = ignored + warnings
    if json_path:  # written first: a table that cannot be printed loses no result
        write_vqa_outputs(json_path, args, options, records, warnings, backend.served_model)
    print_vqa_table(vqa.summarize(records))
    if json_path:
        say_written(json_path)
    failed = [record for record in records if record["task"] == "error"]
    for record in failed:
        print(f"failed: {about(vqa.pair_name(record), record['error'])}", file=sys.stderr)
    return 1 if failed else 0


def vqa_unused_options(args: argparse.Namespace) -> dict[str, str]:
    """The options given that ``--vqa`` ignores, each with why: ``--engine`` and the engine options other than the VLM's,
    which it does not use, and those of the VLM that the ``vlm-box`` engine, which asks the same VLM alone, would ignore
    with the others given (:func:`rau.engines.unused_options`: ``--vlm-timeout`` without ``--vlm-server``)."""
    given = given_options(args)
    as_the_vlm_engine = unused_options("vlm-box", {option: value for option, value in given.items() if option in VLM_OPTIONS})
    not_used = {option: "--vqa does not use it" for option in [*(["engine"] if args.engine else []), *given] if option not in VLM_OPTIONS}
    return {**not_used, **as_the_vlm_engine}


def _joined(finished: dict) -> tuple[list[dict], list[dict]]:
    """``--vqa``'s records and warnings of ``finished`` (``{case index: (records, warnings)}``), in manifest order."""
    records, warnings = _in_order(finished)
    return [record for case in records for record in case], [warning for case in warnings for warning in case]


def write_vqa_outputs(json_path: Path, args, options, records: list[dict], warnings: list[dict], served_model: str | None,
                      interrupted: bool = False) -> None:
    """``--vqa``'s JSON (summary, records, warnings said during the run: the run's own with no target; the model asked
    for and, with a server, the one its replies named; the engine options, adapter and device among them, as a result
    JSON records them) and CSV of records (``interrupted``: the cases never reached have a record of task and status ``not_run``)."""
    rows = [_clean(record) for record in records]
    document = {"mode": "vqa", "manifest": str(args.manifest), "vlm_model": options.vlm_model, "vlm_server": options.vlm_server,
                "vlm_server_model": served_model, "engine_options": recorded_engine_options(options), "summary": vqa.summarize(records),
                "records": rows, "warnings": warnings}
    if interrupted:
        document["interrupted"] = True
    write_json_and_csv(json_path, args.overwrite, document, VQA_CSV_COLUMNS, rows)


def _progress(items, description: str, total: int | None = None):
    """The items with a progress bar on stderr when it is a terminal."""
    return tqdm(items, desc=description, total=total, file=sys.stderr, disable=not sys.stderr.isatty())


def print_vqa_table(summary: dict) -> None:
    """Presence and identity accuracy, box IoU and hit rate, each with its number of questions."""
    print(f"{'question':<9}  {'n':>4}  {'score':>6}")
    print(f"{'presence':<9}  {summary['presence_questions']:>4}  {fmt(summary['presence_accuracy'])}  accuracy")
    print(f"{'identity':<9}  {summary['identity_questions']:>4}  {fmt(summary['identity_accuracy'])}  accuracy")
    print(f"{'box':<9}  {summary['boxes']:>4}  {fmt(summary['mean_box_iou'])}  mean IoU, hit rate {fmt(summary['box_hit_rate']).strip()} (IoU >= {summary['box_hit_iou']})")


def write_outputs(json_path: Path, args, run_record: dict, scores, summary, curves: list[dict], units: list[str],
                  interrupted: bool = False) -> None:
    """JSON with ``run_record`` (the engine options, as a result JSON records them, adapter, models and device among
    them, and the warnings the run said of itself), summary and per-case rows (each case's scoring ``warnings`` and the
    ``run_warnings`` reading and running it said) (and Dice-per-click curves with
    ``--clicks``), and a flat CSV of rows (``interrupted``: the cases never reached have status ``not_run``); ``units``:
    each case's unit of distances."""
    cases = [
        {"target": s.target, "references": s.references, "status": _case_status(s), "error": s.error,
         "seconds": round(s.seconds, 3), "ranking": s.ranking, "warnings": s.warnings,
         "run_warnings": s.run_warnings, "distance_unit": unit,
         "structures": [_clean(r) for r in s.rows]}
        for s, unit in zip(scores, units)
    ]
    if args.clicks:
        for case, case_curves in zip(cases, curves):
            case["dice_per_click"] = {name: [round(v, 4) for v in curve] for name, curve in case_curves.items()}
    document = {"engine": args.engine, "manifest": str(args.manifest), **run_record, "mean_dice": summary["mean_dice"], "summary": summary,
                "cases": cases}
    if interrupted:
        document["interrupted"] = True
    rows = [
        {"target": score.target, "references": ";".join(score.references), "seconds": round(score.seconds, 3), **_clean(row),
         "distance_unit": unit}
        for score, unit in zip(scores, units)
        for row in score.rows
    ]
    write_json_and_csv(json_path, args.overwrite, document, CSV_COLUMNS, rows)


def _case_status(score) -> str:
    """``ok``, ``error`` (it failed) or ``not_run`` (an interrupted evaluation never reached it)."""
    return "not_run" if not score.ran else "error" if score.failed else "ok"


def write_json_and_csv(json_path: Path, overwrite: bool, document: dict, columns: list[str], rows: list[dict]) -> None:
    """``document`` as JSON and ``rows`` as a CSV beside it (same name, ``.csv``); both written, or neither, and never
    mixed with another run's pair (:func:`rau.io.atomic.folders_held`)."""
    csv_path = json_path.with_suffix(".csv")
    with folders_held([json_path, csv_path]), signals_deferred() as hold, \
            atomic_path(json_path, overwrite) as json_temporary, atomic_path(csv_path, overwrite) as csv_temporary:
        json_temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
        with open(csv_temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
        hold()


def say_written(json_path: Path | None, predictions: str | None = None) -> None:
    """Tell the user where :func:`write_json_and_csv` wrote and, with ``--predictions``, the folder of the cases'
    segmentations (said after the tables, which come first on screen)."""
    written = [f"{json_path} and {json_path.with_suffix('.csv')}"] if json_path else []
    written += [f"the predictions in {predictions}"] if predictions else []
    print(f"wrote {', and '.join(written)}")


def _clean(row: dict) -> dict:
    """NaN -> None and floats rounded, for JSON and CSV."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
