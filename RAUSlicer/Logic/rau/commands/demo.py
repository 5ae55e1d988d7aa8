"""``rau demo``: run the bundled real cases and print their Dice tables (no download needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rau.commands.engine_options import add_engine_arguments, engine_options
from rau.commands.progress_bar import progress_bar
from rau.demo import DEMO_CASES, run_case
from rau.engines import create_engine
from rau.evaluation.report import print_table
from rau.evaluation.runner import summarize
from rau.io.atomic import check_writable


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="segment bundled real ultrasound and CT cases and print Dice")
    parser.add_argument("--out", default="rau-demo", help="output folder (default: ./rau-demo)")
    parser.add_argument("--cases", nargs="+", choices=sorted(DEMO_CASES), default=list(DEMO_CASES), help="which demo cases (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier demo output")
    add_engine_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    for name in args.cases:
        for file in ("prediction.nii.gz", "prediction.labels.csv", "overlay.png"):
            check_writable(out / name / file, args.overwrite)
    engine = create_engine(args.engine, engine_options(args, keep_transfers=True))
    for name in args.cases:
        print(f"\n== {name} ({args.engine} engine)")
        with progress_bar(name) as progress:
            score = run_case(name, engine, out, args.overwrite, progress)
        print_table(summarize([score]))
        print(f"wrote {out / name}/prediction.nii.gz, prediction.labels.csv and overlay.png")
    return 0
