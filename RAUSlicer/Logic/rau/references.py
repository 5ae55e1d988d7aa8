"""Loading references (image + labels) and reference banks from disk."""

from __future__ import annotations

import csv
from pathlib import Path

from rau.engines.base import Reference
from rau.io import read_image, read_segmentation


def load_reference(image_path, labels_path, pixel_spacing: float | None = None, label_table=None) -> Reference:
    """Read a reference image and its labels, the labels placed on the image grid in physical space."""
    image = read_image(image_path, pixel_spacing)
    segmentation = read_segmentation(labels_path, geometry=image, label_table=label_table, pixel_spacing=pixel_spacing)
    return Reference(image, segmentation, name=Path(image_path).name)


def load_reference_bank(manifest) -> list[Reference]:
    """References listed in a CSV with columns ``image,labels[,pixel_spacing]`` (paths relative to it)."""
    manifest = Path(manifest)
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{manifest}: reference bank lists no references")
    return [
        load_reference(
            manifest.parent / row["image"],
            manifest.parent / row["labels"],
            float(row["pixel_spacing"]) if row.get("pixel_spacing") else None,
        )
        for row in rows
    ]
