"""Writes the evaluation manifests in this folder from ../../shared/data (rerun to reproduce them).

* ``hc18_single.csv``: 20 reference -> target pairs of distinct HC18 examinations (seed 2025).
* ``hc18_multi.csv``: the same 20 targets, each with the other 59 examinations as references.
* ``totalseg_ct.csv``: TotalSegmentator CT A -> CT B (3D, different patients, 27 shared structures).
* ``totalseg_total.labels.csv``: names for the TotalSegmentator ``total`` label ids.
"""

import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path("../../shared/data")  # relative to this folder, as the manifests store it
SEED = 2025
PAIRS = 20
COLUMNS = ["reference_image", "reference_labels", "reference_spacing", "target_image", "target_labels", "target_spacing", "label_table"]


def hc18_rows():
    folder = DATA / "hc18_fetal_head_us"
    with open(HERE / folder / "pixel_size_and_HC.csv", newline="") as handle:
        spacing = {row["filename"][:-4]: row["pixel_size_mm"] for row in csv.DictReader(handle)}
    names = sorted(spacing)
    rng = np.random.default_rng(SEED)
    targets = rng.choice(len(names), PAIRS, replace=False)
    single, multi = [], []
    for target in targets:
        others = [i for i in range(len(names)) if i != target]
        chosen = int(rng.choice(others))
        for reference in others:
            row = {
                "reference_image": folder / "images" / f"{names[reference]}.png",
                "reference_labels": folder / "masks" / f"{names[reference]}_mask.png",
                "reference_spacing": spacing[names[reference]],
                "target_image": folder / "images" / f"{names[target]}.png",
                "target_labels": folder / "masks" / f"{names[target]}_mask.png",
                "target_spacing": spacing[names[target]],
            }
            multi.append(row)
            if reference == chosen:
                single.append(row)
    return single, multi


def totalseg_rows():
    folder = DATA / "totalseg_test_fixtures"
    names = json.loads((HERE / folder / "label_names.json").read_text())["total"]
    with open(HERE / "totalseg_total.labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["value", "name"])
        writer.writerows((int(value), name) for value, name in names.items())
    return [
        {
            "reference_image": folder / "subjA_ct" / "image.nii.gz",
            "reference_labels": folder / "subjA_ct" / "labels_totalseg.nii.gz",
            "target_image": folder / "subjB_ct" / "image.nii.gz",
            "target_labels": folder / "subjB_ct" / "labels_totalseg.nii.gz",
            "label_table": "totalseg_total.labels.csv",
        }
    ]


def write(name, rows):
    with open(HERE / name, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    single, multi = hc18_rows()
    write("hc18_single.csv", single)
    write("hc18_multi.csv", multi)
    write("totalseg_ct.csv", totalseg_rows())
