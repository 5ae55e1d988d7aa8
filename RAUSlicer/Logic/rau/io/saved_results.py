"""A result of ``rau segment`` read back from its files: the result JSON checked (:func:`read_saved`), its masks from
the label map or ``.seg.nrrd`` (hand edits since the run included) on the target (:func:`reopen`). Used by ``rau
correct`` and by ``rau batch`` when it adds a ``.seg.nrrd`` to a finished target."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from rau.correction.session import CORRECTOR
from rau.engines import ENGINES
from rau.errors import InputError, about, sizes_text
from rau.image import GRID_TOLERANCE_MM, as_loaded_in_slicer, common_frame
from rau.io import read_image, read_segmentation
from rau.io.images import PICTURE_SUFFIXES
from rau.io.json_text import read_json_file
from rau.io.label_tables import color_fields, find_label_table, read_label_table
from rau.io.outputs import LABEL_MAP_FILE_SUFFIXES
from rau.io.run_outputs import file_digest
from rau.labels import LabelSet, Segmentation, Structure, check_distinct_names, default_color
from rau.result import Result, StructureResult
from rau.user_warnings import warn
from rau.validation import check_not_special


def read_saved(path: Path, target_given: bool = False) -> tuple[dict, dict]:
    """The result JSON and its recorded inputs; raises :class:`InputError` naming what is missing. With
    ``target_given`` (``--target``) a result without inputs (from ``rau serve``) is read too, with none."""
    check_not_special(path)
    if not path.is_file():
        raise InputError(f"{path}: " + ("a folder, not a result file" if path.is_dir() else "no such result file"))
    try:
        saved = read_json_file(path)
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
    check_distinct_names([row["name"] for row in saved["structures"]], [f"{path}: structures[{index}].name" for index in range(len(saved["structures"]))])
    return saved, saved["inputs"]


def _wrong_fields(saved: dict):
    """(field, what is wrong) for each field of a result JSON that is not what ``rau segment`` writes."""
    text, whole = lambda v: isinstance(v, str) and v.strip() != "", lambda v: isinstance(v, int) and not isinstance(v, bool)
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)  # noqa: E731
    digests = lambda v: isinstance(v, dict) and all(map(text, v.values()))  # noqa: E731
    engine, engines = lambda v: text(v) and v in ENGINES, f"one of {', '.join(ENGINES)}"  # noqa: E731
    count = lambda v: whole(v) and v >= 0  # noqa: E731
    checks = [("engine", saved["engine"], engine, engines), ("label_map", saved["label_map"], text, "a file name"),
              ("inputs", saved["inputs"], lambda v: isinstance(v, dict), "an object")]
    if isinstance(saved["inputs"], dict):
        checks += [("inputs.target", saved["inputs"]["target"], text, "a file name")] if "target" in saved["inputs"] else []
        checks += [("inputs.target_sha256", saved["inputs"]["target_sha256"], text, "a digest")] if "target_sha256" in saved["inputs"] else []
        checks += [("inputs.target_spacing", saved["inputs"].get("target_spacing"), lambda v: v is None or (number(v) and v > 0),
                    "a pixel size in mm (a number above 0) or null"),
                   ("inputs.structures", saved["inputs"].get("structures"), lambda v: v is None or (isinstance(v, list) and all(map(text, v))),
                    "a list of structure names or null")]
        checks += [(f"inputs.{key}", saved["inputs"].get(key) or [], lambda v: isinstance(v, list), "a list")
                   for key in ("reference", "reference_labels", "reference_spacing")]
        checks.append(("inputs.engine_options", saved["inputs"].get("engine_options") or {}, lambda v: isinstance(v, dict), "an object"))
        read = lambda v: (isinstance(v, dict) and all(text(v.get(key)) for key in ("image", "labels", "image_sha256", "labels_sha256"))  # noqa: E731
                          and isinstance(v.get("structures"), list) and all(isinstance(s, dict) and text(s.get("name")) and whole(s.get("value"))
                                                                           and isinstance(s.get("color"), list) for s in v["structures"]))
        checks.append(("inputs.references_read", saved["inputs"].get("references_read") or [], lambda v: isinstance(v, list) and all(map(read, v)),
                       "a list of objects with image, labels, image_sha256, labels_sha256 and structures"))
        bank_row = lambda v: (isinstance(v, dict) and text(v.get("image")) and text(v.get("labels"))  # noqa: E731
                              and (v.get("pixel_spacing") is None or number(v["pixel_spacing"])))
        checks.append(("inputs.reference_bank_rows", saved["inputs"].get("reference_bank_rows") or [],
                       lambda v: isinstance(v, list) and all(map(bank_row, v)), "a list of objects with image, labels and pixel_spacing"))
    if "seconds" in saved:
        checks.append(("seconds", saved["seconds"], number, "a number"))
    if "segmentation" in saved:
        checks.append(("segmentation", saved["segmentation"], text, "a file name"))
    if "sha256" in saved:
        checks.append(("sha256", saved["sha256"], digests, "an object of file digests"))
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
                   (f"{where}.confidence", row.get("confidence"), number, "a number"), (f"{where}.engine", row.get("engine"), engine, engines),
                   (f"{where}.prompts", row.get("prompts") or {}, lambda v: isinstance(v, dict), "an object"),
                   (f"{where}.color", row.get("color") or [], lambda v: isinstance(v, list) and all(map(number, v)), "a list of numbers (red, green, blue)")]
        prompts = row.get("prompts") if isinstance(row.get("prompts"), dict) else {}
        checks += [(f"{where}.prompts.corrected_slices", prompts["corrected_slices"], lambda v: isinstance(v, list) and all(whole(k) and k >= 0 for k in v),
                    "a list of slice numbers (whole numbers from 0)")] if "corrected_slices" in prompts else []  # SAM2 and RAU
        checks += [(f"{where}.prompts.given_prompts", prompts["given_prompts"],
                    lambda v: isinstance(v, list) and all(isinstance(e, dict) and whole(e.get("slice")) and isinstance(e.get("prompt"), dict) for e in v),
                    'a list of {"slice": k, "prompt": {...}}')] if "given_prompts" in prompts else []  # the prompts: Sam2Session.resume
        checks += [(f"{where}.prompts.{key}", prompts[key], count, "a count (a whole number from 0)")
                   for key in ("corrections", "clicks") if key in prompts]  # vessels; the weight-free corrector
        checks += [(f"{where}.prompts.corrector", prompts["corrector"], lambda v: v == CORRECTOR, json.dumps(CORRECTOR))] if "corrector" in prompts else []
        checks += [(f"{where}.prompts.references", prompts["references"], lambda v: isinstance(v, list) and all(map(text, v)),
                    "a list of reference names")] if "references" in prompts else []  # registration
    for field, value, fits, wanted in checks:
        if not fits(value):
            yield field, f"should be {wanted}, not {json.dumps(value)[:40]}"


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
        if not label_map.is_file():
            raise InputError(f"{path}: label_map records {saved['label_map']!r}, but {label_map} is not a file there (moved or deleted); "
                             "put it back beside the result, or run rau segment again")
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
        drawn = read_saved_masks(label_map, target, saved_labels(label_map, recorded))
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
    """The saved result on the target: each structure's mask from :func:`saved_segmentation`, from a ``.seg.nrrd`` its
    colour and terminology too, its label value and the rest from the JSON (a ``.seg.nrrd`` numbers its segments per
    layer, not as the run did; a label map's values, colours and terminology are the JSON's, whatever table lies beside
    it: :func:`saved_labels`).
    A structure the run found that the label map hides is said and reopened as not found (:func:`hidden_structures`)."""
    file = saved_segmentation(saved, path)
    with recorded_in(path):  # each row's own colour and terminology (a hand-edited file may hold wrong ones)
        recorded = [_structure(row) for row in saved["structures"]]
    segmentation = read_saved_masks(file, target, saved_labels(file, recorded))
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


def table_differences(saved: dict, path: Path, result: Result) -> str | None:
    """What the label table beside the saved label map (e.g. its ``.labels.csv``, edited since the run) names or colours
    otherwise than ``result``, the result ``path`` reopened, which ``rau correct`` keeps: said naming the table, each such
    structure and both names or colours; None when they agree (or no table lies beside it)."""
    label_map = saved_files(saved, path)[0]
    table = None if label_map.name.lower().endswith(".seg.nrrd") else find_label_table(label_map)
    if table is None:
        return None
    keeps = ("rau correct keeps the result's names and colours (to name or colour structures otherwise, give rau segment a "
             "--label-table, or rename them in Slicer once the corrections are done)")
    try:
        listed = read_label_table(table)
    except InputError as error:
        return f"{error}; {keeps}"
    beside = {structure.value: structure for structure in listed}
    differences = []
    for structure in (item.structure for item in result.structures if item.structure.value in beside):
        given = beside[structure.value]
        if given.name != structure.name:
            differences.append(f"label value {structure.value} is {given.name!r} there, {structure.name!r} in the result")
        elif (listed.colored is None or given.value in listed.colored) and color_fields(given.color) != color_fields(structure.color):
            differences.append(f"{structure.name!r} is coloured {','.join(color_fields(given.color))} there, "
                               f"{','.join(color_fields(structure.color))} in the result")
    return f"{table} names or colours structures otherwise than {path}: {'; '.join(differences)}; {keeps}" if differences else None


def check_target(path: Path, saved: dict, target, option: str | None = None) -> None:
    """Refuse a ``target`` that is not the image the result ``path`` (read as ``saved``) was made on: its voxels differ
    from the SHA-256 the result records (``inputs.target_sha256``, :meth:`rau.image.Image.voxel_digest`; none recorded,
    by an older rau: not checked), or, given in place of the recorded one (``option``, the ``--target``; else None), a
    picture's pixel size differs from the one the run used (``inputs.target_spacing``, within
    :data:`~rau.image.GRID_TOLERANCE_MM`, as its grid is: :func:`check_saved_grid`)."""
    recorded = saved["inputs"].get("target_sha256")
    if recorded is not None and target.voxel_digest() != recorded:
        if option is not None:
            raise InputError(f"{option}: not the target {path} records (its voxels are not those the run read); give the image "
                             "this result was made on")
        raise InputError(f"{saved['inputs']['target']}, the target {path} records, changed since the run (its voxels are not "
                         "those the run read); give the original target (put it back, or give it with --target), or run rau segment again")
    used = saved["inputs"].get("target_spacing")
    if option is not None and target.is_picture and used is not None and not np.isclose(target.spacing[0], used, rtol=0, atol=GRID_TOLERANCE_MM):
        raise InputError(f"{option}: its pixel size {target.spacing[0]:g} mm is not the {used:g} mm the run used "
                         f"(inputs.target_spacing in {path}); give --target-spacing {used:g}")


def check_saved_grid(file: Path, target, option: str) -> None:
    """Refuse a target (the recorded one as read now, or one given in its place) unless the saved masks lie on its grid, within
    :meth:`~rau.image.Image.same_grid`'s tolerance: a label map on
    the same voxels, a ``.seg.nrrd`` (which may hold a part of the grid) on voxels of it. A picture has only its
    pixels, which :func:`read_saved_masks` checks. A picture given for a run whose target was placed (a 1-slice
    volume not where Slicer puts a picture, :func:`~rau.image.as_loaded_in_slicer`) is refused, though its pixels are
    the same: corrected on it, the result would lose the target's place."""
    if file.suffix.lower() in PICTURE_SUFFIXES or not file.is_file():
        return
    seg_nrrd = file.name.lower().endswith(".seg.nrrd")
    saved = read_segmentation(file) if seg_nrrd else None
    if saved is not None and not any(mask.any() for mask in saved.masks.values()):
        return  # Slicer writes an empty segmentation on a grid of one voxel: nothing to place
    grid = saved.geometry if saved is not None else read_image(file)
    if grid.same_grid(target) or (seg_nrrd and _on_voxels_of(grid, target)):
        if target.is_picture and not grid.is_picture and not grid.same_grid(as_loaded_in_slicer(target, target.spacing[:2])):
            raise InputError(f"{option}: has no position in space (a picture) while the run's target ({file} lies on its grid) "
                             f"is placed at origin {_numbers_text(grid.as_stored().origin)}, direction ({_file_columns(grid, 3)}); "
                             "give the run's target file")
        return
    size = "its pixel size (--target-spacing)" if target.is_picture else "its header"
    raise InputError(f"{option}: {file} lies on another grid ({_grid_differences(grid, target)}); give the image this result "
                     f"was made on, with {size}")


def _grid_differences(grid, target) -> str:
    """What places the saved ``grid`` otherwise than ``target``: their sizes and spacings, or, where those agree, the
    direction and origin that differ, both values given."""
    axes = grid.ndim
    mine, theirs = common_frame(grid, target)
    if grid.shape != target.shape or grid.ndim != target.ndim or not np.allclose(mine.spacing[:axes], theirs.spacing[:axes], atol=GRID_TOLERANCE_MM):
        return (f"{' x '.join(map(str, grid.size[:grid.ndim]))} voxels of {sizes_text(grid.spacing[:grid.ndim])} mm) than this target "
                f"({' x '.join(map(str, target.size[:target.ndim]))} of {sizes_text(target.spacing[:target.ndim])} mm")
    differences = []
    if not np.allclose(mine.direction[:, :axes], theirs.direction[:, :axes], atol=GRID_TOLERANCE_MM):
        differences.append(f"its direction ({_file_columns(grid, axes)}) is not this target's ({_file_columns(target, axes)})")
    if not np.allclose(mine.origin, theirs.origin, atol=GRID_TOLERANCE_MM):
        differences.append(f"its origin ({_numbers_text(mine.origin)}) is not this target's ({_numbers_text(theirs.origin)})")
    return (f"the same {' x '.join(map(str, grid.size[:axes]))} voxels of {sizes_text(grid.spacing[:axes])} mm, but "
            f"{' and '.join(differences) or 'not on voxels of this target'}")


def _numbers_text(values) -> str:
    """A point's coordinates as messages write them: ``10.5, -20.25, 30.125``."""
    return ", ".join(f"{value + 0.0:g}" for value in values)


def _file_columns(image, axes: int) -> str:
    """``image``'s direction as its file stores it, as messages write it: the columns of the file axes (named by
    :meth:`~rau.image.Image.file_axis`) its first ``axes`` axes lie along; ``columns i, k: 1,0,0 0,0,1`` for the plane
    of a 1-slice volume stored along j."""
    names = sorted(image.file_axis(2 - axis) for axis in range(axes))
    direction = np.asarray(image.as_stored().direction)
    return f"columns {', '.join(names)}: " + " ".join(",".join(f"{value + 0.0:g}" for value in direction[:, "ijk".index(name)])
                                                      for name in names)


def _on_voxels_of(grid, target) -> bool:
    """Whether ``grid`` samples voxels of ``target``'s grid: the same spacing and axes, and an origin a whole number
    of voxels away (a ``.seg.nrrd`` cropped to its segments)."""
    # Image.same_grid's tolerance, looser than rau.image._pasted's: this accepts a file, which reading then pastes or resamples.
    if grid.is_picture or target.is_picture:
        return False  # a picture has no place: only the same pixels (same_grid) are its voxels
    mine, theirs = common_frame(grid, target)
    axes = target.ndim
    if not (np.allclose(mine.spacing[:axes], theirs.spacing[:axes], atol=GRID_TOLERANCE_MM)
            and np.allclose(mine.direction[:, :axes], theirs.direction[:, :axes], atol=GRID_TOLERANCE_MM)):
        return False
    offset = theirs.to_index(mine.origin)[:axes]
    return bool(np.allclose(offset, np.round(offset), atol=1e-3))


def saved_labels(file: Path, recorded: list[Structure]) -> LabelSet | None:
    """For a saved label map: the ``recorded`` structures (each row's :func:`_structure`: its value, colour and
    terminology as the JSON gives them, whatever the label table beside it says now, which :func:`table_differences`
    warns of); None for a ``.seg.nrrd``, which names its segments."""
    return None if file.name.lower().endswith(".seg.nrrd") else LabelSet(tuple(recorded))


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
