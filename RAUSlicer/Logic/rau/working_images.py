"""Working copies of the images a registration compares: ordinary intensities, smoothed and resampled to a
working grid, and the focus around the reference's labels (:mod:`rau.registration` uses them)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from rau.image import Image, orient_lps, voxel_sample

SMOOTHABLE_VOXELS = 4
"""ITK's recursive Gaussian, which smooths the moving image at every pyramid level (even by 0 mm), needs this many
voxels along every axis: a reference slab of 2 or 3 slices is resampled to 4 across its thickness (before, every
start failed and the error said the images did not overlap)."""
OUTLIER_SPANS = 3.0
"""Values more than this many spans of the image's ordinary intensities (its 0.5-99.5 percentiles, the extreme
values left out) below or above them are clamped to the nearest ordinary value (:func:`without_outliers`)."""


def lps_without_outliers(image: Image) -> Image:
    """``image`` as registration takes it: in LPS voxel order (:func:`rau.image.orient_lps`), :func:`without_outliers`."""
    return without_outliers(orient_lps(image))


def without_outliers(image: Image) -> Image:
    """``image`` with padding and stray values far outside its intensities clamped to the nearest ordinary value.

    Mutual information spreads its histogram bins from the lowest to the highest value: a CT padded with -32768
    outside its scan circle (as DICOM often is) left soft tissue in one or two of 32 bins (the same CT onto itself:
    liver Dice 0.65), a "no data" fill of -3.4e38 failed the foreground search, a single voxel of 1e20 left the
    organs at Dice 0.26 to 0. Ordinary images are returned as they are: air at -1024 or -3024 in CT, a zero
    background in MR, ultrasound or X-ray, bright speckle lie within three spans of the rest (with one span, an
    HC18 picture and a CT padded with -3024 were clamped).
    """
    array = image.array
    low, high = array.min(), array.max()
    sample = voxel_sample(image)
    inner = sample[(sample > low) & (sample < high)]  # padding fills one value, the lowest (or highest)
    if inner.size < 2:
        return image
    first, last = np.percentile(inner, [0.5, 99.5])
    floor, ceiling = first - OUTLIER_SPANS * (last - first), last + OUTLIER_SPANS * (last - first)
    if last <= first or (low >= floor and high <= ceiling):  # few distinct values (a mask, a drawing) have no span to judge by
        return image
    ordinary = inner[(inner >= floor) & (inner <= ceiling)]
    lowest, highest = low if low >= floor else ordinary.min(), high if high <= ceiling else ordinary.max()
    return image.with_array(np.clip(array, lowest, highest)) if lowest < highest else image


def working_image(image: Image, voxels: int, min_spacing: float) -> sitk.Image:
    """A smoothed, downsampled float copy with about ``voxels`` voxels along its longest side.

    Volumes are not sampled finer than ``min_spacing`` mm, unless that leaves fewer than half of ``voxels``
    along the longest side (a small field of view: 3 mm would leave 10 voxels across 30 mm).

    No axis is sampled coarser than a quarter of its extent: a thin slab keeps at least 4 voxels across (all of
    its own when it has fewer; 20 slices 2 mm apart become 13, 5 slices become 4), and no axis is made finer.
    """
    source = sitk.Cast(image.to_sitk(), sitk.sitkFloat32)
    grid = _working_grid(image, voxels, min_spacing)
    if grid is None:
        return source
    spacing, (new_spacing, new_size) = np.array(source.GetSpacing(), float), grid
    sigma = np.sqrt(np.maximum(new_spacing**2 - spacing**2, 0)) / 2.355
    smoothed = _smooth(source, sigma) if sigma.max() > 0 else source
    origin_shift = source.TransformContinuousIndexToPhysicalPoint([-0.5 + 0.5 * s / o for s, o in zip(new_spacing, spacing)])
    return sitk.Resample(smoothed, new_size, sitk.Transform(), sitk.sitkLinear, origin_shift, new_spacing.tolist(), source.GetDirection(), float(np.min(sitk.GetArrayViewFromImage(source))), sitk.sitkFloat32)


def working_size(image: Image, voxels: int, min_spacing: float) -> tuple[int, ...]:
    """The voxel counts (``(i, j, k)`` order) of :func:`working_image`'s copy, from the header alone."""
    grid = _working_grid(image, voxels, min_spacing)
    return tuple(grid[1]) if grid else image.size[: image.ndim]


def _working_grid(image: Image, voxels: int, min_spacing: float) -> tuple[np.ndarray, list[int]] | None:
    """The spacing and voxel counts of :func:`working_image`'s grid; None where the image keeps its own."""
    size = np.array(image.size[: image.ndim], float)
    spacing = np.array(image.spacing[: image.ndim], float)
    extent = size * spacing
    floor = min(min_spacing, extent.max() / (voxels // 2)) if image.ndim == 3 else 0.0
    target_spacing = max(extent.max() / voxels, floor)
    new_spacing = np.maximum(spacing, np.minimum(target_spacing, extent / 4))
    if np.allclose(new_spacing, spacing):
        return None
    return new_spacing, [max(int(round(e / s)), 1) for e, s in zip(extent, new_spacing)]


def smoothable(image: sitk.Image) -> sitk.Image:
    """``image``, resampled (linearly, same extent) to :data:`SMOOTHABLE_VOXELS` voxels along any axis that has fewer."""
    size = np.array(image.GetSize())
    if size.min() >= SMOOTHABLE_VOXELS:
        return image
    new_size = np.maximum(size, SMOOTHABLE_VOXELS)
    spacing = np.array(image.GetSpacing()) * size / new_size
    origin = image.TransformContinuousIndexToPhysicalPoint((-0.5 + 0.5 * spacing / np.array(image.GetSpacing())).tolist())
    return sitk.Resample(image, new_size.tolist(), sitk.Transform(), sitk.sitkLinear, origin, spacing.tolist(), image.GetDirection(),
                         float(np.min(sitk.GetArrayViewFromImage(image))), sitk.sitkFloat32)


def _smooth(image: sitk.Image, sigma: np.ndarray) -> sitk.Image:
    """Gaussian smoothing by ``sigma`` mm per axis; the recursive filter needs 4 voxels along every axis."""
    if min(image.GetSize()) >= 4:
        return sitk.SmoothingRecursiveGaussian(image, [max(float(s), 1e-3) for s in sigma])
    return sitk.DiscreteGaussian(image, [float(s) ** 2 for s in sigma], useImageSpacing=True)


def focus_mask(moving: Image, moving_work: sitk.Image, labels: np.ndarray, settings) -> sitk.Image:
    """The labelled region, grown by ``focus_margin`` of its size, on the working grid (uint8)."""
    mask = sitk.Cast(moving.with_array(labels.astype(np.uint8)).to_sitk(), sitk.sitkFloat32)
    mask = sitk.Resample(mask, moving_work, sitk.Transform(), sitk.sitkLinear, 0.0) > 0.25
    statistics = sitk.LabelShapeStatisticsImageFilter()
    statistics.Execute(mask)
    if not statistics.HasLabel(1):
        return None
    size_mm = np.array(statistics.GetBoundingBox(1)[mask.GetDimension():]) * np.array(mask.GetSpacing())
    radius = np.ceil(settings.focus_margin * size_mm.max() / np.array(mask.GetSpacing())).astype(int)
    return sitk.BinaryDilate(mask, radius.tolist())


def otsu_foreground(image: sitk.Image, within: sitk.Image | None = None) -> sitk.Image:
    """The voxels brighter than ``image``'s Otsu threshold (1, uint8): the body against the air around it in a CT or MR.
    ``within`` (uint8): the threshold is chosen from these voxels only."""
    return sitk.OtsuThreshold(image, 0, 1) if within is None else sitk.OtsuThreshold(image, within, 0, 1, 128, False, 1)


def foreground_centroid(image: sitk.Image) -> np.ndarray:
    """Physical centroid of the Otsu foreground (falls back to the image centre)."""
    mask = otsu_foreground(image)
    statistics = sitk.LabelShapeStatisticsImageFilter()
    statistics.Execute(mask)
    if statistics.HasLabel(1):
        return np.array(statistics.GetCentroid(1))
    centre = (np.array(image.GetSize()) - 1) / 2
    return np.array(image.TransformContinuousIndexToPhysicalPoint(centre.tolist()))
