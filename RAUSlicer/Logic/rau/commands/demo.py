"""``rau demo``: run the bundled real cases and print their Dice tables (no download needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rau.commands.engine_options import engine_options, given_options
from rau.commands.progress_bar import progress_bar
from rau.demo import run_case
from rau.demo_cases import CASE_ENGINES, DEMO_CASES, SAMPLE_DATA
from rau.engines import DEFAULT_ENGINE, one_reference, top_k_beyond_pool, unused_options
from rau.engines.checks import checked_engine, warn_ignored
from rau.errors import OptionError
from rau.evaluation.manifest import Case, case_files, largest_pool, read_manifest
from rau.evaluation.report import print_table
from rau.evaluation.runner import summarize
from rau.io.atomic import folders_held, output_set, signals_deferred
from rau.io.outputs import check_no_stray_tables, check_outputs
from rau.labels import in_words
from rau.user_warnings import warn


def run(args: argparse.Namespace) -> int:
    repeated = [name for name in dict.fromkeys(args.cases) if args.cases.count(name) > 1]
    if repeated:  # else its outputs were said to land on one file twice, a name the user did not give
        raise OptionError(f"--cases names {repeated[0]} twice")
    out = Path(args.out)
    outputs = [out / name / file for name in args.cases for file in ("prediction.nii.gz", "prediction.labels.csv", "overlay.png")]
    inputs = [SAMPLE_DATA / DEMO_CASES[name] for name in args.cases]
    cases = {name: read_manifest(path) for name, path in zip(args.cases, inputs)}
    check_outputs(outputs, inputs + case_files([case for rows in cases.values() for case in rows]), args.overwrite)
    for name in args.cases:
        check_no_stray_tables(out / name / "prediction.nii.gz", outputs, "choose another --out")
    options = engine_options(args, keep_transfers=True)
    engine_names = {name: args.engine or CASE_ENGINES.get(name, DEFAULT_ENGINE) for name in args.cases}
    engines = {name: checked_engine(engine_names[name], options) for name in args.cases}  # all before any case
    warn_options_cases_ignore(engine_names, {name: rows[0] for name, rows in cases.items()}, given_options(args))  # rau.demo.run_case runs row 1
    with folders_held(outputs), signals_deferred() as hold, output_set():  # every case's files are placed together when the last case ends
        for name in args.cases:
            print(f"\n== {name} ({engine_names[name]} engine)")
            with progress_bar(name) as progress:
                score = run_case(name, engines[name], out, args.overwrite, progress)
            print_table(summarize([score]))
        hold()  # Ctrl-C now waits until every file is renamed: all cases' outputs or none
    for name in args.cases:
        print(f"wrote {out / name}/prediction.nii.gz, prediction.labels.csv and overlay.png")
    return 0


def warn_options_cases_ignore(engines: dict[str, str], cases: dict[str, Case], given: dict) -> None:
    """Warn once of each engine option in ``given`` that a case's engine (``engines``: ``{case name: engine}``) does
    not read, or not with that case's references (:func:`rau.engines.unused_options`, the rule ``rau segment``
    follows), each reason naming the cases it applies to (``--top-k is ignored for abdominal_ct: it has one reference
    per target: ...``): another case may use the option. Then, case by case, a ``--top-k`` above the case's references
    (:func:`rau.engines.top_k_beyond_pool`)."""
    cases_by_reason: dict[str, dict[str, list[str]]] = {}
    for name, engine in engines.items():
        for option, reason in unused_options(engine, given, largest_pool([cases[name]])).items():
            cases_by_reason.setdefault(option, {}).setdefault(reason, []).append(name)
    the_run_has_one = one_reference("the run has")

    def for_cases(reason: str, names: list[str]) -> str:
        said = one_reference("it has" if len(names) == 1 else "they have") if reason == the_run_has_one else reason
        return f"for {in_words(names)}: {said}"

    warn_ignored({option: "; ".join(for_cases(reason, names) for reason, names in by_reason.items())
                  for option, by_reason in cases_by_reason.items()}, scoped=True)
    for name, engine in engines.items():
        if note := top_k_beyond_pool(engine, given, largest_pool([cases[name]]), f"{name} has"):
            warn(note)
