"""Annotated datasets on disk: one subject = one image + its label map.

Two layouts are read:

* a **folder** whose subfolders are subjects, each holding one image file named
  ``image.*`` and one label file whose name starts with ``label`` (or a
  ``*.seg.nrrd``); the subfolder name is the subject id;
* a **manifest** CSV with columns ``image,labels`` and optional ``subject``,
  ``pixel_spacing`` (mm, for PNG/JPEG) and ``label_table``; paths are relative to
  the CSV. Rows without ``subject`` are subjects of their own.

Subjects matter because validation holds whole subjects out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from rau.errors import InputError
from rau.image import Image
from rau.io import read_image, read_segmentation
from rau.labels import Segmentation


@dataclass(frozen=True)
class Subject:
    """Where one annotated image lives; :meth:`load` reads it."""

    name: str
    image: Path
    labels: Path
    pixel_spacing: float | None = None
    label_table: Path | None = None

    def load(self) -> tuple[Image, Segmentation]:
        """The image and its labels on the image grid."""
        image = read_image(self.image, self.pixel_spacing)
        segmentation = read_segmentation(self.labels, geometry=image, label_table=self.label_table, pixel_spacing=self.pixel_spacing)
        return image, segmentation


def read_subjects(source) -> list[Subject]:
    """Subjects from a dataset folder or a manifest CSV (see module doc), sorted by name."""
    source = Path(source)
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
        labels = sorted(p for p in sub.iterdir() if p.is_file() and (p.name.lower().startswith("label") or p.name.lower().endswith(".seg.nrrd")))
        if not images and not labels:
            continue
        if len(images) != 1 or len(labels) != 1:
            raise InputError(
                f"{sub}: a subject folder needs exactly one image.* and one label* file, "
                f"found images {[p.name for p in images]} and labels {[p.name for p in labels]}; use a manifest CSV instead"
            )
        subjects.append(Subject(sub.name, images[0], labels[0]))
    if not subjects:
        raise InputError(f"{folder}: no subject subfolders with image.* and label* files")
    return subjects


def _from_manifest(manifest: Path) -> list[Subject]:
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise InputError(f"{manifest}: manifest lists no images")
    missing = {"image", "labels"} - set(rows[0])
    if missing:
        raise InputError(f"{manifest}: manifest lacks column(s) {sorted(missing)}; columns are image,labels[,subject,pixel_spacing,label_table]")
    subjects = []
    for number, row in enumerate(rows, start=2):
        try:
            spacing = float(row["pixel_spacing"]) if row.get("pixel_spacing") else None
        except ValueError as error:
            raise InputError(f"{manifest}:{number}: bad pixel_spacing {row['pixel_spacing']!r}") from error
        table = manifest.parent / row["label_table"] if row.get("label_table") else None
        name = row.get("subject") or Path(row["image"]).name
        subjects.append(Subject(name, manifest.parent / row["image"], manifest.parent / row["labels"], spacing, table))
    return subjects
