"""Structures with their truth on real dev images, for the weight-free corrector's benchmarks.

Every structure of 2000 voxels or more of the TotalSegmentator fixtures (CT A, CT B, MR C), and the first 20 HC18
heads (``shared/data``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image as Picture

from rau.image import Image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VOLUMES = (("subjA_ct", "labels_totalseg.nii.gz"), ("subjB_ct", "labels_totalseg.nii.gz"), ("subjC_mr", "labels_totalseg_mr.nii.gz"))
MIN_VOXELS = 2000
HC18_HEADS = 20


def structures():
    """(group, name, image, truth mask) for every structure: group "volumes" or "HC18"."""
    for subject, labels_name in VOLUMES:
        folder = DATA / "totalseg_test_fixtures" / subject
        image = Image.from_sitk(sitk.ReadImage(str(folder / "image.nii.gz")))
        labels = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / labels_name)))
        values, counts = np.unique(labels[labels > 0], return_counts=True)
        for value in values[counts >= MIN_VOXELS]:
            yield "volumes", f"{subject}:{value}", image, labels == value
    folder = DATA / "hc18_fetal_head_us"
    sizes = {row["filename"]: float(row["pixel_size_mm"]) for row in csv.DictReader(open(folder / "pixel_size_and_HC.csv"))}
    for number in range(HC18_HEADS):
        name = f"{number:03d}_HC.png"
        pixels = np.asarray(Picture.open(folder / "images" / name), np.float32)[None]
        truth = np.asarray(Picture.open(folder / "masks" / f"{name[:-4]}_mask.png"))[None] > 0
        image = Image(pixels, spacing=(sizes[name], sizes[name], 1.0), ndim=2)
        yield "HC18", name, image, truth
