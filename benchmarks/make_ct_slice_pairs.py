"""2D abdominal CT pairs across patients: 20 axial slices of TotalSegmentator subject A matched to
slices of subject B and back. Run: python benchmarks/make_ct_slice_pairs.py OUT_DIR [--data SHARED_DATA]
(default $RAU_SHARED_DATA, else ../shared/data beside the repository; the volumes are ``totalseg_test_fixtures/subj{A,B}_ct``).

Both volumes are first put in LPS order (sitk.DICOMOrient "LPS": an exact axis flip for A, whose
stored direction is diag(-1, -1, 1); B already is LPS), so their axial 2D plane frames have the
same anatomical orientation (rau's 2D images drop the direction; see rau.image). B is reduced in
plane by 2 x 2 bin averaging (0.977 -> 1.953 mm, 256 x 256; labels by nearest neighbour on that
grid); A stays 3 mm (122 x 101 in LPS order). Slices are written as 1-slice NIfTI volumes with
their true spacing, origin and direction.

Level matching (the two patients have unrelated world z): each slice gets a vector of the areas
(mm^2) of the 27 structures both subjects share; a pair is the slice of the other subject with the
largest Jaccard index of the sets of structures present (>= 50 mm^2), ties broken by the smaller
vertebral-level difference (pixel-weighted mean of T11 = 11, T12 = 12; the only shared vertebrae),
then by the weighted Jaccard similarity of the areas (sum of min / sum of max).
B -> A: every other B slice (k = 0, 2, ..., 18; B's label map repeats in slice pairs), 10 pairs.
A -> B: every A slice from 16 on whose best B match has a set Jaccard >= 0.5, up to 10.
Scored structures: those of the 27 with >= 100 mm^2 in both slices of the pair (others set to 0
in both label maps). No randomness. Pair files are ``REF_to_TGT_ref_REF`` / ``..._tgt_TGT`` (subject
and slice), with ``_labels`` maps and their label tables; ``manifest.csv`` for bench_accuracy.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.evaluation.manifest import write_manifest
from rau.image import Image
from rau.io.images import write_image
from rau.io.segmentations import write_label_map
from rau.labels import LabelSet, Segmentation
from figures import add_out_argument
from shared_data import add_data_argument, check_data

MIN_AREA = 100.0
PRESENT = 50.0
VERTEBRA = {"vertebrae_T11": 11, "vertebrae_T12": 12}


def load(fixtures: Path, subject: str) -> tuple[sitk.Image, sitk.Image]:
    """A subject's CT and label map in LPS order (B reduced to 2 mm in plane)."""
    image = sitk.DICOMOrient(sitk.ReadImage(str(fixtures / f"subj{subject}_ct/image.nii.gz")), "LPS")
    labels = sitk.DICOMOrient(sitk.ReadImage(str(fixtures / f"subj{subject}_ct/labels_totalseg.nii.gz")), "LPS")
    if subject == "B":
        small = sitk.BinShrink(sitk.Cast(image, sitk.sitkFloat32), [2, 2, 1])
        labels = sitk.Resample(labels, small, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
        image = sitk.Cast(sitk.Round(small), sitk.sitkInt16)
    return image, labels


def label_names(fixtures: Path) -> dict[int, str]:
    """TotalSegmentator's label value -> structure name (the fixtures' ``label_names.json``, its ``total`` task)."""
    return {int(k): v for k, v in json.loads((fixtures / "label_names.json").read_text(encoding="utf-8"))["total"].items()}


def areas(labels: sitk.Image, shared: list[int]) -> np.ndarray:
    """(slices, structures) areas in mm^2."""
    array = sitk.GetArrayFromImage(labels)
    pixel = labels.GetSpacing()[0] * labels.GetSpacing()[1]
    return np.stack([[(array[k] == v).sum() * pixel for v in shared] for k in range(array.shape[0])])


def level(row: np.ndarray, index: dict[str, int]) -> float:
    """Pixel-weighted vertebral level of a slice (0 without vertebrae)."""
    names = [n for n in VERTEBRA if n in index]
    weights = np.array([row[index[n]] for n in names])
    return float(weights @ np.array([VERTEBRA[n] for n in names]) / weights.sum()) if weights.sum() else 0.0


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Weighted Jaccard similarity of two area vectors."""
    return float(np.minimum(a, b).sum() / np.maximum(a, b).sum())


def presence(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard index of the structure sets (area >= PRESENT mm^2)."""
    return float(((a >= PRESENT) & (b >= PRESENT)).sum() / max(((a >= PRESENT) | (b >= PRESENT)).sum(), 1))


def best_match(row: np.ndarray, others: np.ndarray, index: dict[str, int]) -> tuple[int, float]:
    """The slice of ``others`` that best matches ``row`` and its set Jaccard index."""
    scores = [(round(presence(row, other), 3), -round(abs(level(row, index) - level(other, index)), 2), similarity(row, other)) for other in others]
    k = max(range(len(others)), key=lambda i: scores[i])
    return k, scores[k][0]


def write_slice(image: sitk.Image, labels: sitk.Image, k: int, keep: list[int], table: dict[int, str], stem: str, out: Path) -> tuple[str, str]:
    """Slice ``k`` and its labels (only ``keep``) as 1-slice volumes; their file names."""
    picture = Image.from_sitk(image[:, :, k:k + 1])
    label_map = Image.from_sitk(labels[:, :, k:k + 1])
    array = np.where(np.isin(label_map.array, keep), label_map.array, 0).astype(np.uint8)
    label_set = LabelSet.from_values(keep, table)
    write_image(picture, out / f"{stem}.nii.gz", overwrite=True)
    write_label_map(Segmentation.from_label_map(label_map.with_array(array), label_set), out / f"{stem}_labels.nii.gz", overwrite=True)
    return f"{stem}.nii.gz", f"{stem}_labels.nii.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    add_data_argument(parser)
    arguments = parser.parse_args()
    check_data(parser, arguments.data, ["totalseg_test_fixtures/label_names.json"]
               + [f"totalseg_test_fixtures/subj{s}_ct/{name}" for s in "AB" for name in ("image.nii.gz", "labels_totalseg.nii.gz")])
    out, fixtures = arguments.out, arguments.data / "totalseg_test_fixtures"
    out.mkdir(parents=True, exist_ok=True)
    table = label_names(fixtures)
    volumes = {s: load(fixtures, s) for s in "AB"}
    present = [set(np.unique(sitk.GetArrayFromImage(volumes[s][1]))) - {0} for s in "AB"]
    shared = sorted(int(v) for v in present[0] & present[1])
    index = {table[v]: i for i, v in enumerate(shared)}
    area = {s: areas(volumes[s][1], shared) for s in "AB"}
    pairs = [("B", kb, "A", best_match(area["B"][kb], area["A"], index)[0]) for kb in range(0, area["B"].shape[0], 2)]
    for ka in range(16, area["A"].shape[0]):
        kb, score = best_match(area["A"][ka], area["B"], index)
        if score >= 0.5 and len([p for p in pairs if p[0] == "A"]) < 10:
            pairs.append(("A", ka, "B", kb))
    rows = []
    for ref, kr, tgt, kt in pairs:
        keep = [v for i, v in enumerate(shared) if area[ref][kr, i] >= MIN_AREA and area[tgt][kt, i] >= MIN_AREA]
        stem = f"{ref}{kr:02d}_to_{tgt}{kt:02d}"
        reference = write_slice(*volumes[ref], kr, keep, table, f"{stem}_ref_{ref}{kr:02d}", out)
        target = write_slice(*volumes[tgt], kt, keep, table, f"{stem}_tgt_{tgt}{kt:02d}", out)
        rows.append(dict(zip(("reference_image", "reference_labels", "target_image", "target_labels"), (*reference, *target))))
    write_manifest(out / "manifest.csv", rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
