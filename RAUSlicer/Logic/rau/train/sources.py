"""Annotated datasets on disk: one subject = one image + its label map.

Two layouts are read:

* a **folder** whose subfolders are subjects, each holding one image file named
  ``image.*`` and one label file whose name starts with ``label`` (or a
  ``*.seg.nrrd``); the subfolder name is the subject id;
* a **manifest** CSV with columns ``image,labels`` and optional ``subject``,
  ``pixel_spacing`` (mm, for PNG/JPEG) and ``label_table``; paths are relative to
  the CSV. Rows without ``subject`` are subjects of their own, named by their ``image`` as written.

Subjects matter because validation holds whole subjects out. In either layout each image (or a copy of it) is one
subject's only.
"""

from __future__ import annotations

import filecmp
from dataclasses import dataclass
from pathlib import Path

from rau import validation
from rau.errors import InputError
from rau.image import Image
from rau.io.label_tables import SIDECAR_SUFFIXES
from rau.labels import Segmentation
from rau.references import load_reference


@dataclass(frozen=True)
class Subject:
    """Where one annotated image lives; :meth:`load` reads it."""

    name: str
    image: Path
    labels: Path
    pixel_spacing: float | None = None
    label_table: Path | None = None
    place: str = ""  # where the dataset gives it: its folder, or "manifest.csv line 3"

    def load(self) -> tuple[Image, Segmentation]:
        """The image and its labels on the image grid, checked as any reference (:func:`rau.references.load_reference`);
        a refusal names :attr:`place`."""
        try:
            reference = load_reference(self.image, self.labels, self.pixel_spacing, self.label_table)
        except InputError as error:
            raise InputError(f"{self.place}: {error}") from None
        return reference.image, reference.segmentation


def read_subjects(source) -> list[Subject]:
    """Subjects from a dataset folder or a manifest CSV (see module doc), sorted by name."""
    source = Path(source)
    validation.check_not_special(source, remedy="give a dataset folder or a manifest CSV")
    if source.is_dir():
        subjects = _from_folder(source)
    elif source.is_file():
        subjects = _from_manifest(source)
    else:
        raise InputError(f"{source}: no such dataset folder or manifest")
    count = len({s.name for s in subjects})
    if count < 2:
        raise InputError(f"{source}: need at least two subjects to draw reference/target pairs, found {count}")
    return sorted(subjects, key=lambda s: (s.name, str(s.image)))


def _from_folder(folder: Path) -> list[Subject]:
    subjects = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        images = sorted(p for p in sub.iterdir() if p.is_file() and p.name.lower().startswith("image."))
        labels = sorted(p for p in sub.iterdir() if p.is_file() and (p.name.lower().startswith("label") or p.name.lower().endswith(".seg.nrrd"))
                        and not p.name.lower().endswith(SIDECAR_SUFFIXES))  # label.labels.csv names label.png's values
        if not images and not labels:
            continue
        if len(images) != 1 or len(labels) != 1:
            raise InputError(
                f"{sub}: a subject folder needs exactly one image.* and one label* file, "
                f"found images {[p.name for p in images]} and labels {[p.name for p in labels]}; use a manifest CSV instead"
            )
        for path in (sub, images[0], labels[0]):  # their names are written into the pairs
            validation.check_text_name(str(path))
        subjects.append(Subject(sub.name, images[0], labels[0], place=str(sub)))
    if not subjects:
        raise InputError(f"{folder}: no subject subfolders with image.* and label* files")
    _check_each_image_once(subjects, [str(folder / s.name) for s in subjects])
    return subjects


def _from_manifest(manifest: Path) -> list[Subject]:
    """One subject per row, every field checked by :mod:`rau.validation` (errors name file and line), each image in
    one row only (:func:`_check_each_image_once`)."""
    rows = list(validation.read_table(manifest, ("image", "labels"), "training manifest", ("subject", "pixel_spacing", "label_table")))
    subjects = [_manifest_subject(manifest, line, row) for line, row in rows]
    _check_each_image_once(subjects, [f"line {line}" for line, _ in rows], f"{manifest} ")
    return subjects


def _check_each_image_once(subjects: list[Subject], places: list[str], prefix: str = "") -> None:
    """Refuse an image given for two subjects, or a byte copy of another's (a DICOM folder is not compared): it would be
    paired with itself, and could be trained and validated on. ``places`` name each subject's folder or manifest line
    (after ``prefix``, the manifest) in the message."""
    seen, by_size = {}, {}  # image, resolved -> its place; file size -> (image, place) of the files
    for subject, place in zip(subjects, places):
        first = seen.setdefault(subject.image.resolve(), place)
        if first != place:
            raise InputError(f"{prefix}{place}: image {subject.image} is the image of {first} too; give each image once")
        if subject.image.is_file():
            same_size = by_size.setdefault(subject.image.stat().st_size, [])
            copied = next((other for other in same_size if filecmp.cmp(other[0], subject.image, shallow=False)), None)
            if copied is not None:
                raise InputError(f"{prefix}{place}: image {subject.image} is a copy of {copied[0]}, the image of {copied[1]}; "
                                 "give each image once")
            same_size.append((subject.image, place))


def _manifest_subject(manifest: Path, line: int, row: dict) -> Subject:
    """The subject of manifest row ``line``: files that exist (the labels not the image), a positive pixel size or none."""
    image = validation.existing_file(row, "image", manifest, line)
    labels = validation.existing_file(row, "labels", manifest, line)
    validation.check_distinct_files(image, labels, f"{manifest} line {line}: labels ")
    spacing = validation.spacing_field(row, "pixel_spacing", manifest, line)
    table = validation.existing_file(row, "label_table", manifest, line) if row.get("label_table") else None
    return Subject(row.get("subject") or row["image"], image, labels, spacing, table, f"{manifest} line {line}")  # the image as written: one per row
