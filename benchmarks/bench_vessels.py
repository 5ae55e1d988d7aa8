"""Vessel segments on ARCADE angiograms: copy-the-labels, registration and vessels engines on the same pairs.

Run: PYTHONPATH=RAUSlicer/Logic python benchmarks/bench_vessels.py [--skip N] [--limit N] [--bank-cases N] [--json OUT]

* single reference: each manifest pair (reference -> target) through
  - ``copy``: the reference label map pasted onto the target unchanged (the plain baseline),
  - ``registration`` with ``deformable=False`` (affine only, to save CPU),
  - ``vessels`` (this engine);
  each line: mean per-segment Dice (segments present in the target), presence accuracy (segments of
  the reference: present and found, absent and reported absent), seconds per pair (wall clock, and CPU
  seconds of this process, which a machine shared with other jobs inflates less); then the vessel
  engine's Dice over the copy baseline's (n/a when that is 0) and its wall-clock time over the registration engine's;
  - a simulated user: on the vessel engine's result, two clicks per segment present in the target, at
    the two far ends of its true centreline (``VesselSession.reprompt``), then the mean Dice.
* bank: each of the first ``--bank-cases`` targets against the other dev images of the same tree
  (LCA/RCA from pairs.csv) as references, up to ``--bank-size`` of them, ranked by tree match; each
  segment named by the best-ranked reference that has it (top-1) or fused from the top-k that have it;
  also summarized over the targets after the first ``--design-pairs`` (held out from design).
* ``--bank-pairs`` (instead of the above): every (target, bank reference) pair alone, copy and vessels;
  160 single-reference pairs with ``--bank-cases 20 --bank-size 8``. The manifest's 30 pairs are too
  few to compare alignment variants: a change of the alignment's map scored +0.058 there and -0.006
  on these 160 pairs (46 pairs better, 54 worse).
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np

from rau.engines import Engine, Reference, create_engine
from rau.engines.base import Prompt
from rau.fusion import dice
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import load_case, score_run, summarize
from rau.references import load_reference
from rau.result import Result, StructureResult
from rau.validation import argument, non_negative_integer, positive_integer
from rau.vessels.naming import far_ends
from figures import json_file, write_json
from shared_data import SHARED_DATA, require_shared_data

DATA = SHARED_DATA / "arcade_syntax_dev"
NEEDED = [f"arcade_syntax_dev/{name}" for name in ("manifest.csv", "pairs.csv", "labels.csv")]
"""The files this benchmark reads in the shared data folder (and the pictures they name)."""


class CopyLabels(Engine):
    """Baseline: the reference's masks pasted onto the target grid as they are (same 512 px grid)."""

    name = "copy"

    def run(self, request, progress=None) -> Result:
        started = time.perf_counter()
        masks = request.references[0].segmentation.masks
        structures = [StructureResult(s, masks.get(s.name), 1.0, self.name) for s in request.labels()]
        return Result(request.target, structures, self.name, time.perf_counter() - started)


def single_reference(cases, engines: dict, design_pairs: int, bank_cases: int) -> tuple[dict, dict, float]:
    """Each engine on every case (each case loaded once), summarized over all cases and over the
    cases after the first ``design_pairs`` (held out from design), the vessel engine also over the
    first ``bank_cases`` (the bank setting's targets); and the simulated user's mean Dice."""
    scores = {name: [] for name in engines}
    clicked = []
    for case in cases:
        loaded = load_case(case)
        for name, engine in engines.items():
            cpu = time.process_time()
            scores[name].append(score_run(engine, case, *loaded))
            scores[name][-1].cpu_seconds = time.process_time() - cpu
        clicked += two_clicks_per_segment(scores["vessels"][-1].result, loaded[0][0], loaded[2])
    summaries = {name: {**summarize(items), "mean_cpu_seconds_per_case": round(float(np.mean([s.cpu_seconds for s in items])), 3)} for name, items in scores.items()}
    held_out = {name: summarize(items[design_pairs:]) for name, items in scores.items() if items[design_pairs:]}
    if bank_cases:
        held_out["vessels_bank_targets"] = summarize(scores["vessels"][:bank_cases])
        if scores["vessels"][design_pairs:bank_cases]:
            held_out["vessels_bank_targets_held_out"] = summarize(scores["vessels"][design_pairs:bank_cases])
    return summaries, held_out, float(np.mean(clicked))


def two_clicks_per_segment(result, reference, truth) -> list[float]:
    """Dice of each segment present in ``truth`` after two clicks at its true centreline's far ends."""
    session = result.session
    pairs = [(mine.name, theirs.name) for mine, theirs in reference.segmentation.labels.match(truth.labels) if truth.masks[theirs.name].any() and mine.name in session.structures]
    for mine, theirs in pairs:
        start, end = far_ends(truth.masks[theirs][0])
        session.reprompt(mine, Prompt(points=[(start[1], start[0], 0), (end[1], end[0], 0)], labels=[1, 1]))
    return [dice(session.results[mine].mask if session.results[mine].found else np.zeros_like(truth.masks[theirs]), truth.masks[theirs]) for mine, theirs in pairs]


def bank(cases, bank_size: int, top_k: int, design_pairs: int) -> dict:
    """Each target against the other dev images of its tree; per segment the best-ranked reference
    that has it vs the top-k that have it, fused; all targets and those after ``design_pairs``."""
    results = {"vessels_top1": [], f"vessels_top{top_k}": []}
    engines = {"vessels_top1": create_engine("vessels", {"top_k": 1}), f"vessels_top{top_k}": create_engine("vessels", {"top_k": top_k})}
    for case, references in zip(cases, bank_references(cases, bank_size)):
        _, target, truth = load_case(case)
        for name, engine in engines.items():
            results[name].append(score_run(engine, case, references, target, truth))
    summaries = {name: summarize(items) for name, items in results.items()}
    summaries.update({f"{name}_held_out": summarize(items[design_pairs:]) for name, items in results.items() if items[design_pairs:]})
    return summaries


def bank_references(cases, bank_size: int) -> list[list[Reference]]:
    """For each case's target, the first ``bank_size`` other dev images of its tree (LCA/RCA), by image number."""
    trees = {}
    for row in csv.DictReader((DATA / "pairs.csv").open(newline="", encoding="utf-8")):
        for number in (row["reference"], row["target"]):
            trees[number] = row["tree"]
    loaded, banks = {}, []
    for case in cases:
        number = case.target_image.name.split("_")[2]
        others = sorted((n for n, t in trees.items() if t == trees[number] and n != number), key=int)[:bank_size]
        for n in others:
            if n not in loaded:
                found = load_reference(DATA / f"arcade_train_{n}_img.png", DATA / f"arcade_train_{n}_lab.png", 1.0, DATA / "labels.csv")
                loaded[n] = Reference(found.image, found.segmentation, f"arcade_train_{n}")
        banks.append([loaded[n] for n in others])
    return banks


def bank_pairs(cases, bank_size: int) -> dict:
    """Every (target, bank reference) pair of the bank setting alone, copy and vessels: a larger sample
    of single-reference pairs than the manifest's (a reference need not share the target's segments;
    a segment it lacks scores 0 for both)."""
    engines = {"copy": CopyLabels(), "vessels": create_engine("vessels", {})}
    scores = {name: [] for name in engines}
    for case, references in zip(cases, bank_references(cases, bank_size)):
        _, target, truth = load_case(case)
        for reference in references:
            for name, engine in engines.items():
                scores[name].append(score_run(engine, case, [reference], target, truth))
    return {name: summarize(items) for name, items in scores.items()}


def line(name: str, summary: dict) -> str:
    cpu = f" ({summary['mean_cpu_seconds_per_case']:.2f} s CPU)" if "mean_cpu_seconds_per_case" in summary else ""
    return f"{name:<22} Dice {summary['mean_dice']:.3f}  presence accuracy {summary['presence_accuracy']:.3f}  {summary['mean_seconds_per_case']:.2f} s per pair{cpu}"


def dice_ratio(summaries: dict) -> tuple[float | None, str]:
    """The vessel engine's mean Dice over the copy baseline's, for the JSON (None when the baseline scores 0) and printed."""
    copy = summaries["copy"]["mean_dice"]
    if not copy:
        return None, "n/a"
    ratio = summaries["vessels"]["mean_dice"] / copy
    return round(ratio, 2), f"{ratio:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", type=argument(non_negative_integer, "--skip"), default=0, help="leave out the first N manifest pairs (e.g. those looked at while designing)")
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), help="at most N manifest pairs")
    parser.add_argument("--bank-cases", type=argument(non_negative_integer, "--bank-cases"), default=0, help="targets run in the bank setting (0: skip it)")
    parser.add_argument("--bank-size", type=argument(positive_integer, "--bank-size"), default=10, help="references per target in the bank setting")
    parser.add_argument("--top-k", type=argument(positive_integer, "--top-k"), default=3)
    parser.add_argument("--design-pairs", type=argument(non_negative_integer, "--design-pairs"), default=11, help="the first N manifest pairs were looked at while designing (11); the rest are also reported apart")
    only = parser.add_mutually_exclusive_group()  # each leaves out what the others run
    only.add_argument("--bank-only", action="store_true", help="skip the single-reference runs")
    only.add_argument("--single-only", action="store_true", help="skip the bank runs (--bank-cases still picks the targets reported apart)")
    only.add_argument("--bank-pairs", action="store_true", help="only score each (target, bank reference) pair of the first --bank-cases targets alone, copy and vessels")
    parser.add_argument("--json", type=json_file, help="write the summaries here")
    args = parser.parse_args()
    if (args.bank_pairs or args.bank_only) and not args.bank_cases:
        parser.error("--bank-pairs and --bank-only run the bank setting: give --bank-cases N")
    require_shared_data(parser, NEEDED)
    cases = read_manifest(DATA / "manifest.csv")[args.skip :][: args.limit]
    if not cases:
        parser.error(f"--skip {args.skip} leaves no pair of the {len(read_manifest(DATA / 'manifest.csv'))}")
    figures = {}
    if args.bank_pairs:
        paired = bank_pairs(cases[: args.bank_cases], args.bank_size)
        for name, summary in paired.items():
            print(line(f"bank pairs {name}", summary))
        ratio, said = dice_ratio(paired)
        print(f"vessels / copy Dice: {said}   ({paired['vessels']['cases']} pairs)")
        figures["bank_pairs"] = {"targets": min(args.bank_cases, len(cases)), "bank_size": args.bank_size, **paired, "dice_ratio_to_copy": ratio}
        if args.json:
            write_json(args.json, figures)
        return
    if not args.bank_only:
        engines = {"copy": CopyLabels(), "registration_affine": create_engine("registration", {"deformable": False}), "vessels": create_engine("vessels", {})}
        summaries, held_out, clicked = single_reference(cases, engines, max(args.design_pairs - args.skip, 0), args.bank_cases)
        for name, summary in summaries.items():
            print(line(name, summary))
        for name, summary in held_out.items():
            print(line(name if "bank_targets" in name else f"{name} (held out)", summary))
        print(f"simulated user, vessels + 2 clicks per segment: Dice {clicked:.3f}")
        ratio, said = dice_ratio(summaries)
        seconds = summaries["vessels"]["mean_seconds_per_case"] / summaries["registration_affine"]["mean_seconds_per_case"]
        print(f"vessels / copy Dice: {said}   vessels / registration time: {seconds:.2f}x   ({len(cases)} pairs)")
        figures = {"pairs": len(cases), "single": summaries, "single_held_out": held_out, "dice_ratio_to_copy": ratio, "time_ratio_to_registration": round(seconds, 3), "dice_after_two_clicks_per_segment": round(clicked, 4)}
    if args.bank_cases and not args.single_only:
        banked = bank(cases[: args.bank_cases], args.bank_size, args.top_k, max(args.design_pairs - args.skip, 0))
        for name, summary in banked.items():
            print(line(f"bank {name}", summary))
        figures["bank"] = {"cases": min(args.bank_cases, len(cases)), "bank_size": args.bank_size, **banked}
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
