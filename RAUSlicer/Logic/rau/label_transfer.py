"""Warping reference labels onto a target grid through a registration transform.

Each structure is warped on its own as a soft (linearly interpolated) mask, so
edges stay smooth when the grids differ and no label value is ever invented.
Work is confined to each structure's region: a coarse pass finds where the
structure lands, the full-resolution pass fills only that box. The coarse pass samples the
structure grown by a coarse cell's diagonal, so a structure thinner than the coarse spacing (a rib,
an adrenal gland, a vessel) cannot fall between its samples. Results are
:class:`SoftMask` objects (a box of the target grid plus probabilities in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import SimpleITK as sitk

from rau.image import Image, orient_lps
from rau.labels import Segmentation

COARSE_FACTOR = 4


@dataclass
class SoftMask:
    """Probabilities 0..1 of one structure inside ``region`` (numpy slices k, j, i) of the target."""

    region: tuple[slice, slice, slice]
    values: np.ndarray

    def inside(self, shape) -> np.ndarray:
        """Where the structure is (probability over half), on the whole target grid; no full-size float copy."""
        mask = np.zeros(shape, bool)
        mask[self.region] = self.values > 0.5
        return mask


def as_fast_transform(transform: sitk.Transform, target: Image) -> sitk.Transform:
    """Linear transforms as they are; others as a displacement field sampled on a coarse target grid, in LPS voxel
    order as the registration works (:func:`rau.image.orient_lps`): one field whatever the target's storage order."""
    if transform.IsLinear():
        return transform
    grid = _coarse_grid(orient_lps(target.with_array(np.zeros(target.shape, np.uint8))), factor=2)
    field = sitk.TransformToDisplacementField(
        transform, sitk.sitkVectorFloat64, grid.GetSize(), grid.GetOrigin(), grid.GetSpacing(), grid.GetDirection()
    )
    return sitk.DisplacementFieldTransform(field)


def warp_structures(segmentation: Segmentation, names: list[str], target: Image, transform: sitk.Transform,
                    report: Callable[[float], None] = lambda share: None) -> dict[str, SoftMask | None]:
    """Each named structure of ``segmentation`` warped onto ``target``; None where it covers no target voxel by half
    (it lands outside, or is smaller than the target's voxels there). ``report(share)`` before each structure, with the
    share of them done (it may raise to stop)."""
    transform = as_fast_transform(transform, target)
    coarse = _coarse_grid(target, COARSE_FACTOR)
    native_shape = target.shape[3 - target.ndim :]
    warped = {}
    reach = float(np.linalg.norm(coarse.GetSpacing()))  # a coarse cell's diagonal, in mm
    for done, name in enumerate(names):
        report(done / len(names))
        mask = segmentation.masks[name]  # made once: a label map's masks are made when asked for
        near = _grown(segmentation.geometry, mask, reach)
        hits = sitk.Resample(near, coarse, transform, sitk.sitkNearestNeighbor, 0) if near is not None else None
        region = _region(sitk.GetArrayFromImage(hits) > 0, native_shape) if hits is not None else None
        if region is None:
            warped[name] = None
            continue
        moving = segmentation.geometry.with_array(mask.astype(np.float32)).to_sitk()
        values = _resample_region(moving, target, region, transform)
        if target.ndim == 2:
            region, values = (slice(0, 1), *region), values[np.newaxis]
        warped[name] = SoftMask(region, values) if (values > 0.5).any() else None
    return warped


def warp_image(image: Image, target: Image, transform: sitk.Transform) -> np.ndarray:
    """``image``'s intensities pulled onto the whole target grid (float32, NaN where it does not reach)."""
    moving = sitk.Cast(image.to_sitk(), sitk.sitkFloat32)
    warped = sitk.Resample(moving, target.to_sitk(), as_fast_transform(transform, target), sitk.sitkLinear, float("nan"), sitk.sitkFloat32)
    return sitk.GetArrayFromImage(warped).reshape(target.shape)


def _resample_region(moving: sitk.Image, target: Image, region, transform) -> np.ndarray:
    """Resample ``moving`` on the part of the target grid that ``region`` (numpy order) selects."""
    start = [r.start for r in reversed(region)]
    size = [r.stop - r.start for r in reversed(region)]
    dimension = target.ndim
    index = np.zeros(3)
    index[:dimension] = start
    origin = target.to_world(index)[:dimension]
    direction = target.direction[:dimension, :dimension].ravel()
    output = sitk.Resample(moving, size, transform, sitk.sitkLinear, origin.tolist(), target.spacing[:dimension], direction.tolist(), 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(output)


def _grown(geometry: Image, mask: np.ndarray, reach: float) -> sitk.Image | None:
    """``mask`` (k, j, i) grown by ``reach`` mm along each axis, on its own bounding box (grown alike) of
    ``geometry``; None when it is empty."""
    from scipy import ndimage

    if not mask.any():
        return None
    steps = np.ceil(reach / np.asarray(geometry.spacing, float)[::-1]).astype(int) * (np.array(mask.shape) > 1)
    occupied = [np.flatnonzero(mask.any(axis=tuple(other for other in range(3) if other != axis))) for axis in range(3)]
    low = [max(int(used[0]) - step, 0) for used, step in zip(occupied, steps)]
    high = [min(int(used[-1]) + step + 1, size) for used, step, size in zip(occupied, steps, mask.shape)]
    crop = mask[tuple(slice(a, b) for a, b in zip(low, high))].astype(np.uint8)
    grown = ndimage.maximum_filter(crop, size=tuple(2 * steps + 1))
    return Image(grown, geometry.spacing, tuple(geometry.to_world(low[::-1])), geometry.direction, ndim=geometry.ndim).to_sitk()


def _region(hits: np.ndarray, shape) -> tuple[slice, ...] | None:
    """The full-resolution box covering coarse hits, grown by one coarse voxel (numpy order)."""
    if not hits.any():
        return None
    region = []
    for axis, full_size in enumerate(shape):
        other = tuple(a for a in range(hits.ndim) if a != axis)
        index = np.flatnonzero(hits.any(axis=other))
        factor = full_size / hits.shape[axis]
        low = max(int(np.floor((index[0] - 1) * factor)), 0)
        high = min(int(np.ceil((index[-1] + 2) * factor)), full_size)
        region.append(slice(low, high))
    return tuple(region)


def _coarse_grid(image: Image, factor: int) -> sitk.Image:
    """An empty grid (native 2D or 3D) covering ``image`` with ``factor`` times fewer voxels per axis.

    Axes with fewer than ``4 * factor`` voxels keep their sampling.
    """
    dimension = image.ndim
    size = np.array(image.size[:dimension])
    factors = np.where(size >= 4 * factor, factor, 1)
    centre_index = np.zeros(3)
    centre_index[:dimension] = (factors - 1) / 2
    grid = sitk.Image(np.ceil(size / factors).astype(int).tolist(), sitk.sitkUInt8)
    grid.SetSpacing((np.array(image.spacing[:dimension]) * factors).tolist())
    grid.SetOrigin(image.to_world(centre_index)[:dimension].tolist())
    grid.SetDirection(image.direction[:dimension, :dimension].ravel().tolist())
    return grid
