"""Brain MR sets from the Colin27 atlas (ch2bet T1 + AAL): 16 2D pairs (twice) and 2 3D pairs, each target a
deformed, re-contrasted copy of its reference. Run: python benchmarks/make_brain_mr_sets.py OUT_DIR
[--data SHARED_DATA] (default $RAU_SHARED_DATA, else ../shared/data beside the repository; the atlas is ``colin27_mni_atlases``).

``OUT_DIR/brain2d``: for each of 10 axial and 6 coronal slices of the 1 mm grid, the slice (a 1-slice
NIfTI volume with the atlas's own 3D header, as Slicer saves a slice) is the reference; the target is
a copy deformed in the plane (rotation U(-10, 10) deg, isotropic scale U(0.9, 1.1), shift U(-10, 10)
mm per axis about the slice centre, then a cubic B-spline on a 4 x 4 mesh with displacements
N(0, 4 mm)) and re-contrasted (gamma U(0.7, 1.4) or affine a U(0.8, 1.2), b U(-15, 15), alternating;
then Gaussian noise of SD 3 on 0..133 intensities). Seed of slice n: 1000 + n. Labels: the AAL
structures with >= 50 pixels in the reference slice, the 15 largest kept (others set to 0).

``OUT_DIR/brain2d_t2``: the same slices, deformations and seeds, the targets of T2-like contrast against the T1
references (:func:`t2_like_contrast`): a pair of another MR weighting.

``OUT_DIR/brain3d``: the reference is ch2bet at 2 mm (2 x 2 x 2 bin averaging, 90 x 108 x 90) with AAL
grouped into 11 regions (by name prefix, see ``PREFIXES``; cerebellum and vermis as one) on that grid
(nearest neighbour). Targets, seeds 11 and 12: a 5-degree rotation about a random unit axis and an
8 mm shift in a random direction (about the centre), then a cubic B-spline on a 4 x 4 x 4 mesh with
displacements N(0, 5 mm); intensities a * 128 * (I / 128) ** gamma + b (gamma U(0.75, 1.3), a U(0.85,
1.15), b U(-10, 10)) plus Gaussian noise of SD 3.

Target labels are the reference labels deformed (nearest neighbour). Label tables beside the maps;
``manifest.csv`` in each folder for bench_accuracy.py / rau evaluate.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
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
from synthetic import centre, deformation, recontrast

AXIAL = [25, 37, 49, 61, 73, 85, 97, 109, 121, 133]  # k (z) indices of the 181-slice grid (labels span k 10-155)
CORONAL = [40, 65, 90, 115, 140, 165]  # j indices of the 217-row grid (labels span j 20-199)
MIN_PIXELS, KEEP = 50, 15
PREFIXES = {
    "frontal": ("Precentral", "Frontal", "Rolandic", "Supp_Motor", "Olfactory", "Rectus", "Paracentral"),
    "parietal": ("Postcentral", "Parietal", "SupraMarginal", "Angular", "Precuneus"),
    "temporal": ("Temporal", "Heschl", "Hippocampus", "ParaHippocampal", "Amygdala", "Fusiform"),
    "occipital": ("Calcarine", "Cuneus", "Lingual", "Occipital"),
    "central": ("Insula", "Cingulum", "Caudate", "Putamen", "Pallidum", "Thalamus"),
}
SEEDS_3D = (11, 12)
SLICES = [("ax", k, np.s_[:, :, k:k + 1]) for k in AXIAL] + [("cor", j, np.s_[:, j:j + 1, :]) for j in CORONAL]
"""The 2D sets' slices: kind, index and the atlas's 1-slice cut."""
Contrast = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""How a 2D target's deformed intensities are changed (``moved``, the slice's random generator)."""


def aal_names(atlas: Path) -> dict[int, str]:
    """AAL label value -> structure name (``aal.nii.txt``)."""
    rows = (line.split() for line in (atlas / "aal.nii.txt").read_text(encoding="utf-8").splitlines())
    return {int(parts[0]): parts[1] for parts in rows if len(parts) >= 2}


def plane_deformation(plane: sitk.Image, rng: np.random.Generator) -> sitk.Transform:
    """Similarity about the slice centre, then the B-spline (2D set)."""
    angle, scale = rng.uniform(-10, 10), rng.uniform(0.9, 1.1)
    shift = rng.uniform(-10, 10, 2)
    similarity = sitk.Similarity2DTransform(scale, np.deg2rad(angle), shift.tolist(), centre(plane))
    return deformation(plane, similarity, [4, 4], 4.0, rng)


def t1_recontrast(moved: np.ndarray, rng: np.random.Generator, number: int) -> np.ndarray:
    """``brain2d``'s target of slice ``number``: gamma U(0.7, 1.4) (even numbers) or affine a U(0.8, 1.2), b U(-15, 15)
    (odd), then Gaussian noise of SD 3."""
    if number % 2 == 0:
        return recontrast(moved, rng, 3.0, gamma=rng.uniform(0.7, 1.4), top=133.0)
    a, b = rng.uniform(0.8, 1.2), rng.uniform(-15, 15)
    return recontrast(moved, rng, 3.0, scale=a, offset=b)


def build_2d(atlas: Path, out: Path, contrast: Contrast | None = None, slices: list = SLICES, first_seed: int = 1000) -> None:
    """A pair for each of ``slices`` (kind, index, the atlas's 1-slice cut), slice n's seed ``first_seed + n``: the
    target deformed in the plane (:func:`plane_deformation`), then re-contrasted by ``contrast(moved, rng)``
    (:func:`t1_recontrast` if None)."""
    out.mkdir(parents=True, exist_ok=True)
    t1 = sitk.ReadImage(str(atlas / "ch2bet.nii.gz"))
    aal = sitk.ReadImage(str(atlas / "aal.nii.gz"))
    table = aal_names(atlas)
    rows = []
    for number, (kind, index, cut) in enumerate(slices):
        rng = np.random.default_rng(first_seed + number)
        image = Image.from_sitk(sitk.Cast(t1[cut], sitk.sitkFloat32))  # 2D, stored as a 1-slice volume
        label_map = Image.from_sitk(aal[cut])
        values, counts = np.unique(label_map.array, return_counts=True)
        big = sorted(((c, v) for v, c in zip(values, counts) if v and c >= MIN_PIXELS), reverse=True)[:KEEP]
        kept = sorted(int(v) for _, v in big)
        labels = LabelSet.from_values(kept, table)
        reference_labels = label_map.with_array(np.where(np.isin(label_map.array, kept), label_map.array, 0).astype(np.uint8))
        plane = image.to_sitk()
        transform = plane_deformation(plane, rng)
        moved = sitk.GetArrayFromImage(sitk.Resample(plane, plane, transform, sitk.sitkLinear, 0.0))
        changed = contrast(moved, rng) if contrast else t1_recontrast(moved, rng, number)
        target = image.with_array(changed.reshape(image.shape).astype(np.float32))
        moved_labels = sitk.Resample(reference_labels.to_sitk(), plane, transform, sitk.sitkNearestNeighbor, 0)
        target_labels = label_map.with_array(sitk.GetArrayFromImage(moved_labels).reshape(image.shape).astype(np.uint8))
        name = f"{kind}{index:03d}"
        write_image(image, out / f"{name}_ref.nii.gz", overwrite=True)
        write_label_map(Segmentation.from_label_map(reference_labels, labels), out / f"{name}_ref_labels.nii.gz", overwrite=True)
        write_image(target, out / f"{name}_tgt.nii.gz", overwrite=True)
        write_label_map(Segmentation.from_label_map(target_labels, labels), out / f"{name}_tgt_labels.nii.gz", overwrite=True)
        rows.append({"reference_image": f"{name}_ref.nii.gz", "reference_labels": f"{name}_ref_labels.nii.gz",
                     "target_image": f"{name}_tgt.nii.gz", "target_labels": f"{name}_tgt_labels.nii.gz"})
    write_manifest(out / "manifest.csv", rows)


def t2_like_contrast(moved: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A T1 slice (0..133) as a T2-weighted one looks beside it: the brain's grey values inverted (CSF bright, white
    matter dark; 140 - I where I > 5, the background 0), under a smooth multiplicative field of 0.7..1.3 (a random
    quadratic over the slice, as a coil's: :func:`smooth_field`) and Gaussian noise of SD 3."""
    return np.where(moved > 5, 140.0 - moved, 0.0) * smooth_field(moved.shape, rng, 0.7, 0.6) + rng.normal(0.0, 3.0, moved.shape)


def smooth_field(shape: tuple[int, ...], rng: np.random.Generator, low: float, span: float) -> np.ndarray:
    """A smooth multiplicative field of ``low`` to ``low + span`` over a slice of ``shape``, as a coil's: a quadratic in
    x and y (-1..1 across the slice) with coefficients N(0, 1), rescaled to that range."""
    y, x = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    c = rng.normal(0, 1, 5)
    field = c[0] * x + c[1] * y + c[2] * x * y + c[3] * x ** 2 + c[4] * y ** 2
    return low + span * (field - field.min()) / (field.max() - field.min())


def aal_groups(atlas: Path) -> tuple[np.ndarray, LabelSet]:
    """AAL value -> region value lookup, and the regions' label set."""
    names = ["cerebellum"] + [f"{group}_{side}" for group in PREFIXES for side in "LR"]
    lookup = np.zeros(256, np.uint8)
    for value, name in aal_names(atlas).items():
        if name.startswith(("Cerebelum", "Vermis")):
            lookup[value] = 1
        else:
            group = next(g for g, prefixes in PREFIXES.items() if name.startswith(prefixes))
            lookup[value] = names.index(f"{group}_{name[-1]}") + 1
    return lookup, LabelSet.from_values(range(1, len(names) + 1), dict(enumerate(names, start=1)))


def volume_deformation(image: sitk.Image, rng: np.random.Generator) -> sitk.Transform:
    """Rotation about a random axis and shift in a random direction, then the B-spline (3D set)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    direction = rng.normal(size=3)
    shift = 8.0 * direction / np.linalg.norm(direction)
    rigid = sitk.VersorRigid3DTransform(axis.tolist(), float(np.deg2rad(5.0)), shift.tolist())
    rigid.SetCenter(centre(image))
    return deformation(image, rigid, [4, 4, 4], 5.0, rng)


def build_3d(atlas: Path, out: Path) -> None:
    """One reference at 2 mm and a target per seed of ``SEEDS_3D``."""
    out.mkdir(parents=True, exist_ok=True)
    t1 = sitk.BinShrink(sitk.Cast(sitk.ReadImage(str(atlas / "ch2bet.nii.gz")), sitk.sitkFloat32), [2, 2, 2])
    aal = sitk.ReadImage(str(atlas / "aal.nii.gz"))
    lookup, labels = aal_groups(atlas)
    grouped = sitk.GetImageFromArray(lookup[sitk.GetArrayFromImage(aal)])
    grouped.CopyInformation(aal)
    grouped = sitk.Resample(grouped, t1, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    reference = Image.from_sitk(t1)
    write_image(reference, out / "reference.nii.gz", overwrite=True)
    write_label_map(Segmentation.from_label_map(Image.from_sitk(grouped), labels), out / "reference_labels.nii.gz", overwrite=True)
    rows = []
    for seed in SEEDS_3D:
        rng = np.random.default_rng(seed)
        transform = volume_deformation(t1, rng)
        moved = sitk.GetArrayFromImage(sitk.Resample(t1, t1, transform, sitk.sitkLinear, 0.0))
        gamma, a, b = rng.uniform(0.75, 1.3), rng.uniform(0.85, 1.15), rng.uniform(-10, 10)
        target = reference.with_array(recontrast(moved, rng, 3.0, scale=a, offset=b, gamma=gamma, top=128.0).astype(np.float32))
        moved_labels = Image.from_sitk(sitk.Resample(grouped, t1, transform, sitk.sitkNearestNeighbor, 0))
        write_image(target, out / f"target_s{seed}.nii.gz", overwrite=True)
        write_label_map(Segmentation.from_label_map(moved_labels, labels), out / f"target_s{seed}_labels.nii.gz", overwrite=True)
        rows.append({"reference_image": "reference.nii.gz", "reference_labels": "reference_labels.nii.gz",
                     "target_image": f"target_s{seed}.nii.gz", "target_labels": f"target_s{seed}_labels.nii.gz"})
    write_manifest(out / "manifest.csv", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    add_data_argument(parser)
    arguments = parser.parse_args()
    check_data(parser, arguments.data, [f"colin27_mni_atlases/{name}" for name in ("ch2bet.nii.gz", "aal.nii.gz", "aal.nii.txt")])
    atlas = arguments.data / "colin27_mni_atlases"
    build_2d(atlas, arguments.out / "brain2d")
    build_2d(atlas, arguments.out / "brain2d_t2", t2_like_contrast)
    build_3d(atlas, arguments.out / "brain3d")
    print(f"wrote {arguments.out / 'brain2d'}, {arguments.out / 'brain2d_t2'} and {arguments.out / 'brain3d'}")


if __name__ == "__main__":
    main()
