"""``rau evaluate``: run an engine over a manifest of cases with truth and report metrics.

With ``--vqa`` it scores the vision-language model itself instead (:mod:`rau.evaluation.vqa`).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from rau.cli import UsageError
from rau.commands.engine_options import add_engine_arguments, engine_options
from rau.engines import create_engine
from rau.evaluation import vqa
from rau.evaluation.manifest import read_manifest
from rau.evaluation.report import fmt, print_table
from rau.evaluation.runner import evaluate_case, summarize
from rau.io.atomic import atomic_path, check_writable
from rau.vlm.backend import create_backend

CSV_COLUMNS = ["target", "references", "structure", "status", "dice", "hd95_mm", "box_iou", "centroid_mm", "confidence", "seconds"]
VQA_CSV_COLUMNS = ["target", "reference", "task", "structure", "truth", "answer", "correct", "iou", "hit"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="score an engine on cases with truth (Dice, HD95, box IoU ...)")
    parser.add_argument("manifest", help="CSV: reference_image,reference_labels,target_image,target_labels[,structures,...]")
    parser.add_argument("--json", metavar="OUT", help="write per-case and summary numbers as JSON (a CSV of rows goes beside it)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N cases")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--vqa", action="store_true", help="score the VLM (--vlm-model or --vlm-server) instead of an engine: presence and identity accuracy, box IoU and hit rate")
    add_engine_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    json_path = Path(args.json) if args.json else None
    if json_path:
        check_writable(json_path, args.overwrite)
        check_writable(json_path.with_suffix(".csv"), args.overwrite)
    cases = read_manifest(args.manifest)[: args.limit]
    if args.vqa:
        return run_vqa(args, cases, json_path)
    engine = create_engine(args.engine, engine_options(args, keep_transfers=True))
    scores = [evaluate_case(engine, case) for case in _progress(cases, f"rau evaluate ({args.engine})")]
    summary = summarize(scores)
    print_table(summary)
    if json_path:
        write_outputs(json_path, args, scores, summary)
    return 0


def run_vqa(args: argparse.Namespace, cases, json_path: Path | None) -> int:
    """``--vqa``: ask the VLM presence and identity questions and for boxes on every pair, score against truth."""
    if not (args.vlm_model or args.vlm_server):
        raise UsageError("--vqa scores a vision-language model: name it with --vlm-model (Hugging Face id or local folder) or --vlm-server URL")
    records = vqa.evaluate_cases(create_backend(engine_options(args)), _progress(cases, "rau evaluate --vqa"))
    summary = vqa.summarize(records)
    print_vqa_table(summary)
    if json_path:
        rows = [_clean(record) for record in records]
        document = {"mode": "vqa", "manifest": str(args.manifest), "vlm_model": args.vlm_model, "vlm_server": args.vlm_server, "summary": summary, "records": rows}
        write_json_and_csv(json_path, args.overwrite, document, VQA_CSV_COLUMNS, rows)
    return 0


def _progress(cases, description: str):
    """The cases with a progress bar on stderr when it is a terminal."""
    return tqdm(cases, desc=description, file=sys.stderr, disable=not sys.stderr.isatty())


def print_vqa_table(summary: dict) -> None:
    """Presence and identity accuracy, box IoU and hit rate, each with its number of questions."""
    print(f"{'question':<9}  {'n':>4}  {'score':>6}")
    print(f"{'presence':<9}  {summary['presence_questions']:>4}  {fmt(summary['presence_accuracy'])}  accuracy")
    print(f"{'identity':<9}  {summary['identity_questions']:>4}  {fmt(summary['identity_accuracy'])}  accuracy")
    print(f"{'box':<9}  {summary['boxes']:>4}  {fmt(summary['mean_box_iou'])}  mean IoU, hit rate {fmt(summary['box_hit_rate']).strip()} (IoU >= {summary['box_hit_iou']})")


def write_outputs(json_path: Path, args, scores, summary) -> None:
    """JSON with summary and per-case rows, and a flat CSV of rows."""
    cases = [{"target": s.target, "references": s.references, "seconds": round(s.seconds, 3), "ranking": s.ranking, "structures": [_clean(r) for r in s.rows]} for s in scores]
    document = {"engine": args.engine, "manifest": str(args.manifest), "mean_dice": summary["mean_dice"], "summary": summary, "cases": cases}
    rows = [
        {"target": score.target, "references": ";".join(score.references), "seconds": round(score.seconds, 3), **_clean(row)}
        for score in scores
        for row in score.rows
    ]
    write_json_and_csv(json_path, args.overwrite, document, CSV_COLUMNS, rows)


def write_json_and_csv(json_path: Path, overwrite: bool, document: dict, columns: list[str], rows: list[dict]) -> None:
    """``document`` as JSON and ``rows`` as a CSV beside it (same name, ``.csv``); both written atomically."""
    with atomic_path(json_path, overwrite) as temporary:
        temporary.write_text(json.dumps(document, indent=2))
    with atomic_path(json_path.with_suffix(".csv"), overwrite) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    print(f"wrote {json_path} and {json_path.with_suffix('.csv')}")


def _clean(row: dict) -> dict:
    """NaN -> None and floats rounded, for JSON and CSV."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
