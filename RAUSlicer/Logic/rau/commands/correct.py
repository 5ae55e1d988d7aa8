"""``rau correct``: re-open a result of ``rau segment``, correct one structure with clicks or a box, write it.

Engines without model state (registration) correct with the weight-free corrector
(:mod:`rau.correction`). Engines whose session holds model or image state (SAM2, RAU, vessels) cannot be restored
from files: their run is repeated on the recorded inputs, then the correction starts from the
saved mask (hand edits included).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from rau.boxes import Box, check_corners
from rau.commands.progress_bar import progress_bar
from rau.commands.segment import input_paths, load_references, with_bank
from rau.correction import attach_session, stroke_points
from rau.commands.engine_options import add_option_arguments, checked_engine, engine_options, given_options, warn_unused_options
from rau.engines import ENGINES, Request, engine_class
from rau.engines.base import Prompt
from rau.errors import InputError, OptionError, about
from rau.io import read_image, read_segmentation
from rau.io.images import PICTURE_SUFFIXES, check_picture_output
from rau.io.json_text import parse_json
from rau.io.label_tables import find_label_table, read_label_table
from rau.io.outputs import LABEL_MAP_FILE_SUFFIXES
from rau.io.run_outputs import check_run_outputs, file_digest, output_paths, write_outputs
from rau.image import common_frame
from rau.labels import LabelSet, Segmentation, Structure, default_color
from rau.options import EngineOptions, flag
from rau.references import BankRow
from rau.result import Result, StructureResult, voxels
from rau.session import check_prompt, file_corner, file_point, file_size, inside_points_warning, prompt_box, unchanged_reason, voxel_indices, voxel_ranges
from rau.user_warnings import collected_warnings, warn
from rau.validation import argument, check_not_special, finite_number, non_empty_path, positive_number


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("correct", help="correct one structure of a 'rau segment' result with points or a box")
    parser.add_argument("result", type=argument(non_empty_path, "result"), help="the .result.json written by rau segment (or by an earlier rau correct)")
    parser.add_argument("--structure", required=True, help="the structure to correct")
    parser.add_argument("--inside", action="append", default=[], metavar="I,J[,K]", help="a voxel inside the structure (repeat for several)")
    parser.add_argument("--outside", action="append", default=[], metavar="I,J[,K]", help="a voxel outside the structure (repeat for several)")
    parser.add_argument("--stroke", action="append", nargs="+", default=[], metavar="I,J[,K]", help="a short line of inside voxels through these points (repeat for several strokes)")
    parser.add_argument("--box", metavar="I0,J0[,K0],I1,J1[,K1]", help="keep the structure inside this voxel box (corners inclusive; one voxel thick along an axis of a volume: on that slice only; SAM2 and RAU engines: on the slice it prompts)")
    parser.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output label map, e.g. out/target.corrected.nii.gz")
    parser.add_argument("--seg-nrrd", action="store_true", help="also write a Slicer .seg.nrrd beside it (always when the corrected run wrote one)")
    parser.add_argument("--overwrite-others", action="store_true", help="the corrected structure takes voxels from the others (default: it gives way)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--target", type=argument(non_empty_path, "--target"),
                        help="the target image, instead of the one the result recorded: it moved, or the result came from rau serve, which records none")
    parser.add_argument("--target-spacing", type=argument(positive_number, "--target-spacing"), help="pixel size of a 2D picture --target, mm")
    moved = parser.add_argument_group("models (SAM2 and RAU results: instead of the ones the result recorded, e.g. on another machine)")
    add_option_arguments(moved, list(MOVABLE), defaults_shown=False)
    parser.set_defaults(run=run)


MOVABLE = ("device", "model_cache", "sam2_model", "vlm_model", "vlm_server")
"""Engine options that say where a model runs or lies, not what it computes: ``rau correct`` may replace them."""


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
        if inside := inside_points_warning(name, prompt, item, result.held_by_others(name), result.engine, overwrite_option, stroke):
            warn(inside)
        write_outputs(result, paths, args.overwrite, inputs, said)
    status = f"{item.mask.sum()} voxels" if item.found else "now empty"
    if unchanged := unchanged_reason(result.session, before, item):
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
        recorded = recorded_options(saved_path, {**(inputs.get("engine_options") or {}), **moved}).with_absolute_folders().as_dict()
        inputs = {**inputs, "engine_options": {**(inputs.get("engine_options") or {}), **{name: recorded[name] for name in moved}}}
    target = read_image(inputs["target"], inputs.get("target_spacing"))
    if args.target is not None:  # before the prompt's ranges, which a wrong target would blame on the clicks
        check_saved_grid(saved_segmentation(saved, saved_path), target, f"--target {args.target}")
    check_picture_output(args.out, target, "--out")
    prompt = parse_prompt(args, target)
    warn_unused_options(saved["engine"], moved)  # checked before the engine runs again
    engine_class(saved["engine"]).check_correction(prompt, target, recorded_options(saved_path, inputs.get("engine_options") or {}))
    check_prompt(prompt, target)  # after what this engine takes (a box is not used on vessels)
    result = reopen(saved, saved_path, target)
    try:  # by the rule names are matched everywhere (case, spaces and punctuation aside), as rau segment --structures
        name = result.named(args.structure).structure.name
    except InputError:
        raise InputError(f"--structure {args.structure!r} is not in {saved_path}; it has: {', '.join(s.structure.name for s in result.structures)}") from None
    before = result.get(name).mask
    with progress_bar(f"rau correct ({result.engine})") as progress:
        session_of(result, inputs, progress, saved_path)
        item = result.session.reprompt(name, prompt, progress, args.overwrite_others)
    item = result.put_correction(item, result.session, args.overwrite_others)  # as written: without --overwrite-others it gives way
    return result, name, prompt, before, item, inputs


def read_saved(path: Path, target_given: bool = False) -> tuple[dict, dict]:
    """The result JSON and its recorded inputs; raises :class:`InputError` naming what is missing. With
    ``target_given`` (``--target``) a result without inputs (from ``rau serve``) is read too, with none."""
    check_not_special(path)
    if not path.is_file():
        raise InputError(f"{path}: " + ("a folder, not a result file" if path.is_dir() else "no such result file"))
    try:
        saved = parse_json(path.read_text(encoding="utf-8"))
    except ValueError as error:  # also a UnicodeDecodeError
        raise InputError(f"{path}: not a result JSON ({error}); give the .result.json that rau segment wrote") from error
    if not isinstance(saved, dict):
        raise InputError(f"{path}: not a result JSON (not an object); give the .result.json that rau segment wrote")
    missing = [key for key in ("engine", "structures", "label_map") if key not in saved]
    if not target_given:
        missing += [key for key in ("inputs",) if key not in saved]
        missing += ["inputs.target"] if isinstance(saved.get("inputs"), dict) and "target" not in saved["inputs"] else []
    if missing:
        server = "; a result from rau serve records no inputs: give --target" if missing == ["inputs"] else ""
        raise InputError(f"{path}: lacks {', '.join(missing)}; results written by this version of rau segment have them{server}")
    saved.setdefault("inputs", {})
    for field, wrong in _wrong_fields(saved):
        raise InputError(f"{path}: {field} {wrong}; give the .result.json that rau segment wrote (or mend that field)")
    return saved, saved["inputs"]


def _wrong_fields(saved: dict):
    """(field, what is wrong) for each field of a result JSON that is not what ``rau segment`` writes."""
    text, whole = lambda v: isinstance(v, str) and v.strip() != "", lambda v: isinstance(v, int) and not isinstance(v, bool)
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)  # noqa: E731
    checks = [("engine", saved["engine"], lambda v: text(v) and v in ENGINES, f"one of {', '.join(ENGINES)}"), ("label_map", saved["label_map"], text, "a file name"),
              ("inputs", saved["inputs"], lambda v: isinstance(v, dict), "an object")]
    if isinstance(saved["inputs"], dict):
        checks += [("inputs.target", saved["inputs"]["target"], text, "a file name")] if "target" in saved["inputs"] else []
        checks += [(f"inputs.{key}", saved["inputs"].get(key) or [], lambda v: isinstance(v, list), "a list")
                   for key in ("reference", "reference_labels", "reference_spacing")]
        checks.append(("inputs.engine_options", saved["inputs"].get("engine_options") or {}, lambda v: isinstance(v, dict), "an object"))
        bank_row = lambda v: (isinstance(v, dict) and text(v.get("image")) and text(v.get("labels"))  # noqa: E731
                              and (v.get("pixel_spacing") is None or number(v["pixel_spacing"])))
        checks.append(("inputs.reference_bank_rows", saved["inputs"].get("reference_bank_rows") or [],
                       lambda v: isinstance(v, list) and all(map(bank_row, v)), "a list of objects with image, labels and pixel_spacing"))
    if "seconds" in saved:
        checks.append(("seconds", saved["seconds"], number, "a number"))
    if "segmentation" in saved:
        checks.append(("segmentation", saved["segmentation"], text, "a file name"))
    if "sha256" in saved:
        checks.append(("sha256", saved["sha256"], lambda v: isinstance(v, dict) and all(map(text, v.values())), "an object of file digests"))
    if "ranking" in saved:
        ranked = lambda v: isinstance(v, dict) and text(v.get("reference")) and number(v.get("score")) and number(v.get("similarity"))  # noqa: E731
        checks.append(("ranking", saved["ranking"], lambda v: isinstance(v, list) and all(map(ranked, v)),
                       "a list of objects with reference, score and similarity"))
    rows = saved["structures"]
    checks.append(("structures", rows, lambda v: isinstance(v, list) and all(isinstance(row, dict) for row in v), "a list of objects"))
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        where = f"structures[{index}]"
        if not isinstance(row, dict):
            continue
        checks += [(f"{where}.name", row.get("name"), text, "a name"), (f"{where}.value", row.get("value"), lambda v: whole(v) and v >= 1, "a label value (a whole number from 1)"),
                   (f"{where}.found", row.get("found"), lambda v: isinstance(v, bool), "true or false"),
                   (f"{where}.confidence", row.get("confidence"), number, "a number"), (f"{where}.engine", row.get("engine"), text, "a name"),
                   (f"{where}.prompts", row.get("prompts") or {}, lambda v: isinstance(v, dict), "an object"),
                   (f"{where}.color", row.get("color") or [], lambda v: isinstance(v, list) and all(map(number, v)), "a list of numbers (red, green, blue)")]
        prompts = row.get("prompts") if isinstance(row.get("prompts"), dict) else {}
        checks += [(f"{where}.prompts.corrected_slices", prompts["corrected_slices"], lambda v: isinstance(v, list) and all(whole(k) and k >= 0 for k in v),
                    "a list of slice numbers (whole numbers from 0)")] if "corrected_slices" in prompts else []  # SAM2 and RAU
        checks += [(f"{where}.prompts.given_prompts", prompts["given_prompts"],
                    lambda v: isinstance(v, list) and all(isinstance(e, dict) and whole(e.get("slice")) and isinstance(e.get("prompt"), dict) for e in v),
                    'a list of {"slice": k, "prompt": {...}}')] if "given_prompts" in prompts else []  # the prompts: Sam2Session.resume
        checks += [(f"{where}.prompts.corrections", prompts["corrections"], lambda v: whole(v) and v >= 0,
                    "a count (a whole number from 0)")] if "corrections" in prompts else []  # vessels
    for field, value, fits, wanted in checks:
        if not fits(value):
            yield field, f"should be {wanted}, not {json.dumps(value)[:40]}"


def recorded_arguments(inputs: dict) -> argparse.Namespace:
    """The inputs a result records, as the arguments of ``rau segment`` that gave it; the rows of a reference bank as
    the result records them, whatever its file says now (a result from before they were recorded: the file)."""
    lists = {key: inputs.get(key) or [] for key in ("reference", "reference_labels", "reference_spacing")}
    arguments = argparse.Namespace(**lists, reference_bank=inputs.get("reference_bank"), label_table=inputs.get("label_table"),
                                   target=inputs["target"])
    rows = inputs.get("reference_bank_rows")
    if not rows:  # no bank, or a result from before its rows were recorded
        return with_bank(arguments)
    arguments.bank = [BankRow(Path(row["image"]), Path(row["labels"]), row["pixel_spacing"], f"the result's reference bank row {number}")
                      for number, row in enumerate(rows, 1)]
    return arguments


def saved_segmentation(saved: dict, path: Path) -> Path:
    """The file that holds a saved result's masks (:func:`saved_files`): the ``.seg.nrrd`` when the run wrote one
    (overlapping structures kept whole), unless only its label map was edited since the run (:func:`edited_since_run`:
    e.g. in ITK-SNAP), then that label map, whose edits are read over the ``.seg.nrrd``; else its label map. Both
    edited since the run is checked when they are read (:func:`with_label_map_edits`)."""
    label_map, seg_nrrd = saved_files(saved, path)
    if seg_nrrd is None:
        return label_map
    return label_map if edited_since_run(saved, "label_map", label_map) and not edited_since_run(saved, "segmentation", seg_nrrd) else seg_nrrd


def saved_files(saved: dict, path: Path) -> tuple[Path, Path | None]:
    """A saved result's label map and ``.seg.nrrd`` (None when the run wrote none), each named like the JSON
    (``s.nii.gz``, ``s.seg.nrrd`` beside ``s.result.json``, as ``rau segment`` writes them and a download from ``rau
    serve`` is saved under the user's name), else by its recorded name (renamed alone; a download keeps no recorded
    name). A ``.seg.nrrd`` the run wrote is refused when it is not there, as its label map may hide structures."""
    stem = path.name[: -len(".result.json")] if path.name.lower().endswith(".result.json") else None
    alike = {suffix: candidate for suffix in (".seg.nrrd", *LABEL_MAP_FILE_SUFFIXES) if stem and (candidate := path.with_name(stem + suffix)).is_file()}
    label_maps = [candidate for suffix, candidate in alike.items() if suffix != ".seg.nrrd"]
    label_map = label_maps[0] if len(label_maps) == 1 else recorded_file(path, saved["label_map"])
    if "segmentation" not in saved:
        return label_map, None
    own = path.with_name(stem + ".seg.nrrd") if alike else recorded_file(path, saved["segmentation"])  # no file named like the JSON: renamed alone
    if not own.is_file():
        raise InputError(f"{path} records a Slicer segmentation ({saved['segmentation']}), but {own} is not there (moved or deleted); "
                         "it keeps structures whole that the label map may hide: put it back, or run rau segment again")
    return (own if saved["label_map"].lower().endswith(".seg.nrrd") else label_map), own  # a .seg.nrrd output is its own label map


def edited_since_run(saved: dict, role: str, file: Path) -> bool:
    """Whether ``file``, the result's ``role`` (``label_map`` or ``segmentation``), is not the file the run wrote: its
    bytes differ from the SHA-256 the result records (none recorded, by a version of rau before them: not known, False)."""
    recorded = saved.get("sha256", {}).get(role)
    return recorded is not None and file.is_file() and file_digest(file) != recorded


def with_label_map_edits(saved: dict, path: Path, file: Path, read: Segmentation, target, recorded: list[Structure]) -> Segmentation:
    """``read``, the masks read from ``file`` (:func:`saved_segmentation`), with the edits of the other file of a run that
    wrote a label map and a ``.seg.nrrd``. ``file`` the label map (only it edited since the run): the ``.seg.nrrd``'s
    masks, each structure following the label map where it differs from the ``.seg.nrrd`` shown as a label map of the
    ``recorded`` structures (:func:`_shown`), the ``.seg.nrrd``'s masks elsewhere, overlapping structures whole (a label
    map saved again with the same voxels reads as the ``.seg.nrrd``). ``file`` the ``.seg.nrrd``: refused when both
    were edited since the run (:func:`edited_since_run`) and the label map now shows other voxels; one edit would be lost."""
    label_map, seg_nrrd = saved_files(saved, path)
    if seg_nrrd in (None, label_map):
        return read
    if file == label_map:
        segments = read_saved_masks(seg_nrrd, target)
        edited = _shown(segments, recorded) != _shown(read, recorded)
        masks = {name: np.where(edited, mask, segments.masks[name]) if name in segments.masks else mask for name, mask in read.masks.items()}
        return Segmentation(read.geometry, read.labels, masks)
    if edited_since_run(saved, "label_map", label_map) and edited_since_run(saved, "segmentation", seg_nrrd):
        drawn = read_saved_masks(label_map, target, saved_labels(saved, label_map, recorded))
        if not np.array_equal(_shown(read, recorded), _shown(drawn, recorded)):
            raise InputError(f"{label_map} and {seg_nrrd} were both edited since {path} was written, and they now differ; rau correct "
                             f"reads one: keep one edit (delete {label_map.name} to keep the .seg.nrrd's, or save the same edit in {seg_nrrd.name})")
    return read


def _shown(segmentation: Segmentation, structures: list[Structure]) -> np.ndarray:
    """The label map ``segmentation`` gives of ``structures`` (their values; a later one wins where they overlap)."""
    held = LabelSet(tuple(s for s in structures if s.name in segmentation.masks))
    return Segmentation(segmentation.geometry, held, {s.name: segmentation.masks[s.name] for s in held}).to_label_map().array


def recorded_file(path: Path, name: str) -> Path:
    """The file a result JSON ``path`` records by ``name``: relative to the folder of the real JSON (a result reached
    through a link records the files written beside it, not beside the link)."""
    folder = Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent
    return folder / name


def hidden_reason(saved: dict) -> str:
    """Why a structure its run found has no voxel in the saved label map (:func:`hidden_structures`); for a run that
    wrote no ``.seg.nrrd``, how to keep overlapping structures whole."""
    hint = "" if "segmentation" in saved else "; rau segment --seg-nrrd keeps overlapping structures whole"
    return f"hidden under other structures in the label map (or erased since){hint}"


def hidden_structures(saved: dict, file: Path, segmentation: Segmentation) -> list[str]:
    """The structures ``saved`` records as found of which the label map ``file`` holds no voxel: a label map shows one
    structure per voxel, the later one where they overlap (none in a ``.seg.nrrd``, which keeps every structure whole)."""
    if file.name.lower().endswith(".seg.nrrd"):
        return []
    return [row["name"] for row in saved["structures"] if row.get("found") and not segmentation.has_voxels(row["name"])]


def reopen(saved: dict, path: Path, target) -> Result:
    """The saved result on the target: each structure's mask from :func:`saved_segmentation`, its colour and
    terminology from there too, its label value and the rest from the JSON (a ``.seg.nrrd`` numbers its
    segments per layer, not as the run did; a label map's values are the JSON's, whatever table lies beside it).
    A structure the run found that the label map hides is said and reopened as not found (:func:`hidden_structures`)."""
    file = saved_segmentation(saved, path)
    with recorded_in(path):  # each row's own colour and terminology (a hand-edited file may hold wrong ones)
        recorded = [_structure(row) for row in saved["structures"]]
    segmentation = read_saved_masks(file, target, saved_labels(saved, file, recorded))
    segmentation = with_label_map_edits(saved, path, file, segmentation, target, recorded)
    listed = {row["name"] for row in saved["structures"]}
    unlisted = [structure for structure in segmentation.labels if structure.name not in listed and segmentation.has_voxels(structure.name)]
    if unlisted:  # e.g. a segment added in Slicer, or a label map renumbered by an export: its voxels would be lost
        segments = file.name.lower().endswith(".seg.nrrd")
        held = ", ".join(f"the segment {s.name!r}" if segments else f"label value {s.value}" for s in unlisted)
        raise InputError(f"{file} holds {held}, which {path} does not list: was it edited or renumbered since? "
                         "rau correct keeps the structures of one run; give the files of one run, or run rau segment again")
    hidden = hidden_structures(saved, file, segmentation)
    structures = []
    for row, own in zip(saved["structures"], recorded):
        if row.get("found") and row["name"] not in segmentation.masks:
            raise InputError(f"{file} has no {row['name']!r}, which {path} found: was its segment deleted since? "
                             "give the files of one run, or run rau segment again")
        saved_structure = segmentation.labels.get(row["name"]) if row["name"] in segmentation.labels.names else None
        structure = dataclasses.replace(saved_structure, value=row["value"]) if saved_structure else own
        mask = segmentation.masks.get(row["name"])
        confidence, message = (0.0, hidden_reason(saved)) if row["name"] in hidden else (row["confidence"], row.get("message", ""))  # as not found
        structures.append(StructureResult(structure, mask, confidence, row["engine"], row.get("prompts") or {}, message=message))
    if hidden:
        warn(f"{file} holds no voxel of {', '.join(map(repr, hidden))}, which {path} found: {hidden_reason(saved)}; written as not found")
    ranking = {"ranking": saved["ranking"]} if "ranking" in saved else {}  # the run's references, as it ranked them
    return Result(target, structures, saved["engine"], saved.get("seconds", 0.0), details=ranking)


def check_saved_grid(file: Path, target, option: str) -> None:
    """Refuse a target given in place of the recorded one unless the saved masks lie on its grid: a label map on
    the same voxels, a ``.seg.nrrd`` (which may hold a part of the grid) on voxels of it. A picture has only its
    pixels, which :func:`read_saved_masks` checks."""
    if file.suffix.lower() in PICTURE_SUFFIXES or not file.is_file():
        return
    seg_nrrd = file.name.lower().endswith(".seg.nrrd")
    saved = read_segmentation(file) if seg_nrrd else None
    if saved is not None and not any(mask.any() for mask in saved.masks.values()):
        return  # Slicer writes an empty segmentation on a grid of one voxel: nothing to place
    grid = saved.geometry if saved is not None else read_image(file)
    if grid.same_grid(target) or (seg_nrrd and _on_voxels_of(grid, target)):
        return
    size = "its pixel size (--target-spacing)" if _is_picture(target) else "its header"
    raise InputError(f"{option}: {file} lies on another grid ({' x '.join(map(str, grid.size[:grid.ndim]))} voxels of "
                     f"{_millimetres(grid.spacing[:grid.ndim])}) than this target ({' x '.join(map(str, target.size[:target.ndim]))} of "
                     f"{_millimetres(target.spacing[:target.ndim])}, or placed elsewhere); give the image this result was made on, with {size}")


def _is_picture(target) -> bool:
    """Whether ``target`` was read from a picture, whose pixel size is given, not read."""
    return target.ndim == 2 and target.stored is None


def _on_voxels_of(grid, target) -> bool:
    """Whether ``grid`` samples voxels of ``target``'s grid: the same spacing and axes, and an origin a whole number
    of voxels away (a ``.seg.nrrd`` cropped to its segments)."""
    if _is_picture(grid) or _is_picture(target):
        return False  # a picture has no place: only the same pixels (same_grid) are its voxels
    mine, theirs = common_frame(grid, target)
    axes = target.ndim
    if not (np.allclose(mine.spacing[:axes], theirs.spacing[:axes], atol=1e-4) and np.allclose(mine.direction[:, :axes], theirs.direction[:, :axes], atol=1e-4)):
        return False
    offset = theirs.to_index(mine.origin)[:axes]
    return bool(np.allclose(offset, np.round(offset), atol=1e-3))


def _millimetres(spacing) -> str:
    """Voxel sizes as ``0.5 x 0.5 mm``."""
    return " x ".join(f"{value:g}" for value in spacing) + " mm"


def saved_labels(saved: dict, file: Path, recorded: list[Structure]) -> LabelSet | None:
    """For a saved label map: the structures at the values the JSON gives them, colours and terminology from the
    label table beside it where that names the value alike, else as ``recorded`` (each row's :func:`_structure`);
    None for a ``.seg.nrrd``, which names its segments."""
    if file.name.lower().endswith(".seg.nrrd"):
        return None
    table = find_label_table(file)
    beside = {s.value: s for s in read_label_table(table)} if table else {}
    structures = [beside[row["value"]] if row["value"] in beside and beside[row["value"]].name == row["name"] else own
                  for row, own in zip(saved["structures"], recorded)]
    return LabelSet(tuple(structures))


def read_saved_masks(file: Path, target, labels: LabelSet | None = None) -> Segmentation:
    """The masks of a saved result on ``target``'s grid (a label map's values named by ``labels``). A picture
    (``.png``) keeps no pixel size or place, only the target's pixels: it is put on the target pixel for pixel;
    other files are placed."""
    if file.suffix.lower() not in PICTURE_SUFFIXES:
        return read_segmentation(file, geometry=target, label_table=labels)
    pixels = read_segmentation(file, label_table=labels)
    if pixels.geometry.shape != target.shape:
        raise InputError(f"{file}: {' x '.join(map(str, pixels.geometry.size[:2]))} pixels, but the target has "
                         f"{' x '.join(map(str, target.size[:2]))}; give the label map this result wrote for its target")
    return Segmentation(target.with_array(np.zeros(target.shape, np.uint8)), pixels.labels, pixels.masks)


@contextlib.contextmanager
def recorded_in(path: Path):
    """Errors about what the result file ``path`` records (a colour, saved prompts), said naming it (:func:`rau.errors.about`)."""
    try:
        yield
    except InputError as error:
        raise InputError(about(path, error)) from None


def _structure(row: dict) -> Structure:
    """The structure a saved row names, with its colour and terminology (a result saved before they were recorded,
    or edited by hand without them: the default colour of its value)."""
    color = tuple(row["color"]) if row.get("color") else default_color(row["value"])
    return Structure(row["name"], row["value"], color, row.get("terminology"))


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
    return engine.run(Request(references, result.target, inputs.get("structures")), progress)


def parse_prompt(args: argparse.Namespace, target) -> Prompt:
    """``--inside`` / ``--outside`` points, ``--stroke`` lines (inside) and ``--box`` as a prompt in the
    target's (i, j, k) voxels, each point named as given (``--inside '3,4'``). Three indices on a 2D target are the
    target file's own (a 1-slice volume stored along j takes i,0,k)."""
    inside = [(_voxel(text, target, "--inside"), _given("--inside", text)) for text in args.inside]
    for stroke in args.stroke:
        named = f"a voxel of {_given('--stroke', ' '.join(stroke))}"
        inside += [(voxel, named) for voxel in stroke_points([_voxel(text, target, "--stroke") for text in stroke])]
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
    values, ndim = _numbers(text, "--box"), target.ndim
    if len(values) not in {2 * ndim, 6}:
        raise InputError(f"--box {text!r}: give {'i0,j0,i1,j1' if ndim == 2 else 'i0,j0,k0,i1,j1,k1'} for this {ndim}D target")
    size = file_size(target, len(values) // 2)
    if not all(lo <= n - 1 and hi >= 0 for lo, hi, n in zip(values, values[len(size):], size)):
        raise InputError(f"--box {text!r}: outside the target ({voxel_ranges(size)})")
    first, last = values[: len(values) // 2], values[len(values) // 2 :]
    try:
        check_corners(first, last, empty_ok=True)  # as typed (corners inclusive: equal ones are one voxel)
        if len(values) == 6 and ndim == 2:  # the corners in the target file's own i,j,k (see _voxel)
            first, last = file_corner(first, target)[:2], file_corner(last, target)[:2]
        return prompt_box(first, [corner + 1 for corner in last], target)
    except InputError as error:
        raise InputError(f"--box {text!r}: {error}") from None
