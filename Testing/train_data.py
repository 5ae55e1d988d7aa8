"""Manifests for the training tests, written from the shared data (HC18 ultrasound, TotalSegmentator CT)."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def hc18_manifest(shared_data: Path, folder: Path, count: int) -> Path:
    """A manifest of the first ``count`` HC18 images with their pixel sizes and a one-row label table."""
    data = shared_data / "hc18_fetal_head_us"
    (folder / "hc18.labels.csv").write_text("value,name\n255,fetal_head\n")
    with open(data / "pixel_size_and_HC.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    lines = ["subject,image,labels,pixel_spacing,label_table"]
    for row in rows:
        stem = row["filename"][: -len(".png")]
        lines.append(f"{stem},{data}/images/{stem}.png,{data}/masks/{stem}_mask.png,{row['pixel_size_mm']},hc18.labels.csv")
    (folder / "hc18.csv").write_text("\n".join(lines) + "\n")
    return folder / "hc18.csv"


def ct_manifest(shared_data: Path, folder: Path) -> Path:
    """A manifest of the two TotalSegmentator CTs with the ``total`` label names."""
    data = shared_data / "totalseg_test_fixtures"
    names = json.loads((data / "label_names.json").read_text())["total"]
    (folder / "total.labels.csv").write_text("value,name\n" + "".join(f"{k},{v}\n" for k, v in names.items()))
    lines = ["subject,image,labels,label_table"]
    for subject in ("subjA_ct", "subjB_ct"):
        lines.append(f"{subject},{data}/{subject}/image.nii.gz,{data}/{subject}/labels_totalseg.nii.gz,total.labels.csv")
    (folder / "ct.csv").write_text("\n".join(lines) + "\n")
    return folder / "ct.csv"
