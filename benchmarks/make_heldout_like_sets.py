"""Five small sets of kinds no dev set has, from the shared data: X-ray-like projections of two CTs, CT -> MR and
MR -> MR slices, and Colin27 slices under a bias field or of T2-like contrast. Run:
python benchmarks/make_heldout_like_sets.py OUT_DIR [--sets NAME ...] [--data SHARED_DATA] (default every set;
$RAU_SHARED_DATA, else ../shared/data beside the repository: ``totalseg_test_fixtures`` and ``colin27_mni_atlases``).

``OUT_DIR/drr``: TotalSegmentator CTs A and B (make_ct_slice_pairs.load: LPS order, B at 2 mm in plane) on a 2 mm grid,
projected along the AP axis as make_chest_film_set.py does (the line integral p of 0.02/mm x (HU + 1000) / 1000,
HU clipped to -1000..1000), but the film is 255 x (1 - exp(-p / p99)) cut to whole numbers, without stretching
its maximum to 255; superior on top. A pixel is labelled where its ray crosses a structure, of those both CTs hold
with >= 2000 mm^3, numbered 1.. in TotalSegmentator's order (later ones win; labels.csv names them). Pairs A -> B and
B -> A, 2 mm pixels.

``OUT_DIR/ct_to_mr``: axial slices of CT A and of CT B onto MR C (the fixtures' ``subjC_mr``, LPS order; labels:
``protocols/totalseg_mr_labels.nii.gz``, the MR's TotalSegmentator labels renumbered to the CT table). Each MR slice
k = 2, 5, ..., 17 is paired with its best-matching CT slice (make_ct_slice_pairs.best_match over the structures the CT
and the MR share). ``OUT_DIR/mr_to_mr``: MR C slice k onto slice k + 3 (9 mm apart), k = 0, 2, ..., 16. In both, the
structures scored are those of >= 100 mm^2 in both slices (others set to 0); a pair with none is left out; the files
are 1-slice NIfTI volumes named ``{A,B}kk_to_Ckk`` / ``Ckk_to_Ckk`` with ``_ref`` / ``_tgt``. No randomness.

``OUT_DIR/colin_bias``: make_brain_mr_sets.py's brain2d (the 16 axial and coronal Colin27 slices, deformed as there)
with seeds 2000 + n, the deformed slice under a smooth multiplicative field of 0.6..1.4 (make_brain_mr_sets.smooth_field)
and Gaussian noise of SD 3. ``OUT_DIR/colin_t2``: the sagittal slices i = 50, 65, 80, 110, 125, 140 deformed as
brain2d with seeds 3000 + n, targets of T2-like contrast (make_brain_mr_sets.t2_like_contrast).

Each folder holds a ``manifest.csv`` for bench_accuracy.py (``--pairs``) or rau evaluate, files named relative to it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.evaluation.manifest import write_manifest
import make_brain_mr_sets as brain
import make_ct_slice_pairs as slice_pairs
from figures import add_out_argument
from make_chest_film_set import PIXEL_MM, grid, line_integral
from shared_data import PROTOCOLS, add_data_argument, check_data

MR_LABELS = PROTOCOLS / "totalseg_mr_labels.nii.gz"
"""MR C's TotalSegmentator labels, renumbered to the CT table (see protocols/make_protocols.py)."""
MIN_VOLUME = 2000.0
"""mm^3 each CT holds of a structure projected in ``drr``."""
SAGITTAL = [("sag", i, np.s_[i:i + 1, :, :]) for i in (50, 65, 80, 110, 125, 140)]
"""``colin_t2``'s slices (kind, index, the atlas's 1-slice cut)."""
NEEDED = {
    "totalseg": ["totalseg_test_fixtures/label_names.json", "totalseg_test_fixtures/subjC_mr/image.nii.gz"]
    + [f"totalseg_test_fixtures/subj{s}_ct/{name}" for s in "AB" for name in ("image.nii.gz", "labels_totalseg.nii.gz")],
    "colin27": [f"colin27_mni_atlases/{name}" for name in ("ch2bet.nii.gz", "aal.nii.gz", "aal.nii.txt")],
}
"""The files each source of the sets needs in the shared data folder."""


def present(labels: sitk.Image) -> set[int]:
    """The label values ``labels`` holds (0 left out)."""
    return {int(v) for v in np.unique(sitk.GetArrayFromImage(labels))} - {0}


def structure_volumes(labels: sitk.Image) -> dict[int, float]:
    """Each label value ``labels`` holds (0 left out) -> its volume in mm^3."""
    values, counts = np.unique(sitk.GetArrayFromImage(labels), return_counts=True)
    return {int(v): c * np.prod(labels.GetSpacing()) for v, c in zip(values, counts) if v}


def film(ct: sitk.Image, labels: sitk.Image, keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``ct`` (LPS order) projected along the AP axis, and the label map of where each ray crosses ``keep[n - 1]``
    (value n; later ones win): uint8 arrays, superior on top."""
    on = grid(ct)
    hounsfield = sitk.GetArrayFromImage(sitk.Resample(sitk.Cast(ct, sitk.sitkFloat32), on, sitk.Transform(), sitk.sitkLinear, -1000.0))
    crossed = sitk.GetArrayFromImage(sitk.Resample(labels, on, sitk.Transform(), sitk.sitkNearestNeighbor, 0))
    path = line_integral(hounsfield)
    picture = 255 * (1 - np.exp(-path / np.percentile(path, 99)))
    label_map = np.zeros(path.shape, np.uint8)
    for value, structure in enumerate(keep, start=1):
        label_map[(crossed == structure).any(axis=1)] = value
    return np.flipud(picture).astype(np.uint8), np.flipud(label_map)


def build_drr(fixtures: Path, out: Path) -> None:
    """The ``drr`` set: films of CTs A and B, A -> B and B -> A."""
    out.mkdir(parents=True, exist_ok=True)
    table = slice_pairs.label_names(fixtures)
    volumes = {s: slice_pairs.load(fixtures, s) for s in "AB"}
    held = [structure_volumes(labels) for _, labels in volumes.values()]
    keep = sorted(v for v in held[0].keys() & held[1].keys() if min(held[0][v], held[1][v]) >= MIN_VOLUME)
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([("value", "name")] + [(n, table[v]) for n, v in enumerate(keep, start=1)])
    for subject, (ct, labels) in volumes.items():
        picture, label_map = film(ct, labels, keep)
        PILImage.fromarray(picture).save(out / f"{subject}.png")
        PILImage.fromarray(label_map).save(out / f"{subject}_labels.png")
    write_manifest(out / "manifest.csv", [
        {"reference_image": f"{r}.png", "reference_labels": f"{r}_labels.png", "reference_spacing": f"{PIXEL_MM}",
         "target_image": f"{t}.png", "target_labels": f"{t}_labels.png", "target_spacing": f"{PIXEL_MM}", "label_table": "labels.csv"}
        for r, t in (("A", "B"), ("B", "A"))])


def mr_c(fixtures: Path) -> tuple[sitk.Image, sitk.Image]:
    """MR C and its labels (renumbered to the CT table) in LPS order, the labels on the MR's grid."""
    image = sitk.DICOMOrient(sitk.ReadImage(str(fixtures / "subjC_mr/image.nii.gz")), "LPS")
    labels = sitk.DICOMOrient(sitk.ReadImage(str(MR_LABELS)), "LPS")
    return image, sitk.Resample(labels, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0)


def slice_pair(out: Path, stem: str, reference: tuple, target: tuple, k_reference: int, k_target: int, shared: list[int],
               table: dict[int, str]) -> dict | None:
    """Slice ``k_reference`` of ``reference`` (image, labels) -> slice ``k_target`` of ``target`` written as ``stem``'s
    pair, scored over the ``shared`` structures of >= 100 mm^2 in both: its manifest row, None if there are none."""
    reference_areas = slice_pairs.areas(reference[1][:, :, k_reference:k_reference + 1], shared)[0]
    target_areas = slice_pairs.areas(target[1][:, :, k_target:k_target + 1], shared)[0]
    keep = [v for i, v in enumerate(shared) if min(reference_areas[i], target_areas[i]) >= slice_pairs.MIN_AREA]
    if not keep:
        return None
    files = (*slice_pairs.write_slice(*reference, k_reference, keep, table, f"{stem}_ref", out),
             *slice_pairs.write_slice(*target, k_target, keep, table, f"{stem}_tgt", out))
    return dict(zip(("reference_image", "reference_labels", "target_image", "target_labels"), files))


def build_ct_to_mr(fixtures: Path, out: Path) -> None:
    """The ``ct_to_mr`` set: slices of CT A and of CT B onto every third slice of MR C from k = 2."""
    out.mkdir(parents=True, exist_ok=True)
    table, mr, rows = slice_pairs.label_names(fixtures), mr_c(fixtures), []
    for subject in "AB":
        ct = slice_pairs.load(fixtures, subject)
        shared = sorted(present(ct[1]) & present(mr[1]))
        index = {table[v]: i for i, v in enumerate(shared)}
        ct_areas, mr_areas = slice_pairs.areas(ct[1], shared), slice_pairs.areas(mr[1], shared)
        for k in range(2, mr_areas.shape[0], 3):
            k_ct = slice_pairs.best_match(mr_areas[k], ct_areas, index)[0]
            rows.append(slice_pair(out, f"{subject}{k_ct:02d}_to_C{k:02d}", ct, mr, k_ct, k, shared, table))
    write_manifest(out / "manifest.csv", [row for row in rows if row])


def build_mr_to_mr(fixtures: Path, out: Path) -> None:
    """The ``mr_to_mr`` set: every other slice of MR C onto the slice 9 mm further."""
    out.mkdir(parents=True, exist_ok=True)
    table, mr = slice_pairs.label_names(fixtures), mr_c(fixtures)
    shared, step = sorted(present(mr[1])), round(9.0 / mr[0].GetSpacing()[2])
    rows = [slice_pair(out, f"C{k:02d}_to_C{k + step:02d}", mr, mr, k, k + step, shared, table) for k in range(0, mr[0].GetSize()[2] - step, 2)]
    write_manifest(out / "manifest.csv", [row for row in rows if row])


def bias_field(moved: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``colin_bias``'s targets: a smooth multiplicative field of 0.6..1.4 and Gaussian noise of SD 3."""
    return moved * brain.smooth_field(moved.shape, rng, 0.6, 0.8) + rng.normal(0, 3.0, moved.shape)


def build_colin_bias(atlas: Path, out: Path) -> None:
    """The ``colin_bias`` set: brain2d's slices and deformations, seeds 2000 + n, targets under :func:`bias_field`."""
    brain.build_2d(atlas, out, bias_field, first_seed=2000)


def build_colin_t2(atlas: Path, out: Path) -> None:
    """The ``colin_t2`` set: sagittal slices deformed as brain2d's, seeds 3000 + n, T2-like targets."""
    brain.build_2d(atlas, out, brain.t2_like_contrast, SAGITTAL, first_seed=3000)


SETS = {"drr": ("totalseg", build_drr), "ct_to_mr": ("totalseg", build_ct_to_mr), "mr_to_mr": ("totalseg", build_mr_to_mr),
        "colin_bias": ("colin27", build_colin_bias), "colin_t2": ("colin27", build_colin_t2)}
"""Each set: the source it is built from (a key of ``NEEDED``) and its builder (that source's folder, OUT_DIR/set)."""
SOURCE_FOLDERS = {"totalseg": "totalseg_test_fixtures", "colin27": "colin27_mni_atlases"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS), metavar="NAME", help=f"the sets to build: {', '.join(SETS)} (default: all)")
    add_data_argument(parser)
    arguments = parser.parse_args()
    sources = list(dict.fromkeys(SETS[name][0] for name in arguments.sets))
    check_data(parser, arguments.data, [file for source in sources for file in NEEDED[source]])
    for name in arguments.sets:
        source, build = SETS[name]
        build(arguments.data / SOURCE_FOLDERS[source], arguments.out / name)
        print(f"wrote {arguments.out / name}")


if __name__ == "__main__":
    main()
