"""Writes the evaluation manifests in this folder from ../../shared/data (rerun to reproduce them).

* ``hc18_single.csv``: 20 reference -> target pairs of distinct HC18 examinations (seed 2025).
* ``hc18_multi.csv``: the same 20 targets, each with the other 59 examinations as references.
* ``totalseg_ct.csv``: TotalSegmentator CT A -> CT B (3D, different patients, 27 shared structures).
* ``totalseg_ct_mr.csv``: TotalSegmentator CT A -> MR C and CT B -> MR C (cross-modality; both rows share
  the target, so score them with ``bench_accuracy.py --pairs``). ``totalseg_mr_labels.nii.gz`` is the MR's
  label map renumbered from TotalSegmentator's ``total_mr`` ids to the ``total`` ids by name (structures
  the CT table lacks dropped), so one table names both sides.
* ``totalseg_total.labels.csv``: names for the TotalSegmentator ``total`` label ids.
"""

import csv
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.evaluation.manifest import write_manifest

HERE = Path(__file__).resolve().parent
DATA = Path("../../shared/data")  # relative to this folder, as the manifests store it
SEED = 2025
PAIRS = 20


def hc18_rows():
    folder = DATA / "hc18_fetal_head_us"
    with open(HERE / folder / "pixel_size_and_HC.csv", newline="", encoding="utf-8") as handle:
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


def totalseg_tables():
    """TotalSegmentator's ``total`` and ``total_mr`` id -> name tables; writes the ``total`` one as a label table."""
    tables = json.loads((HERE / DATA / "totalseg_test_fixtures" / "label_names.json").read_text(encoding="utf-8"))
    with open(HERE / "totalseg_total.labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["value", "name"])
        writer.writerows((int(value), name) for value, name in tables["total"].items())
    return tables


def totalseg_rows():
    folder = DATA / "totalseg_test_fixtures"
    return [
        {
            "reference_image": folder / "subjA_ct" / "image.nii.gz",
            "reference_labels": folder / "subjA_ct" / "labels_totalseg.nii.gz",
            "target_image": folder / "subjB_ct" / "image.nii.gz",
            "target_labels": folder / "subjB_ct" / "labels_totalseg.nii.gz",
            "label_table": "totalseg_total.labels.csv",
        }
    ]


def renumbered(labels: sitk.Image, source: dict[str, str], destination: dict[str, str]) -> sitk.Image:
    """``labels`` with each id of the ``source`` table replaced by the ``destination`` id of the same name (0 if none)."""
    ids = {name: int(value) for value, name in destination.items()}
    array = sitk.GetArrayFromImage(labels)
    out = np.zeros_like(array)
    for value, name in source.items():
        if name in ids:
            out[array == int(value)] = ids[name]
    image = sitk.GetImageFromArray(out)
    image.CopyInformation(labels)
    return image


def write_mr_labels(tables):
    """``totalseg_mr_labels.nii.gz``: the MR case's labels renumbered to the ``total`` ids."""
    mr_labels = sitk.ReadImage(str(HERE / DATA / "totalseg_test_fixtures" / "subjC_mr" / "labels_totalseg_mr.nii.gz"))
    sitk.WriteImage(renumbered(mr_labels, tables["total_mr"], tables["total"]), str(HERE / "totalseg_mr_labels.nii.gz"))


def totalseg_ct_mr_rows():
    folder = DATA / "totalseg_test_fixtures"
    return [
        {
            "reference_image": folder / subject / "image.nii.gz",
            "reference_labels": folder / subject / "labels_totalseg.nii.gz",
            "target_image": folder / "subjC_mr" / "image.nii.gz",
            "target_labels": "totalseg_mr_labels.nii.gz",
            "label_table": "totalseg_total.labels.csv",
        }
        for subject in ("subjA_ct", "subjB_ct")
    ]


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Run without arguments to rewrite the files.").parse_args()
    single, multi = hc18_rows()
    write_manifest(HERE / "hc18_single.csv", single)
    write_manifest(HERE / "hc18_multi.csv", multi)
    tables = totalseg_tables()
    write_manifest(HERE / "totalseg_ct.csv", totalseg_rows())
    write_mr_labels(tables)
    write_manifest(HERE / "totalseg_ct_mr.csv", totalseg_ct_mr_rows())
