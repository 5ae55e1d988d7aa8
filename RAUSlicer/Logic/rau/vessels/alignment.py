"""Bring a reference's vessel tree onto the target's vessels.

Registration driven by vessel maps, not raw intensities: the fixed image is the target's
vesselness, the moving image the reference's labelled tree (its segments' union). Both are
blurred so that trees of two patients, which rarely overlap pixel for pixel, still attract each
other. Stages: for each of 9 rotation/scale starts a translation from the peak of the maps'
cross-correlation and a coarse similarity fit; the best start by tree match is refined, then an
affine fit (correlation metric, coarse to fine), then, for chosen references, a coarse B-spline
(:func:`bend`). All deterministic: the
metric samples every pixel of a coarse working grid, and ITK runs on one thread during
:func:`align_tree` and :func:`bend` (:func:`rau.itk_threads.one_itk_thread`), so the result does
not change with the caller's ITK thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

import SimpleITK as sitk

from rau.itk_threads import one_itk_thread

BLUR_PIXELS = 4.0
"""Gaussian blur of both maps before matching: vessels a few pixels apart still overlap."""
START_ANGLES = (-30.0, 0.0, 30.0)
START_SCALES = (0.8, 1.0, 1.25)
"""Starting rotations (degrees) and scales: projection angles and hearts differ between angiograms."""
BSPLINE_MESH = 4
"""Control-point mesh of the deformable stage (nodes per side): bends the tree, not single vessels."""


@dataclass
class Alignment:
    """A target-to-reference transform and how well the reference tree fits the target's vessels:
    ``score`` = correlation of the blurred maps x :attr:`inside` (a tree pushed out of the picture fits badly)."""

    transform: sitk.Transform
    score: float
    inside: float = 1.0
    """Share of the reference tree that the (affine) alignment puts inside the target image."""

    def warp_labels(self, label_map: np.ndarray, shape: tuple[int, int], margin: int = 0) -> np.ndarray:
        """A reference label map (2D ints) pulled onto the target grid of ``shape``, grown by
        ``margin`` pixels on each side, nearest neighbour."""
        moving = sitk.GetImageFromArray(label_map.astype(np.int32))
        grid = sitk.Image([int(shape[1]) + 2 * margin, int(shape[0]) + 2 * margin], sitk.sitkInt32)
        grid.SetOrigin((-float(margin), -float(margin)))
        return sitk.GetArrayFromImage(sitk.Resample(moving, grid, self.transform, sitk.sitkNearestNeighbor, 0))


@one_itk_thread()
def align_tree(target_vesselness: np.ndarray, reference_tree: np.ndarray) -> Alignment:
    """Affine alignment of ``reference_tree`` (bool, the reference's labelled vessels) onto
    ``target_vesselness`` (0..1), from several rotation and scale starts.

    ``score``: correlation of the blurred target vesselness and the blurred warped tree (-1..1) times
    the share of the tree kept inside the target image; it picks the start and ranks references
    (the tree match).
    """
    fixed, moving = _map(target_vesselness), _map(reference_tree.astype(np.float32))
    centre = _centre(reference_tree)
    starts = [_start(fixed, moving, centre, angle, scale) for angle in START_ANGLES for scale in START_SCALES]
    fitted = [_fit(fixed, moving, start, shrink=(4,), iterations=40) for start in starts]
    points = np.argwhere(reference_tree)[::4, ::-1].astype(float)  # (x, y) of tree pixels
    shape = target_vesselness.shape
    similarity = max(fitted, key=lambda t: _score(fixed, moving, t) * _inside(t, points, shape))
    similarity = _fit(fixed, moving, similarity, shrink=(2,), iterations=40)
    affine = sitk.AffineTransform(2)
    affine.SetMatrix(similarity.GetMatrix())
    affine.SetCenter(similarity.GetCenter())
    affine.SetTranslation(similarity.GetTranslation())
    affine = _fit(fixed, moving, affine, shrink=(4, 2), iterations=60)
    inside = _inside(affine, points, shape)
    return Alignment(affine, _score(fixed, moving, affine) * inside, inside)


@one_itk_thread()
def bend(alignment: Alignment, target_vesselness: np.ndarray, reference_tree: np.ndarray) -> Alignment:
    """``alignment`` followed by a coarse B-spline (:data:`BSPLINE_MESH`) that bends the tree onto the vessels."""
    fixed, moving = _map(target_vesselness), _map(reference_tree.astype(np.float32))
    transform = _bspline(fixed, moving, alignment.transform)
    return Alignment(transform, _score(fixed, moving, transform) * alignment.inside, alignment.inside)


def _map(array: np.ndarray) -> sitk.Image:
    return sitk.GetImageFromArray(ndimage.gaussian_filter(np.asarray(array, np.float32), BLUR_PIXELS))


def _centre(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask) if mask.any() else np.indices(mask.shape).reshape(2, -1)
    return float(cols.mean()), float(rows.mean())


def _start(fixed, moving, centre, angle: float, scale: float) -> sitk.Similarity2DTransform:
    """A similarity transform with this rotation and scale about ``centre``, shifted to the best correlation."""
    start = sitk.Similarity2DTransform(1.0 / scale, np.deg2rad(angle), (0.0, 0.0), centre)
    turned = sitk.Resample(moving, fixed, start, sitk.sitkLinear, 0.0)
    matrix = np.asarray(start.GetMatrix()).reshape(2, 2)
    start.SetTranslation(tuple(float(v) for v in matrix @ np.asarray(_translation(fixed, turned))))
    return start


def _translation(fixed: sitk.Image, moving: sitk.Image) -> tuple[float, float]:
    """The shift (x, y) from target to reference points at the peak of the maps' cross-correlation."""
    a, b = sitk.GetArrayFromImage(fixed), sitk.GetArrayFromImage(moving)
    a, b = a - a.mean(), b - b.mean()
    correlation = np.fft.irfft2(np.fft.rfft2(b) * np.conj(np.fft.rfft2(a)), s=a.shape)
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    shift = [p if p <= n // 2 else p - n for p, n in zip(peak, a.shape)]
    return float(shift[1]), float(shift[0])


def _method(shrink) -> sitk.ImageRegistrationMethod:
    """Correlation on every pixel of the shrunk maps."""
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsCorrelation()
    method.SetMetricSamplingStrategy(method.NONE)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetShrinkFactorsPerLevel(list(shrink))
    method.SetSmoothingSigmasPerLevel([0] * len(shrink))
    return method


def _fit(fixed, moving, transform, shrink, iterations: int):
    method = _method(shrink)
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-3, numberOfIterations=iterations, relaxationFactor=0.6)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetInitialTransform(transform, inPlace=True)
    method.Execute(fixed, moving)
    return transform


def _bspline(fixed, moving, affine) -> sitk.Transform:
    bspline = sitk.BSplineTransformInitializer(fixed, [BSPLINE_MESH - 1] * 2)
    method = _method((4,))
    method.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=30, maximumNumberOfCorrections=5)
    method.SetMovingInitialTransform(affine)
    method.SetInitialTransform(bspline, inPlace=True)
    method.Execute(fixed, moving)
    return sitk.CompositeTransform([affine, bspline])


def _score(fixed, moving, transform) -> float:
    warped = sitk.GetArrayFromImage(sitk.Resample(moving, fixed, transform, sitk.sitkLinear, 0.0)).ravel()
    target = sitk.GetArrayFromImage(fixed).ravel()
    if warped.std() == 0 or target.std() == 0:
        return 0.0
    return float(np.corrcoef(warped, target)[0, 1])


def _inside(transform, points: np.ndarray, shape: tuple[int, int]) -> float:
    """Share of reference ``points`` (x, y) that the inverse of ``transform`` maps into the target image."""
    if not len(points):
        return 0.0
    inverse = transform.GetInverse()
    mapped = np.array([inverse.TransformPoint(tuple(p)) for p in points])
    inside = (mapped[:, 0] >= 0) & (mapped[:, 0] <= shape[1] - 1) & (mapped[:, 1] >= 0) & (mapped[:, 1] <= shape[0] - 1)
    return float(inside.mean())
