"""``rau correct``: re-open a result of ``rau segment``, correct one structure with clicks or a box, write it.

Engines without model state (registration) correct with the weight-free corrector
(:mod:`rau.correction`). Engines whose session holds model or image state (SAM2, RAU, vessels) cannot be restored
from files: their run is repeated on the recorded inputs, then the correction starts from the
saved mask (hand edits included).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rau.arguments.correct import MOVABLE
from rau.boxes import Box
from rau.commands.progress_bar import progress_bar
from rau.commands.segment import input_paths, load_references, with_bank
from rau.correction import attach_session, stroke_points
from rau.commands.engine_options import engine_options, given_options
from rau.engines import Request, engine_class, unused_options
from rau.engines.base import Prompt
from rau.engines.checks import checked_engine, warn_ignored
from rau.errors import InputError, OptionError
from rau.io import read_image
from rau.io.images import check_picture_output
from rau.io.run_outputs import check_run_outputs, output_paths, write_outputs
from rau.io.saved_results import check_saved_grid, check_target, read_saved, recorded_file, recorded_in, reopen, saved_files, saved_segmentation, table_differences
from rau.labels import names_in_words
from rau.options import DEFAULTS, EngineOptions, flag
from rau.references import BankRow, change_since
from rau.result import Result
from rau.reprompt_notes import inside_points_warning, unchanged_reason
from rau.session import check_prompt, file_box, file_point, voxel_indices
from rau.user_warnings import collected_warnings, warn
from rau.validation import finite_number


def moved_options(recorded: dict, moved: dict) -> dict:
    """The engine options a result ``recorded`` with those given here (``moved``) in their place; a ``--vlm-server``
    given drops a recorded local ``--vlm-model`` and ``--vlm-adapter``, as a server holds its own model and adapter."""
    dropped = {}
    if moved.get("vlm_server"):
        dropped = {"vlm_adapter": None, **({} if recorded.get("vlm_server") else {"vlm_model": DEFAULTS.vlm_model})}
    return {**recorded, **dropped, **moved}


def run(args: argparse.Namespace) -> int:
    engine_options(args)  # the models given here are checked as rau segment checks them, before the result's own
    saved_path = Path(args.result)
    if args.target_spacing is not None and args.target is None:
        raise OptionError("--target-spacing is the pixel size of a picture given by --target; give --target too (the recorded target keeps its recorded size)")
    saved, inputs = read_saved(saved_path, target_given=args.target is not None)
    if args.target is not None:
        inputs = {**inputs, "target": str(Path(args.target).absolute()), "target_spacing": args.target_spacing}
    elif not Path(inputs["target"]).exists():
        raise InputError(f"{saved_path}: the target it records, {inputs['target']}, is not there (moved or deleted); "
                         "give the image it was made on with --target")
    paths = output_paths(Path(args.out), args.seg_nrrd or "segmentation" in saved)  # a .seg.nrrd run keeps one
    read = [*input_paths(recorded_arguments(inputs)), saved_path, recorded_file(saved_path, saved["label_map"]), *filter(None, saved_files(saved, saved_path))]
    check_run_outputs(paths, read, args.overwrite)
    with collected_warnings(echo=True) as said:  # printed as they come, and recorded in the result JSON
        result, name, prompt, before, item, inputs = _corrected(args, saved, saved_path, inputs)
        stroke = "(a --stroke gives one on each voxel along it) " if args.stroke else ""
        overwrite_option = None if args.overwrite_others else "--overwrite-others"
        if inside := inside_points_warning(name, prompt, item, result.held_by_others(name), result.engine, overwrite_option, stroke, result.session):
            warn(inside)
        write_outputs(result, paths, args.overwrite, inputs, said)
    status = f"{item.mask.sum()} voxels" if item.found else "now empty"
    if unchanged := unchanged_reason(result.session, before, item, overwrite_option):
        status += f" (unchanged: {unchanged})"
    print(f"{name}: {status}; wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def recorded_options(saved_path: Path, options: dict) -> EngineOptions:
    """The engine options a result recorded (with any given here in their place); ones this version refuses (e.g. a
    --vlm-server URL with a password, recorded before such URLs were refused) are said naming the result."""
    try:
        return EngineOptions.from_dict(options)
    except OptionError as error:
        raise OptionError(f"{saved_path} records engine options this version refuses: {error}; "
                          f"{', '.join(flag(name) for name in MOVABLE)} replace the recorded ones") from None


def _corrected(args: argparse.Namespace, saved: dict, saved_path: Path, inputs: dict):
    """Re-open the saved result on its target and correct ``--structure`` with the prompt: the result, the structure's
    name, the prompt, its mask before, the corrected item, and the inputs to record (with any moved model folders)."""
    moved = given_options(args)
    if moved:  # the new result records where its models were (local folders as absolute paths, as rau segment does)
        options = moved_options(inputs.get("engine_options") or {}, moved)
        recorded = recorded_options(saved_path, options).with_absolute_folders().as_dict()
        inputs = {**inputs, "engine_options": {**options, **{name: recorded[name] for name in moved}}}
    target = read_image(inputs["target"], inputs.get("target_spacing"))
    given = None if args.target is None else f"--target {args.target}"
    # before the prompt's ranges, which a wrong target would blame on the clicks, and before the masks are read on it
    check_saved_grid(saved_segmentation(saved, saved_path), target, given or f"{inputs['target']} (the target {saved_path} records)")
    check_target(saved_path, saved, target, given)
    check_picture_output(args.out, target, "--out")
    prompt = parse_prompt(args, target)
    # checked before the engine runs again, each with the options it goes with (--sam2-revision with a recorded local --sam2-model)
    warn_ignored({option: why for option, why in unused_options(saved["engine"], inputs.get("engine_options") or {}).items() if option in moved})
    engine_class(saved["engine"]).check_correction(prompt, target, recorded_options(saved_path, inputs.get("engine_options") or {}))
    check_prompt(prompt, target)  # after what this engine takes (a box is not used on vessels)
    result = reopen(saved, saved_path, target)
    if differences := table_differences(saved, saved_path, result):  # the outputs' table is written from the result
        warn(differences)
    try:  # by the rule names are matched everywhere (case, spaces and punctuation aside), as rau segment --structures
        name = result.named(args.structure).structure.name
    except InputError:
        raise InputError(f"--structure {args.structure!r} is not in {saved_path}; it has: {names_in_words([s.structure.name for s in result.structures])}") from None
    before = result.get(name).mask
    with progress_bar(f"rau correct ({result.engine})") as progress:
        session_of(result, inputs, progress, saved_path)
        item = result.session.reprompt(name, prompt, progress, args.overwrite_others)
    item = result.put_correction(item, result.session, args.overwrite_others)  # as written: without --overwrite-others it gives way
    return result, name, prompt, before, item, inputs


def recorded_arguments(inputs: dict) -> argparse.Namespace:
    """The inputs a result records, as the arguments of ``rau segment`` that gave it; the rows of a reference bank as
    the result records them, whatever its file says now (a result from before they were recorded: the file)."""
    lists = {key: inputs.get(key) or [] for key in ("reference", "reference_labels", "reference_spacing")}
    arguments = argparse.Namespace(**lists, reference_bank=inputs.get("reference_bank"), label_table=inputs.get("label_table"),
                                   target=inputs["target"], structures=inputs.get("structures"))
    rows = inputs.get("reference_bank_rows")
    if not rows:  # no bank, or a result from before its rows were recorded
        return with_bank(arguments)
    arguments.bank = [BankRow(Path(row["image"]), Path(row["labels"]), row["pixel_spacing"], f"the result's reference bank row {number}")
                      for number, row in enumerate(rows, 1)]
    return arguments


def session_of(result: Result, inputs: dict, progress, path: Path) -> None:
    """Give ``result`` (read from ``path``) the session of its engine: weight-free, or a repeated model run
    (:func:`rerun`) that goes on from the saved masks and prompts."""
    session = rerun(result, inputs, progress).session if engine_class(result.engine).model_session else None
    with recorded_in(path):  # the saved clicks and prompts (a hand-edited file may hold wrong ones)
        if session is None:  # weight-free corrections need no model, not even to create the engine
            attach_session(result)
            return
        for item in result.structures:  # a structure saved as not found (e.g. removed by a correction) stays empty
            if item.structure.name in session.results:
                session.resume(item)
    result.session = session


def rerun(result: Result, inputs: dict, progress) -> Result:
    """The run of ``result``'s model engine repeated on the inputs it records (its models checked first)."""
    if not inputs.get("reference") and not inputs.get("reference_bank"):
        raise InputError(f"this {result.engine} result records no references, and its engine runs again on them to correct it "
                         "(a result downloaded from rau serve: correct it on the server, or run rau segment here)")
    try:  # models checked before the rerun
        engine = checked_engine(result.engine, EngineOptions.from_dict(inputs.get("engine_options") or {}))
    except OptionError as error:
        raise OptionError(f"{error} (options not given here are the ones the result recorded; {', '.join(flag(name) for name in MOVABLE)} "
                          "replace them)") from None
    arguments = recorded_arguments(inputs)
    files = [*arguments.reference, *arguments.reference_labels, *(file for row in arguments.bank for file in (row.image, row.labels))]
    gone = next((path for path in map(Path, files) if not path.exists()), None)
    if gone is not None:
        raise InputError(f"{gone}, which the result records as an input, is not there (moved or deleted); a {result.engine} result is "
                         "corrected by running its engine again on its references: put the file back, or run rau segment again")
    if arguments.label_table:  # the names the run gave its structures, whatever the table says now (or if it is gone)
        arguments.label_table = result.labels
    references = load_references(arguments)
    # none recorded in a result written before they were: not checked
    names = [item.structure.name for item in result.structures]
    changed = next(filter(None, (change_since(read, reference, names) for read, reference in zip(inputs.get("references_read") or [], references))), None)
    if changed is not None:
        raise InputError(f"{changed[0]}, which the result records as a reference, changed since the run ({changed[1]}); a {result.engine} result "
                         "is corrected by running its engine again on its references: give the original file back, or run rau segment again")
    # every structure the run had, not only the corrected one: SAM2 steps them through memory attention together, after
    # the reference slices all of them chose (a structure run alone gets other memory), and a vessels correction may
    # change other structures; a narrower run would answer otherwise (README, rau correct)
    return engine.run(Request(references, result.target, inputs.get("structures")), progress)


def parse_prompt(args: argparse.Namespace, target) -> Prompt:
    """``--inside`` / ``--outside`` points, ``--stroke`` lines (inside) and ``--box`` as a prompt in the
    target's (i, j, k) voxels, each point named as given (``--inside '3,4'``). Three indices on a 2D target are the
    target file's own (a 1-slice volume stored along j takes i,0,k)."""
    inside = [(_voxel(text, target, "--inside"), _given("--inside", text)) for text in args.inside]
    for stroke in args.stroke:
        named = f"a voxel of {_given('--stroke', ' '.join(stroke))}"
        inside += [(voxel, named) for voxel in stroke_points([_voxel(text, target, "--stroke") for text in stroke], target)]
    given = inside + [(_voxel(text, target, "--outside"), _given("--outside", text)) for text in args.outside]
    labels = [1] * len(inside) + [0] * len(args.outside)
    box = _box(args.box, target) if args.box else None
    if not given and box is None:  # the rule of check_prompt, in the options' words
        raise InputError("give at least one --inside or --outside point, a --stroke or a --box")
    return Prompt(points=[voxel for voxel, _ in given], labels=labels, box=box, names=[named for _, named in given],
                  box_name=_given("--box", args.box) if box else "")


def _numbers(text: str, option: str) -> list[int]:
    """Comma-separated voxel indices (:func:`rau.session.voxel_indices`: ``12.0`` is 12; ``12.5``, inf and nan are refused)."""
    try:
        values = [finite_number(v, option) for v in text.split(",")]
    except InputError:
        raise InputError(f"{option} {text!r}: expected comma-separated voxel indices") from None
    return list(voxel_indices(values, f"{option} {text!r}"))


def _voxel(text: str, target, option: str) -> tuple[int, int, int]:
    """A point in the target file's own indices (:func:`rau.session.file_point`; see :func:`parse_prompt`)."""
    return file_point(_numbers(text, option), target, _given(option, text))


def _given(option: str, text: str) -> str:
    """How errors name a point given as ``option text``."""
    return f"{option} {text!r}"


def _box(text: str, target) -> Box:
    """``--box`` i0,j0(,k0),i1,j1(,k1), corners inclusive, in the target file's own indices (:func:`rau.session.file_box`)."""
    values = _numbers(text, "--box")
    return file_box(values[: len(values) // 2], values[len(values) // 2 :], target, _given("--box", text), upper_included=True)
