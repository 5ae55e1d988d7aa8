"""The files a segmentation run writes (label map, label table, ``.seg.nrrd``, result JSON): their
names, the inputs they record, and writing them all or none. Shared by ``rau segment``,
``rau correct``, ``rau batch`` and ``rau serve``."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
from pathlib import Path

from rau.engines import engine_class
from rau.errors import InputError
from rau.io.atomic import atomic_path, check_writable, folders_held, signals_deferred
from rau.io.images import check_picture_image_values, overlay_problem, write_image
from rau.io.json_text import parse_json
from rau.io.label_tables import LABEL_TABLE_SUFFIX, write_label_table
from rau.io.outputs import LABEL_MAP_SUFFIXES, check_no_stray_tables, check_outputs, label_map_suffix
from rau.io.segmentations import label_table_path, output_stem, write_seg_nrrd
from rau.options import EngineOptions
from rau.user_warnings import warn
from rau.validation import same_file


def output_paths(out: Path, seg_nrrd: bool) -> dict[str, Path]:
    """Every file a run writes for an output path (``.seg.nrrd``: the segmentation itself)."""
    suffix = label_map_suffix(out)  # first: a path without a file name (such as ".") has no sidecar names either
    table = label_table_path(out)
    stem = output_stem(out)
    result = out.with_name(stem + ".result.json")
    if suffix == ".seg.nrrd":
        return {"seg_nrrd": out, "result": result}
    paths = {"label_map": out, "label_table": table, "result": result}
    if seg_nrrd:
        paths["seg_nrrd"] = out.with_name(stem + ".seg.nrrd")
    return paths


ANOTHER_NAME = "choose another output name"
"""How a command that takes its output's name (``--out``) has a refused output written elsewhere."""


def check_run_outputs(paths: dict[str, Path], inputs, overwrite: bool, elsewhere: str = ANOTHER_NAME, seg_nrrd_option: bool = True) -> None:
    """:func:`rau.io.outputs.check_outputs` of a run's outputs, :func:`check_no_earlier_output` and
    :func:`rau.io.outputs.check_no_stray_tables`, which come before an existing output is refused without ``overwrite``:
    ``--overwrite``, which that refusal asks for, would not help. ``elsewhere`` and ``seg_nrrd_option`` (whether the
    command has ``--seg-nrrd``): what its refusals may offer."""
    check_outputs(paths.values(), inputs, overwrite=True)  # all but an existing output
    check_no_earlier_output(paths, inputs, elsewhere, seg_nrrd_option)
    if "label_map" in paths:
        check_no_stray_tables(paths["label_map"], paths.values(), elsewhere)
    for path in paths.values():
        check_writable(path, overwrite)


def check_no_earlier_output(paths: dict[str, Path], inputs=(), elsewhere: str = ANOTHER_NAME, seg_nrrd_option: bool = True) -> None:
    """Refuse an output name that another label map or ``.seg.nrrd`` beside it shares when this run would spoil it:
    replace its result JSON (:func:`_check_result_is_not_of`), or, writing a label table, give it that table (a label
    map's is found by name) or leave it beside them as if it were this run's. Refused even with ``--overwrite``, which
    replaces this output's own files. A ``.seg.nrrd`` output writes no table, and one of the run's ``inputs`` (an
    image beside its segmentation, as Slicer pairs them) keeps its own (:func:`rau.io.outputs.check_spares_inputs`):
    only their result JSON is checked. Refusals offer ``elsewhere`` and, with ``seg_nrrd_option``, ``--seg-nrrd``."""
    stem = paths["result"].name[: -len(".result.json")]
    written = [path for path in paths.values() if path.exists()]
    out = paths.get("label_map") or paths["seg_nrrd"]
    for other in _label_maps_named(paths["result"].parent, stem):
        if any(os.path.samefile(other, path) for path in written):  # this output's own file, however its name is cased
            continue
        given = any(same_file(other, path) for path in inputs)
        _check_result_is_not_of(out, other, paths["result"], given, elsewhere)
        if "label_table" in paths and not given:
            raise InputError(f"{out}: {other} beside it has the same name; {_spoiled(other, paths['label_table'], elsewhere, seg_nrrd_option)} "
                             "(refused even with --overwrite)")


def _spoiled(other: Path, table: Path, elsewhere: str, seg_nrrd_option: bool) -> str:
    """How a run writing the label table ``table`` would spoil ``other``, a file of the same name, and what to do."""
    if other.name.lower().endswith(".seg.nrrd"):
        replace_too = ", add --seg-nrrd to replace it too," if seg_nrrd_option else ""
        return f"it is not this run's, but would be left beside its label table and result JSON as if it were: remove it{replace_too} or {elsewhere}"
    spoiled = (f"this run would write over its label table {table.name}" if table.exists()
               else f"this run's label table {table.name} would be read as its labels")
    return f"{spoiled}: rename or remove it, or {elsewhere}"


def _check_result_is_not_of(out: Path, other: Path, result: Path, given: bool, elsewhere: str) -> None:
    """Refuse to replace ``result``, the result JSON of an earlier run, when it names ``other`` (``given``: one of this
    run's inputs) as that run's label map: this run would take it from its label map."""
    try:
        recorded = parse_json(result.read_bytes()).get("label_map")
    except (OSError, ValueError, AttributeError):  # none, or not a result JSON: nothing of the other's to keep
        return
    if isinstance(recorded, str) and same_file(result.with_name(recorded), other):
        what = f"the input {other}" if given else f"{other}, an earlier output of the same name"
        raise InputError(f"{out}: {result} beside it is the result JSON of {what}, which this run would replace "
                         f"(refused even with --overwrite); {elsewhere}")


def _label_maps_named(folder: Path, stem: str) -> list[Path]:
    """The label maps and ``.seg.nrrd`` files in ``folder`` whose table would be ``<stem>.labels.csv``: ``stem``
    with an output suffix in any case (``t.nii.gz``, ``t.NII.GZ``; ``t.seg.nrrd`` is t's, not ``t.seg.nii.gz``'s)."""
    if not folder.is_dir():
        return []
    return sorted(other for other in folder.glob(glob.escape(stem) + ".*")  # sorted: the same one named first each time
                  if other.name[len(stem):].lower() in LABEL_MAP_SUFFIXES and other.is_file()
                  and label_table_path(other).name.lower() == (stem + LABEL_TABLE_SUFFIX).lower())


def recorded_inputs(target, target_spacing, reference, reference_labels, reference_spacing, reference_bank, label_table,
                    structures, options: EngineOptions, bank_rows=()) -> dict:
    """What ``rau correct`` needs to re-open a run: inputs as absolute paths, structures, engine options
    (local model folders as absolute paths too). ``bank_rows``: the rows (:class:`rau.references.BankRow`) that
    ``reference_bank`` gave, recorded each so that the run's references stay known when that file moves or changes."""
    absolute = lambda path: str(Path(path).resolve())  # noqa: E731
    return {
        "target": absolute(target),
        "target_spacing": target_spacing,
        "reference": [absolute(p) for p in reference],
        "reference_labels": [absolute(p) for p in reference_labels],
        "reference_spacing": list(reference_spacing),
        "reference_bank": absolute(reference_bank) if reference_bank else None,
        "reference_bank_rows": [{"image": absolute(row.image), "labels": absolute(row.labels), "pixel_spacing": row.spacing}
                                for row in bank_rows],
        "label_table": absolute(label_table) if label_table else None,
        "structures": structures,
        "engine_options": recorded_engine_options(options),
    }


def recorded_engine_options(options: EngineOptions) -> dict:
    """Engine ``options`` as a result JSON records them: every one by name, local model and adapter folders as absolute
    paths."""
    return options.with_absolute_folders().as_dict()


ADD_SEG_NRRD = "add --seg-nrrd for a Slicer segmentation that keeps them whole"
"""What keeps overlapping structures whole when a command with ``--seg-nrrd`` (``rau segment``, ``rau batch``,
``rau correct``) wrote none: the default of :func:`write_outputs`'s ``keeps_whole``."""


def write_outputs(result, paths: dict[str, Path], overwrite: bool, inputs: dict | None = None, warnings: list[str] = (),
                  said_as=None, keeps_whole: str = ADD_SEG_NRRD, references=(), apart: str | None = None) -> None:
    """Write every output to a temporary file first; all are renamed into place only if all succeed, while their
    folder is held (:func:`rau.io.atomic.folders_held`: another run's set of the same names is never mixed in).

    The result JSON names the label map, the ``.seg.nrrd`` when one is written (it keeps overlapping
    structures, which a label map cannot), the SHA-256 of each (``sha256``, :func:`file_digest`), the ranking of several references (:func:`ranking_rows`), with
    ``inputs`` (see :func:`recorded_inputs`) the run's inputs with the SHA-256 of the target's voxels as
    read (``target_sha256``: :meth:`rau.image.Image.voxel_digest`, checked by :func:`rau.io.saved_results.check_target`), and the run's ``warnings`` with what writing says
    (structures the label map hides, and without a ``.seg.nrrd`` ``keeps_whole``: what the caller offers that keeps them
    whole; in the JSON as ``said_as`` words it, e.g. naming a server's downloads), each once. ``inputs`` of an engine that
    runs again to correct (:attr:`rau.engines.base.Engine.model_session`) record its ``references`` as read too
    (:func:`with_references_read`). Why the volume outputs will not overlay the target in Slicer
    (:func:`rau.io.images.overlay_problem`) is asked of ``inputs``' target, or is ``apart`` where its file is gone (a
    server's upload, asked while it was there); written among the warnings and then warned of."""
    if inputs:  # the target as read, which rau correct checks (before the folders are held: hashing takes a while)
        inputs = {**inputs, "target_sha256": result.target.voxel_digest()}
    if inputs and references and engine_class(result.engine).model_session:
        inputs = with_references_read(inputs, references)
    segmentation = result.to_segmentation()
    label_map = segmentation.to_label_map() if "label_map" in paths else None
    written = []
    if label_map is not None:
        check_picture_image_values(paths["label_map"], label_map)  # its own path, not the temporary one
        whole = f"{paths['seg_nrrd']} keeps them whole" if "seg_nrrd" in paths else keeps_whole
        if hidden := hidden_warning(segmentation, paths["label_map"], whole):
            warn(hidden)
            written.append((said_as or str)(hidden))
    volumes = [paths[key] for key in ("label_map", "seg_nrrd") if key in paths]
    apart = overlay_problem(inputs["target"], inputs["target_spacing"], volumes) if inputs else apart
    written += [apart] if apart else []
    with folders_held(paths.values()), signals_deferred() as hold, contextlib.ExitStack() as stack:
        # the result JSON, entered last, is renamed into place first: rau batch takes files of a target without it as
        # not its own (see rau.batch.items.WorkItem.state)
        temporary = {key: stack.enter_context(atomic_path(paths[key], overwrite)) for key in sorted(paths, key=lambda key: key == "result")}
        if "label_map" in temporary:
            write_image(label_map, temporary["label_map"], overwrite=True)
            write_label_table(segmentation.labels, temporary["label_table"])
        if "seg_nrrd" in temporary:
            write_seg_nrrd(segmentation, temporary["seg_nrrd"], overwrite=True)
        summary = {"engine": result.engine, "seconds": round(result.seconds, 3), "structures": result.summary(),
                   "label_map": (paths.get("label_map") or paths["seg_nrrd"]).name}
        summary |= {"segmentation": paths["seg_nrrd"].name} if "seg_nrrd" in paths else {}
        written_as = {"label_map": temporary.get("label_map", temporary.get("seg_nrrd")), "segmentation": temporary.get("seg_nrrd")}
        summary["sha256"] = {role: file_digest(file) for role, file in written_as.items() if file is not None}
        summary |= {"ranking": ranking} if (ranking := ranking_rows(result)) else {}
        summary |= {"inputs": inputs} if inputs else {}
        said = list(dict.fromkeys([*warnings, *written]))  # each once
        summary |= {"warnings": said} if said else {}
        temporary["result"].write_text(result_json_text(summary), encoding="utf-8")
        hold()  # Ctrl-C now waits until every file is renamed: never a new result JSON beside an earlier label map
    if apart:
        warn(apart)  # said of what was written: not before a write that fails


def add_seg_nrrd(segmentation, paths: dict[str, Path], saved: dict) -> None:
    """Write the ``.seg.nrrd`` (``paths["seg_nrrd"]``) of a run whose other outputs exist, ``segmentation`` being its
    saved result, and record it in its result JSON (``saved``) as :func:`write_outputs` does (its name and SHA-256);
    both or neither, the JSON renamed into place first, as there."""
    with folders_held(paths.values()), signals_deferred() as hold, \
            atomic_path(paths["seg_nrrd"]) as seg_nrrd, atomic_path(paths["result"], overwrite=True) as result:
        write_seg_nrrd(segmentation, seg_nrrd, overwrite=True)
        recorded = {}
        for key, value in saved.items():  # where write_outputs puts it: after the label map
            recorded[key] = value
            recorded |= {"segmentation": paths["seg_nrrd"].name} if key == "label_map" else {}
        recorded["sha256"] = {**saved.get("sha256", {}), "segmentation": file_digest(seg_nrrd)}
        result.write_text(result_json_text(recorded), encoding="utf-8")
        hold()


def result_json_text(summary: dict) -> str:
    """A result JSON's text."""
    return json.dumps(summary, indent=2, ensure_ascii=False)


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex: what a result JSON records of its label map and ``.seg.nrrd`` (its
    ``sha256``), so ``rau correct`` knows which one was edited since the run."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def with_references_read(inputs: dict, references) -> dict:
    """``inputs`` with each of the run's ``references`` as read (``references_read``: :func:`rau.references.as_read`,
    named by the files ``inputs`` record, in the order they were read: ``--reference`` ones, then the bank's rows), which
    ``rau correct`` compares with the references it reads again to re-run an engine: one changed since the run is refused there."""
    from rau.references import as_read

    rows = inputs.get("reference_bank_rows") or []
    files = [*zip(inputs.get("reference") or [], inputs.get("reference_labels") or []), *((row["image"], row["labels"]) for row in rows)]
    return {**inputs, "references_read": [as_read(reference, image, labels) for reference, (image, labels) in zip(references, files)]}


def ranking_rows(result) -> list[dict]:
    """The engine's ranking of several references, best first: each one's name, ranking score and image similarity
    (none for one reference, or an engine that ranks none)."""
    ranking = result.details.get("ranking") or []
    return [{key: row[key] for key in ("reference", "score", "similarity")} for row in ranking] if len(ranking) > 1 else []


def hidden_warning(segmentation, label_map: Path, whole: str) -> str | None:
    """What to tell the user of the overlapping structures the label map cannot show in full, and (``whole``) where
    they are whole; None when none overlap."""
    hidden = segmentation.hidden_in_label_map()
    if not hidden:
        return None
    lost = ", ".join(f"{name!r} {count} voxels" for name, count in hidden.items())
    return f"structures overlap; in {label_map} later structures cover {lost}; {whole}"
