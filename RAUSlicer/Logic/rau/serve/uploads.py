"""A job's uploads -> a :class:`rau.engines.Request`, read and validated exactly as the CLI reads files.

Uploaded files are saved under the job's folder with names the server chooses (only the
suffix of the client's file name is kept), then read with :mod:`rau.io`. Error messages name
the client's file, not the server's copy.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

from rau import validation
from rau.engines import ENGINES, Request
from rau.engines.base import check_references
from rau.errors import InputError, UnavailableError
from rau.io import read_image
from rau.io.images import overlay_problem
from rau.io.label_tables import sidecar_places, why_no_label_table
from rau.io.segmentations import names_its_segments
from rau.reference_names import named_by
from rau.references import check_distinct_references, label_tables, load_reference
from rau.serve.jobs import LOG
from rau.serve.security import UPLOAD_SUFFIXES, check_data_attached, check_unpacked_size, confined, upload_suffix
from rau.serve.wire import check_fields, json_object
from rau.user_warnings import collected_warnings, warn

ASK_TARGET_SPACING = 'ask for "target_spacing": {size} in the job spec'
"""How a job's picture target is read at the pixel size Slicer shows it with (the spec's field, not ``--target-spacing``;
:func:`rau.io.images.overlay_problem`, which offers no .png label map: a job has none to download)."""
UPLOAD_LABEL_TABLES = "a reference_table upload after its reference_labels, or a label_table upload"
"""How a job gives its references' label maps label tables (the uploads, not ``--label-table``)."""
MAX_REFERENCES = 32
"""References per job (each a reference and a reference_labels file, and the reference_table files of the latter)."""
MAX_FILES = MAX_REFERENCES * (2 + len(sidecar_places("labels.nii.gz"))) + 2
"""Files per job: the target, each reference's image and label map with every table rau segment could read beside it,
and a label_table."""


@dataclass
class Upload:
    """One uploaded file: its form field, the client's file name and a readable binary stream."""

    field: str
    filename: str
    stream: object


@dataclass
class JobSpec:
    """The JSON part of a job submission."""

    engine: str
    options: dict
    structures: list[str] | None
    target_spacing: float | None
    reference_spacing: list[float | None]
    seg_nrrd: bool


SPEC_FIELDS = tuple(spec_field.name for spec_field in fields(JobSpec))
"""The fields a job's spec may have: those of :class:`JobSpec`."""


def form_spec(form) -> str | None:
    """The ``spec`` field of a job's form (None when absent); refuses a second spec, or another field sent without a
    file name, naming it (it would be left out unseen)."""
    specs = form.getlist("spec")
    if len(specs) > 1:
        raise InputError(f"field spec is given {len(specs)} times; give it once")
    others = sorted({key for key, value in form.multi_items() if key != "spec" and not hasattr(value, "file")})
    if others:
        raise InputError(f"unexpected form field(s) {', '.join(f'{key!r:.42}' for key in others)}: a job takes a 'spec' "
                         f"field and files with their file names ({', '.join(UPLOAD_SUFFIXES)})")
    return specs[0] if specs else None


def parse_spec(text, default_engine: str) -> JobSpec:
    """Parse and check the ``spec`` form field; ``default_engine`` runs when it names none."""
    if text is not None and not isinstance(text, str):
        raise InputError("field spec must be a form field holding JSON, not a file")
    data = json_object(text or "{}", "field spec")
    check_fields(data, SPEC_FIELDS, "spec")
    engine = data.get("engine") or default_engine
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    structures = data.get("structures")
    if structures is not None and (not isinstance(structures, list) or not all(isinstance(s, str) for s in structures)):
        raise InputError("spec.structures must be a list of names")
    if structures == []:  # as rau segment --structures, which takes at least one
        raise InputError("spec.structures is empty: give at least one name, or leave it out for every structure")
    spacings = data.get("reference_spacing") or []
    if not isinstance(spacings, list) or not all(s is None or _positive(s) for s in spacings):
        raise InputError("spec.reference_spacing must be a list of positive numbers (or nulls)")
    target_spacing = data.get("target_spacing")
    if target_spacing is not None and not _positive(target_spacing):
        raise InputError("spec.target_spacing must be a positive number")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise InputError("spec.options must be a JSON object")
    seg_nrrd = data.get("seg_nrrd", False)
    if not isinstance(seg_nrrd, bool):
        raise InputError(f"spec.seg_nrrd must be true or false, got {seg_nrrd!r}")
    return JobSpec(engine, options, structures, target_spacing, spacings, seg_nrrd)


def store(upload: Upload, path: Path) -> None:
    """Write ``upload`` at ``path``. The server's own failure to (its work folder broken, its disk full) is not the
    client's: :class:`UnavailableError` (503) says so without the server's paths, and the log tells the operator where."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            shutil.copyfileobj(upload.stream, handle)
    except OSError as error:
        LOG.error("cannot store an upload at %s: %s", path, error)
        raise UnavailableError(f"the server cannot store the job ({error.strerror or type(error).__name__}); its operator is told "
                               "why in its log") from None


def read_uploads(uploads: list[Upload], spec: JobSpec, folder: Path, max_image_bytes: int, outputs) -> tuple[Request, str | None]:
    """Save the uploads under ``folder/inputs`` and read them into a request (raises :class:`InputError`); an image
    whose voxels would take more than ``max_image_bytes`` is refused before it is read. With the request, why the
    job's ``outputs`` will not overlay the target in Slicer (:func:`rau.io.images.overlay_problem`, naming the
    client's file and the remedies a client has), None where they do: asked here, while the target's upload is there to read."""
    unknown = {upload.field for upload in uploads} - set(UPLOAD_SUFFIXES)  # the file fields of a job
    if unknown:  # before any file is written: a field's name becomes its file's (a name of 300 bytes was a 500)
        raise InputError(f"unexpected upload field(s) {', '.join(f'{field:.40}' for field in sorted(unknown))}")
    by_field: dict[str, list[tuple[Path, str]]] = {}
    # a reference_table sent with a segmentation naming its segments is read as its label table, which reading refuses
    segment_tables: dict[Path, Path] = {}  # as it refuses a label_table upload with one: one rule, one message
    for upload in uploads:
        files = by_field.setdefault(upload.field, [])
        name = f"{upload.field}{len(files)}{upload_suffix(upload.filename, upload.field)}"
        if upload.field == "reference_table":
            name = _table_name(upload, by_field.get("reference_labels", []), files)
        path = confined(folder, "inputs", name)
        store(upload, path)
        check_data_attached(path, f"upload {upload.field} ({upload.filename!r})")
        if upload.field in ("target", "reference", "reference_labels"):
            check_unpacked_size(path, f"upload {upload.field} ({upload.filename!r})", max_image_bytes)
        files.append((path, upload.filename))
        if upload.field == "reference_table":
            _check_reference_table(path, upload.filename)
            owner = by_field["reference_labels"][-1][0]  # _table_name checked there is one
            if names_its_segments(owner):
                segment_tables.setdefault(owner, path)
    targets, images, labels = by_field.get("target", []), by_field.get("reference", []), by_field.get("reference_labels", [])
    if len(targets) != 1:
        raise InputError("upload exactly one target")
    if not images or len(images) != len(labels):
        raise InputError("upload one reference_labels file per reference (at least one reference)")
    if len(images) > MAX_REFERENCES:
        raise InputError(f"at most {MAX_REFERENCES} references per job, got {len(images)}")
    spacings = spec.reference_spacing or [None] * len(images)
    if len(spacings) != len(images):
        raise InputError("give one reference_spacing per reference, or none")
    names = {str(path): name for files in by_field.values() for path, name in files}
    with collected_warnings() as said:  # said again below, naming the client's files
        validation.check_pixel_sizes(
            [(f"upload {name!r}", path, spacing) for (path, name), spacing in zip(images, spacings)]
            + [(f"upload {targets[0][1]!r}", targets[0][0], spec.target_spacing)]
        )
        check_distinct_references([(image, label_map, f"upload reference {number} ({name!r})")  # one reference must not vote twice
                                   for number, ((image, name), (label_map, _)) in enumerate(zip(images, labels), 1)])
        tables = by_field.get("label_table", [])
        if len(tables) > 1:
            raise InputError("upload at most one label_table")
        table = tables[0][0] if tables else None
        try:
            tables = label_tables([label_map for label_map, _ in labels], table)
            tables = [segment_tables.get(label_map, shared) for (label_map, _), shared in zip(labels, tables)]
            references = [
                load_reference(image, label_map, spacing, own_table)
                for (image, _), (label_map, _), spacing, own_table in zip(images, labels, spacings, tables)
            ]
            target = read_image(targets[0][0], spec.target_spacing)
        except (ValueError, KeyError) as error:
            raise InputError(_client_names(str(error), names)) from error
        # named as rau segment names them, by the client's files, not the server's copies
        references = named_by(references, [_file_name(name) for _, name in images], [_file_name(name) for _, name in labels])
        for reference in references:  # known by the client's file names, not by the server's copies
            reference.image_path = reference.labels_path = None
        check_references(references, label_table_remedy=UPLOAD_LABEL_TABLES, structures=spec.structures)  # before a job is queued, as rau segment before a run
        request = Request(references, target, spec.structures, target_name=_file_name(targets[0][1]))
        request.labels()  # an unknown spec.structures name is refused here, not in the job
    for message in said:
        warn(_client_names(message, names))
    apart = overlay_problem(targets[0][0], spec.target_spacing, outputs, give_size=ASK_TARGET_SPACING, png_label_map=False)
    return request, _client_names(apart, names) if apart else None


def _table_name(upload: Upload, labels: list[tuple[Path, str]], tables: list[tuple[Path, str]]) -> str:
    """The name a reference_table upload is saved under: a sidecar of the reference_labels just before it, at the
    first place after its earlier ones (``tables``: every reference's so far) in the order rau segment reads a label
    map's tables (:func:`~rau.io.label_tables.sidecar_places`), so the server reads them in the order they came."""
    if not labels:
        raise InputError("upload each reference_table right after its reference_labels")
    places = sidecar_places(labels[-1][0])
    earlier = [place for place in places if place in {path for path, _ in tables}]
    after = places.index(earlier[-1]) + 1 if earlier else 0
    suffix = upload_suffix(upload.filename, upload.field)
    place = next((place for place in places[after:] if place.name.endswith(suffix)), None)
    if place is None:
        raise InputError(f"upload reference_table ({upload.filename!r}): reference_labels {len(labels)} ({labels[-1][1]!r}) "
                         "has more tables, or tables in another order, than rau segment reads beside one label map")
    return place.name


def _check_reference_table(path: Path, filename: str) -> None:
    """Refuse a reference_table upload that is no label table: sent as one, it is not set aside as a file beside a
    label map on disk is (:func:`~rau.io.label_tables.why_no_label_table`)."""
    reason = why_no_label_table(path)
    if reason is not None:
        raise InputError(f"upload reference_table ({filename!r}) is no label table ({reason}); send the label map's "
                         "label table, or leave it out")


def _file_name(uploaded: str) -> str:
    """An upload's file name without the client's folders (as ``rau segment`` names its inputs)."""
    return PurePosixPath(uploaded.replace("\\", "/")).name or uploaded


def _client_names(message: str, names: dict[str, str]) -> str:
    """``message`` with the server's copies (full paths, or file names alone, quoted or not) named as the client
    named them, in one pass: a client's name that is also a copy's name is not named twice."""
    spellings = {}
    for path, name in names.items():
        for form in (path, Path(path).name):
            for quoted in (f"'{form}'", f'"{form}"', form):
                spellings.setdefault(quoted, f"upload {name!r}")
    pattern = "|".join(re.escape(spelling) for spelling in sorted(spellings, key=len, reverse=True))  # longest first
    return re.sub(rf"(?<![\w.])(?:{pattern})(?!\w)" if pattern else r"(?!)", lambda match: spellings[match.group(0)], message)


def _positive(value) -> bool:
    """A JSON number (not a string or a boolean), finite and > 0 (JSON's 1e400 reads as infinity)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:  # a whole number too large for a float
        return False
