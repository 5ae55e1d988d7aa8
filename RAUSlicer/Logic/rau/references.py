"""Loading references (image + labels) and reference banks from disk."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

from rau import validation
from rau.errors import InputError
from rau.engines.base import Reference, ReferenceInputError
from rau.io import read_image, read_segmentation
from rau.io.label_tables import color_fields
from rau.io.segmentations import names_its_segments
from rau.labels import normalize_name
from rau.user_warnings import collected_warnings, warn


def load_reference(image_path, labels_path, pixel_spacing: float | None = None, label_table=None) -> Reference:
    """Read a reference image and its labels, the labels placed on the image grid in physical space. A refusal names
    the files by the paths given (a cohort's masks may share a file name)."""
    validation.check_distinct_files(image_path, labels_path)
    image = read_image(image_path, pixel_spacing)
    segmentation = read_segmentation(labels_path, geometry=image, label_table=label_table, pixel_spacing=pixel_spacing, image_path=image_path)
    reference = Reference(image, segmentation, name=Path(image_path).name, image_path=Path(image_path), labels_name=Path(labels_path).name,
                          labels_path=Path(labels_path))
    if not reference.labelled_anatomy().any():  # as engines check every reference; here the file can be named
        raise ReferenceInputError(f"{labels_path}: no labelled voxels, every value is 0 (the labels of {str(image_path)!r})")
    return reference


def label_tables(labels_paths: list, label_table) -> list:
    """The label table each of a pool's label files is read with: ``label_table`` names the label maps' values, and a
    Slicer segmentation among them keeps its own segment names. Where every one is a segmentation, each gets the table,
    which reading refuses (it would name nothing)."""
    own = [names_its_segments(path) for path in labels_paths]
    return [None if named and not all(own) else label_table for named in own]


def cached_reference(image_path, labels_path, pixel_spacing: float | None = None, label_table=None) -> Reference:
    """:func:`load_reference`, read once per process even when many targets or cases share it (batch, evaluate); what
    reading it warned of is said again at each use, so every target's run says (and records) it whatever ran before."""
    reference, said = _read_once(image_path, labels_path, pixel_spacing, label_table)
    for message in said:
        warn(message)
    return reference


@functools.lru_cache(maxsize=128)
def _read_once(image_path, labels_path, pixel_spacing, label_table) -> tuple[Reference, tuple[str, ...]]:
    with collected_warnings() as said:
        reference = load_reference(image_path, labels_path, pixel_spacing, label_table)
    return reference, tuple(said)


class BankRow(NamedTuple):
    """One reference of a reference bank, and where the user gave it (``bank.csv line 3``), for messages."""

    image: Path
    labels: Path
    spacing: float | None
    place: str


def reference_bank_entries(manifest) -> list[BankRow]:
    """Every row of a reference bank, each field checked."""
    rows = validation.read_table(manifest, ("image", "labels"), "reference bank", ("pixel_spacing",))
    entries = []
    for line, row in rows:
        place = f"{manifest} line {line}"
        image, labels = validation.existing_file(row, "image", manifest, line), validation.existing_file(row, "labels", manifest, line)
        validation.check_distinct_files(image, labels, f"{place}: labels ")
        entries.append(BankRow(image, labels, validation.spacing_field(row, "pixel_spacing", manifest, line), place))
    check_distinct_references([(entry.image, entry.labels, entry.place) for entry in entries])
    return entries


def reference_files(image, labels) -> tuple[Path, Path]:
    """What makes two references one: the same image and labels files, however the paths spell them (whatever pixel
    size is given with them)."""
    return Path(image).resolve(), Path(labels).resolve()


def check_distinct_references(places) -> None:
    """Refuse a reference given twice: the same image and labels files however they are named, or copies with the same
    contents (it would vote twice); copies whose bytes differ (a re-saved picture) are refused once read, by
    :func:`rau.engines.base.check_references`. ``places``: ``(image, labels, where it was given)`` in order; the message
    names both places."""
    earlier: list[tuple[tuple[Path, Path], str]] = []
    for image, labels, where in places:
        files = reference_files(image, labels)
        for seen_files, seen in earlier:
            if seen_files == files:
                said = "is given twice" if seen == where else f"repeats the reference of {seen}"
                raise InputError(f"{where}: {said}; it would vote twice")
            if same_reference(seen_files, files):
                raise InputError(f"{where}: its image and labels are copies of those of {seen}; it would vote twice")
        earlier.append((files, where))


def same_reference(first: tuple[Path, Path], second: tuple[Path, Path]) -> bool:
    """Whether two references' (image, labels) files (:func:`reference_files`) are the same files, or copies with the
    same contents: one reference, which must not vote twice."""
    # labels first: distinct references' labels differ, and comparing them is cheaper than scanning a DICOM folder
    return first == second or (validation.same_bytes(first[1], second[1]) and validation.same_bytes(first[0], second[0]))


def as_read(reference: Reference, image, labels) -> dict:
    """What a result of an engine that runs again on its references records of each one as read (``image`` and
    ``labels``: its files as recorded): the SHA-256 of its image's voxels and geometry and of its label voxels, and its
    structures' names, values and colours; ``rau correct`` compares the reference as read again (:func:`change_since`)."""
    return {"image": str(image), "labels": str(labels), "image_sha256": reference.image_digest,
            "labels_sha256": reference.segmentation.voxel_digest(),
            "structures": [{"name": s.name, "value": s.value, "color": list(map(float, s.color))} for s in reference.segmentation.labels]}


def change_since(recorded: dict, reference: Reference, names) -> tuple[str, str] | None:
    """How ``reference`` as read now differs from what the run read (``recorded``: :func:`as_read`): its file as recorded
    and what changed (voxels or geometry; the name, value or colour of a structure among ``names``, the result's); None
    when nothing did."""
    now = as_read(reference, recorded["image"], recorded["labels"])
    if now["image_sha256"] != recorded["image_sha256"]:
        return recorded["image"], "its voxels or geometry are not those the run read"
    if now["labels_sha256"] != recorded["labels_sha256"]:
        return recorded["labels"], "its label voxels are not those the run read"
    asked = {normalize_name(name) for name in names}
    changed = [change for was in recorded["structures"] if normalize_name(was["name"]) in asked
               if (change := _structure_change(was, now["structures"]))]
    return (recorded["labels"], "; ".join(changed)) if changed else None


def _structure_change(was: dict, structures: list[dict]) -> str | None:
    """How the structure ``was`` (:func:`as_read`'s) differs in ``structures`` as read now; None when it does not."""
    name = was["name"]
    same = next((s for s in structures if normalize_name(s["name"]) == normalize_name(name)), None)
    if same is None:
        renamed = next((s for s in structures if s["value"] == was["value"]), None)
        return f"{name!r} is named {renamed['name']!r} there now" if renamed else f"{name!r} is not there now"
    if same["value"] != was["value"]:
        return f"{name!r} has the value {same['value']} there now, not {was['value']}"
    if color_fields(same["color"]) != color_fields(was["color"]):  # as a table holds colours: 8 bits
        return f"{name!r} is coloured {','.join(color_fields(same['color']))} there now, not {','.join(color_fields(was['color']))}"
    return None
