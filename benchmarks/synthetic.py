"""Shared parts of the set builders (make_*.py): synthetic targets (an
image warped by a smooth random deformation and re-contrasted as another scanner or protocol might).
The builders run as scripts, so Python puts this folder on ``sys.path`` and they ``from synthetic import
...`` (as bench_sam2_gpu.py imports bench_sam2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicerio

from rau.image import Image
from rau.io import read_image, read_segmentation
from rau.labels import Segmentation


def slicerio_chest_ct() -> tuple[Image, Segmentation]:
    """slicerio's chest CT (``CTChest4.nrrd``, the only chest CT that ships) and its segments on its grid."""
    data = Path(slicerio.__file__).parent / "data"
    reference = read_image(data / "CTChest4.nrrd")
    return reference, read_segmentation(data / "Segmentation.seg.nrrd", geometry=reference)


def centre(image: sitk.Image) -> tuple[float, ...]:
    """The physical point at the middle of ``image``'s grid (the centre of the rotations)."""
    return image.TransformContinuousIndexToPhysicalPoint([(s - 1) / 2 for s in image.GetSize()])


def deformation(image: sitk.Image, initial: sitk.Transform, mesh: list[int], sigma: float, rng: np.random.Generator) -> sitk.Transform:
    """``initial`` (a rigid or similarity transform) followed by a cubic B-spline over ``image`` with
    ``mesh`` intervals per axis, its control-point displacements drawn from N(0, ``sigma`` mm) by ``rng``."""
    bspline = sitk.BSplineTransformInitializer(image, mesh, order=3)
    bspline.SetParameters(rng.normal(0.0, sigma, len(bspline.GetParameters())).tolist())
    composite = sitk.CompositeTransform(image.GetDimension())
    composite.AddTransform(initial)
    composite.AddTransform(bspline)
    return composite


def recontrast(array: np.ndarray, rng: np.random.Generator, noise: float, scale: float = 1.0, offset: float = 0.0,
               gamma: float | None = None, top: float | None = None) -> np.ndarray:
    """``scale * array + offset`` plus Gaussian noise of SD ``noise`` drawn by ``rng``; with ``gamma``,
    ``array`` is first replaced by ``top * (array / top) ** gamma`` (negatives clipped to 0, ``top`` kept)."""
    changed = scale * top * np.clip(array / top, 0, None) ** gamma if gamma is not None else scale * array
    return changed + offset + rng.normal(0.0, noise, array.shape)


def rescanned_ct(hounsfield: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CT values as another scanner or protocol might give them: 0.9 x HU + 40, plus noise of SD 20 HU drawn by ``rng``."""
    return recontrast(hounsfield, rng, 20.0, scale=0.9, offset=40.0)
