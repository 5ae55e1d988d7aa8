"""``rau demo``'s command line: which bundled cases, the output folder (what it does: :mod:`rau.commands.demo`)."""

from __future__ import annotations

from rau.commands.engine_options import add_engine_arguments
from rau.demo_cases import CASE_ENGINES, DEMO_CASES
from rau.engines import DEFAULT_ENGINE
from rau.validation import argument, non_empty_path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="segment bundled real ultrasound, CT and angiogram cases and print Dice")
    parser.add_argument("--out", default="rau-demo", type=argument(non_empty_path, "--out"), help="output folder (default: ./rau-demo)")
    parser.add_argument("--cases", nargs="+", choices=sorted(DEMO_CASES), default=list(DEMO_CASES), help="which demo cases (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier demo output")
    add_engine_arguments(parser, None, f"default: each case's own ({', '.join(f'{engine} for {case}' for case, engine in CASE_ENGINES.items())}, "
                                       f"{DEFAULT_ENGINE} for the others)")
    parser.set_defaults(run="rau.commands.demo:run")
