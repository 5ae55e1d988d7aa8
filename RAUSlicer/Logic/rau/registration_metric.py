"""How alike a target and a warped reference are, as :mod:`rau.registration` measures it: Mattes mutual information
for its optimizers (:func:`mattes_method`, :func:`mutual_information_cost`) and normalized cross-correlation to judge
its stages and rank references (:func:`correlation`)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

HISTOGRAM_BINS = 32
SAMPLING_FRACTION = 0.25
"""Share of working-grid voxels the metric samples, at random (a grid causes interpolation artefacts)."""
SAMPLING_SEED = 2025  # any value but 0, which SimpleITK reads as "seed from the clock"
MIN_CORRELATION_OVERLAP_VOXELS = 16
"""Fewest voxels the target and the warped reference must overlap in for :func:`correlation` to judge a placement."""


def mattes_method() -> sitk.ImageRegistrationMethod:
    """Mattes mutual information on a fixed random sample, linear interpolation, pyramid sigmas in millimetres."""
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=HISTOGRAM_BINS)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(SAMPLING_FRACTION, SAMPLING_SEED)
    method.SetInterpolator(sitk.sitkLinear)
    # Pyramid smoothing sigmas are millimetres (SimpleITK's default, stated here so that it is seen): 2 mm is
    # 3 to 5 working voxels on an HC18 picture (5-9 cm wide), under 1 on a chest X-ray or a CT (36-39 cm).
    # Sigmas in voxels, as ANTs takes them, lost on the 2D sets, and in the field stage alone on the chest
    # X-rays (:func:`rau.registration._pyramid`).
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    return method


def mutual_information_cost(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform) -> float:
    """ITK's Mattes metric over every fixed voxel, reproducibly: the mutual information negated, so lower is better
    (0 where it cannot be evaluated)."""
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=HISTOGRAM_BINS)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetMetricUseMovingImageGradientFilter(False)  # a value only: no gradient image to make (Mattes makes none of the fixed one)
    method.SetInitialTransform(transform)
    try:
        return method.MetricEvaluate(fixed, moving)
    except RuntimeError:
        return 0.0


def correlation(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform, focus: sitk.Image | None = None,
                absolute: bool = False) -> float:
    """Normalized cross-correlation (-1..1) of the target and the warped reference where they overlap, within the
    warped ``focus`` region when given (around the labels); -1 when they overlap in fewer than
    :data:`MIN_CORRELATION_OVERLAP_VOXELS` voxels. With ``absolute``, its absolute value (0..1; 0 for too little overlap): an
    inverted contrast is as alike as the same one. How alike the images are: the ranking score for several references,
    and what each stage must raise to be kept (:func:`rau.registration.register` says when it is absolute)."""
    return correlation_score(judged_correlation(fixed, moving, transform, focus), absolute)


def judged_correlation(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform, focus: sitk.Image | None = None) -> float | None:
    """:func:`correlation`, signed, or None when the images overlap in fewer than :data:`MIN_CORRELATION_OVERLAP_VOXELS` voxels."""
    warped = sitk.GetArrayFromImage(sitk.Resample(moving, fixed, transform, sitk.sitkLinear, np.nan, sitk.sitkFloat32))
    inside = np.isfinite(warped)
    if focus is not None:
        inside &= sitk.GetArrayFromImage(sitk.Resample(focus, fixed, transform, sitk.sitkNearestNeighbor, 0)) > 0
    if inside.sum() < MIN_CORRELATION_OVERLAP_VOXELS:
        return None
    a = sitk.GetArrayViewFromImage(fixed)[inside].astype(np.float64)
    b = warped[inside].astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def correlation_score(value: float | None, absolute: bool) -> float:
    """A :func:`judged_correlation` as :func:`correlation` gives it: its absolute value when ``absolute``; for too
    little overlap (None), -1, or 0 when ``absolute``."""
    if value is None:
        return 0.0 if absolute else -1.0
    return abs(value) if absolute else value
