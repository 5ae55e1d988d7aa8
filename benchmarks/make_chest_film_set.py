"""Chest films from slicerio's chest CT: a chest-radiograph-like (projection) development set.
Run: python benchmarks/make_chest_film_set.py OUT_DIR [--films N] [--hard]

Optimistic: every film is a projection of one labelled CT (the only chest CT that ships), so the films differ
far less than the chest X-rays of different patients that the engine is measured on.

Patients P0..P{N-1}: P0 is the CT itself; the others are copies under a random anisotropic scale (0.88-1.12 per
axis), a rotation about the AP axis (+-5 degrees), a shift (+-10 mm), a smooth B-spline deformation (4 x 4 x 4
mesh, N(0, 8 mm)) and a CT re-scan (0.9 x HU + 40, noise 20 HU); the seed is the patient's index. Each is
resampled to 2 mm (labels by nearest neighbour) and projected along the AP axis: film = 255 x (1 - exp(-p / p99))
of the line integral p of 0.02/mm x (HU + 1000) / 1000 (HU clipped to -1000..1000): bright bone, superior on top,
the patient's right on the left; uint8, 2 mm pixels. A pixel gets a label where its ray crosses the structure
(later ones win): 1 body, 2 right lung, 3 left lung, 4 lumbar spine, 5 cervical spine, 6 thoracic spine (ribs
left out: their projection is a cage over the whole chest).

--hard adds the film-to-film differences of real radiographs to P1.. (P0 as is; seed 100 + index): a crop of
0-30 px per side, gamma 0.6-1.6, a burnt-in 12 x 12 px marker of 255 near the upper-left corner and a 6 px black
collimation border (labels 0 under it).

Writes images/P{i}.png, labels/P{i}.png, labels.csv and, for bench_accuracy.py / rau evaluate (2 mm pixel sizes
given), manifest.csv (a ring: P{t-1} -> P{t}) and manifest_back.csv (the other way), all placed together or none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.errors import WriteError
from rau.evaluation.manifest import write_manifest
from rau.image import Image
from rau.io.atomic import atomic_path, output_set
from rau.io.images import write_image
from rau.io.label_tables import write_label_table
from rau.labels import LabelSet
from rau.validation import argument, whole_number
from figures import add_out_argument
from synthetic import centre, deformation, rescanned_ct, slicerio_chest_ct

PIXEL_MM = 2.0
STRUCTURES = [(2, "right lung", "right lung"), (3, "left lung", "left lung"), (4, "lumbar spine", "lumbar vertebral column"),
              (5, "cervical spine", "cervical vertebral column"), (6, "thoracic spine", "thoracic vertebral column")]
"""Label value, name and slicerio segment, painted in this order over 1 body (every segment)."""
NAMES = {1: "body", **{value: name for value, name, _ in STRUCTURES}}


def film_count(value, option: str) -> int:
    """``value`` as a number of films: 2 (the smallest ring) to 100."""
    return whole_number(value, option, minimum=2, maximum=100)


def grid(image: sitk.Image) -> sitk.Image:
    """A 2 mm isotropic grid covering ``image``, in LPS voxel order."""
    lps = sitk.DICOMOrient(image, "LPS")
    size = [int(round(n * s / PIXEL_MM)) for n, s in zip(lps.GetSize(), lps.GetSpacing())]
    reference = sitk.Image(size, sitk.sitkFloat32)
    reference.SetSpacing([PIXEL_MM] * 3)
    reference.SetOrigin(lps.GetOrigin())
    reference.SetDirection(lps.GetDirection())
    return reference


def patient_transform(ct: sitk.Image, on: sitk.Image, index: int) -> sitk.Transform:
    """Patient ``index``'s anatomy as a transform over the grid ``on`` (identity for P0), as a displacement field
    (the same points as the B-spline, evaluated once for the CT and its labels)."""
    if index == 0:
        return sitk.Transform(3, sitk.sitkIdentity)
    rng = np.random.default_rng(index)
    affine = sitk.AffineTransform(3)
    affine.SetCenter(centre(ct))
    scale = rng.uniform(0.88, 1.12, 3)
    angle = np.deg2rad(rng.uniform(-5, 5))
    cos, sin = np.cos(angle), np.sin(angle)
    about_ap = np.array([[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]])
    affine.SetMatrix((about_ap @ np.diag(scale)).ravel().tolist())
    affine.SetTranslation(rng.uniform(-10, 10, 3).tolist())
    transform = deformation(on, affine, [4, 4, 4], 8.0, rng)
    field = sitk.TransformToDisplacementField(transform, sitk.sitkVectorFloat64, on.GetSize(), on.GetOrigin(), on.GetSpacing(), on.GetDirection())
    return sitk.DisplacementFieldTransform(field)


def line_integral(hounsfield: np.ndarray) -> np.ndarray:
    """The line integral along the AP axis (axis 1 of a z, y, x array on the 2 mm grid) of 0.02/mm x (HU + 1000) / 1000,
    HU clipped to -1000..1000."""
    return (0.02 * (np.clip(hounsfield, -1000, 1000) + 1000) / 1000).sum(axis=1) * PIXEL_MM


def film(ct: sitk.Image, segments: sitk.Image, values: dict[str, int], index: int) -> tuple[np.ndarray, np.ndarray]:
    """Patient ``index``'s film and label map (``segments``: slicerio's label map, ``values`` by segment name)."""
    on = grid(ct)
    transform = patient_transform(ct, on, index)
    hounsfield = sitk.GetArrayFromImage(sitk.Resample(ct, on, transform, sitk.sitkLinear, -1024.0))  # z, y (AP), x
    if index:
        hounsfield = rescanned_ct(hounsfield, np.random.default_rng(index))
    crossed = sitk.GetArrayFromImage(sitk.Resample(segments, on, transform, sitk.sitkNearestNeighbor, 0))
    path = line_integral(hounsfield)
    shade = 1 - np.exp(-path / np.percentile(path, 99))
    picture = np.round(255 * shade / shade.max()).astype(np.uint8)[::-1]
    labels = np.zeros(picture.shape, np.uint8)
    labels[(crossed > 0).any(axis=1)[::-1]] = 1
    for value, _, segment in STRUCTURES:
        labels[(crossed == values[segment]).any(axis=1)[::-1]] = value
    return picture, labels


def harden(picture: np.ndarray, labels: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
    """``--hard``: a crop, gamma, a marker and a collimation border (see the module docstring); P0 as is."""
    if index == 0:
        return picture, labels
    rng = np.random.default_rng(100 + index)
    top, bottom, left, right = rng.integers(0, 31, 4)
    picture = picture[top:picture.shape[0] - bottom, left:picture.shape[1] - right]
    labels = labels[top:labels.shape[0] - bottom, left:labels.shape[1] - right].copy()
    picture = np.round(255 * (picture / 255.0) ** rng.uniform(0.6, 1.6)).astype(np.uint8)
    for array in (picture, labels):
        array[:6], array[-6:], array[:, :6], array[:, -6:] = 0, 0, 0, 0
    picture[10:22, 10:22] = 255
    return picture, labels


def ring(films: int, step: int) -> list[dict]:
    """Manifest rows P{t - step} -> P{t} for every film t (``step`` 1 or -1), with the 2 mm pixel sizes."""
    spacing = f"{PIXEL_MM}"
    return [{"reference_image": f"images/P{(t - step) % films}.png", "reference_labels": f"labels/P{(t - step) % films}.png",
             "reference_spacing": spacing, "target_image": f"images/P{t}.png", "target_labels": f"labels/P{t}.png",
             "target_spacing": spacing, "label_table": "labels.csv"} for t in range(films)]


def write_set(out: Path, films: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """The films, their label maps, the label table and both manifests in ``out``: placed together, or none."""
    with output_set():
        for index, (picture, labels) in enumerate(films):
            for folder, array in (("images", picture), ("labels", labels)):
                write_image(Image(array[None], (PIXEL_MM, PIXEL_MM, 1.0), ndim=2), out / folder / f"P{index}.png", overwrite=True)
        with atomic_path(out / "labels.csv", overwrite=True) as table:
            write_label_table(LabelSet.from_values(NAMES, NAMES), table)
        for name, step in (("manifest.csv", 1), ("manifest_back.csv", -1)):
            with atomic_path(out / name, overwrite=True) as manifest:
                write_manifest(manifest, ring(len(films), step))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    parser.add_argument("--films", type=argument(film_count, "--films"), default=6, help="number of films, 2 to 100 (default %(default)s)")
    parser.add_argument("--hard", action="store_true", help="add crops, gamma, a marker and a collimation border to P1..")
    args = parser.parse_args()
    reference, segmentation = slicerio_chest_ct()
    ct = sitk.Cast(reference.to_sitk(), sitk.sitkFloat32)
    segments = segmentation.to_label_map().to_sitk()
    values = {structure.name: structure.value for structure in segmentation.labels}
    films = [film(ct, segments, values, index) for index in range(args.films)]
    try:
        write_set(args.out, [harden(*pair, index) if args.hard else pair for index, pair in enumerate(films)])
    except WriteError as error:
        sys.exit(f"error: {error}; nothing written")
    print(f"{args.films} films written to {args.out} (manifest.csv, manifest_back.csv)")


if __name__ == "__main__":
    main()
