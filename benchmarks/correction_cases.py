"""Structures with their truth on real dev images, for the weight-free corrector's benchmarks.

Groups (``shared/data``; slicerio's own data): "volumes", every structure of 2000 voxels or more of the
TotalSegmentator fixtures (CT A, CT B, MR C); "HC18", the first 20 heads; "ARCADE", every named segment of 50 pixels
or more of the first 20 angiograms (file order); "chest CT", the 7 segments of slicerio's chest CT.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicerio
from PIL import Image as Picture

from rau.image import Image
from rau.io import read_image, read_segmentation
from shared_data import SHARED_DATA

VOLUMES = (("subjA_ct", "labels_totalseg.nii.gz"), ("subjB_ct", "labels_totalseg.nii.gz"), ("subjC_mr", "labels_totalseg_mr.nii.gz"))
MIN_VOXELS = 2000
HC18_HEADS = 20
ANGIOGRAMS = 20
MIN_SEGMENT_PIXELS = 50
GROUPS = ("volumes", "HC18", "ARCADE", "chest CT")
NEEDED_FILES = {"volumes": [f"totalseg_test_fixtures/{subject}/{name}" for subject, labels in VOLUMES for name in ("image.nii.gz", labels)],
                "HC18": ["hc18_fetal_head_us/pixel_size_and_HC.csv"], "ARCADE": ["arcade_syntax_dev/manifest.csv"], "chest CT": []}
"""The files each group reads in the shared data folder (the HC18 and ARCADE pictures lie beside those named)."""


def structures(groups=GROUPS[:2]):
    """(group, name, image, truth mask) for every structure of ``groups``."""
    loaders = {"volumes": _volumes, "HC18": _hc18, "ARCADE": _arcade, "chest CT": _chest_ct}
    for group in groups:
        for name, image, truth in loaders[group]():
            yield group, name, image, truth


def needed_files(groups=GROUPS[:2]) -> list[str]:
    """The files :func:`structures` reads for ``groups``, as paths in the shared data folder."""
    return [name for group in groups for name in NEEDED_FILES[group]]


def _volumes():
    for subject, labels_name in VOLUMES:
        folder = SHARED_DATA / "totalseg_test_fixtures" / subject
        image = Image.from_sitk(sitk.ReadImage(str(folder / "image.nii.gz")))
        labels = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / labels_name)))
        values, counts = np.unique(labels[labels > 0], return_counts=True)
        for value in values[counts >= MIN_VOXELS]:
            yield f"{subject}:{value}", image, labels == value


def _hc18():
    folder = SHARED_DATA / "hc18_fetal_head_us"
    sizes = {row["filename"]: float(row["pixel_size_mm"]) for row in csv.DictReader(open(folder / "pixel_size_and_HC.csv", newline="", encoding="utf-8"))}
    for number in range(HC18_HEADS):
        name = f"{number:03d}_HC.png"
        pixels = np.asarray(Picture.open(folder / "images" / name), np.float32)[None]
        truth = np.asarray(Picture.open(folder / "masks" / f"{name[:-4]}_mask.png"))[None] > 0
        yield name, Image(pixels, spacing=(sizes[name], sizes[name], 1.0), ndim=2), truth


def _arcade():
    for path in sorted((SHARED_DATA / "arcade_syntax_dev").glob("*_img.png"))[:ANGIOGRAMS]:
        image = Image(np.asarray(Picture.open(path).convert("L"), np.float32)[None], ndim=2)
        labels = np.asarray(Picture.open(path.with_name(path.name.replace("_img", "_lab"))))[None]
        values, counts = np.unique(labels[labels > 0], return_counts=True)
        for value in values[counts >= MIN_SEGMENT_PIXELS]:
            yield f"{path.name}:{value}", image, labels == value


def _chest_ct():
    data = Path(slicerio.__file__).parent / "data"
    image = read_image(data / "CTChest4.nrrd")
    segmentation = read_segmentation(data / "Segmentation.seg.nrrd", geometry=image)
    for name in segmentation.labels.names:
        yield name, image, segmentation.mask(name)
