"""The geometry-aware image: a voxel array placed in physical space.

World convention (the only one in ``rau``): **LPS millimetres**, as in ITK,
SimpleITK and DICOM. The array is indexed ``array[k, j, i]`` (slice, row,
column), the order SimpleITK's ``GetArrayFromImage`` uses. ``spacing`` and
``origin`` are given in ``(i, j, k)`` order and ``direction`` is the 3x3 matrix
whose columns are the world directions of the i, j and k axes:

    world = origin + direction @ (spacing * (i, j, k))

A 2D image is stored as a single-slice volume (``array.shape == (1, rows,
cols)``) with ``ndim == 2``; it converts back to a 2D SimpleITK image. The
Slicer bridge (:mod:`rau.mrml`) is the one place that converts LPS to RAS.
SimpleITK is imported where it is used, so model code can use images without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from rau.errors import InputError

if TYPE_CHECKING:
    import SimpleITK as sitk


class GeometryError(InputError):
    """An image's geometry or dimensionality is unusable for the request."""


@dataclass(frozen=True)
class Image:
    """A voxel array with spacing, origin and direction (LPS, see module doc)."""

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    ndim: int = 3

    def __post_init__(self):
        array = np.asarray(self.array)
        if array.ndim != 3:
            raise GeometryError(f"image array must be 3D (k, j, i), got shape {array.shape}")
        if self.ndim not in (2, 3):
            raise GeometryError(f"ndim must be 2 or 3, got {self.ndim}")
        if self.ndim == 2 and array.shape[0] != 1:
            raise GeometryError(f"a 2D image must have one slice, got {array.shape[0]}")
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        spacing = tuple(float(s) for s in self.spacing)
        if any(not np.isfinite(s) or s <= 0 for s in spacing):
            raise GeometryError(f"spacing must be positive and finite, got {spacing}")
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", tuple(float(o) for o in self.origin))
        object.__setattr__(self, "direction", direction)

    # --- geometry -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(k, j, i)``."""
        return self.array.shape

    @property
    def size(self) -> tuple[int, int, int]:
        """Voxel counts in ``(i, j, k)`` order, as SimpleITK reports them."""
        return tuple(reversed(self.array.shape))

    @property
    def index_to_world(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous ``(i, j, k, 1)`` to LPS millimetres."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.direction @ np.diag(self.spacing)
        matrix[:3, 3] = self.origin
        return matrix

    def to_world(self, ijk) -> np.ndarray:
        """Continuous voxel index/indices ``(..., 3)`` in (i, j, k) to LPS points."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk @ (self.direction @ np.diag(self.spacing)).T + np.asarray(self.origin)

    def to_index(self, points) -> np.ndarray:
        """LPS points ``(..., 3)`` to continuous (i, j, k) indices."""
        points = np.asarray(points, dtype=float) - np.asarray(self.origin)
        inverse = np.linalg.inv(self.direction @ np.diag(self.spacing))
        return points @ inverse.T

    def same_grid(self, other: "Image", tolerance: float = 1e-4) -> bool:
        """True when both images sample the same voxels of physical space."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing, other.spacing, atol=tolerance)
            and np.allclose(self.origin, other.origin, atol=tolerance)
            and np.allclose(self.direction, other.direction, atol=tolerance)
        )

    def with_array(self, array: np.ndarray) -> "Image":
        """The same geometry holding another array of the same shape."""
        array = np.asarray(array)
        if array.shape != self.shape:
            raise GeometryError(f"array shape {array.shape} differs from image shape {self.shape}")
        return replace(self, array=array)

    @property
    def voxel_volume(self) -> float:
        """Volume (area for 2D) of one voxel in mm^3 (mm^2)."""
        return float(np.prod(self.spacing[: self.ndim]))

    # --- SimpleITK ------------------------------------------------------------------
    def to_sitk(self) -> sitk.Image:
        """A SimpleITK image with the same voxels and geometry (2D stays 2D)."""
        import SimpleITK as sitk

        if self.ndim == 2:
            image = sitk.GetImageFromArray(self.array[0])
            image.SetSpacing(self.spacing[:2])
            image.SetOrigin(self.origin[:2])
            image.SetDirection(self.direction[:2, :2].ravel().tolist())
            return image
        image = sitk.GetImageFromArray(self.array)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction.ravel().tolist())
        return image

    @classmethod
    def from_sitk(cls, image: sitk.Image) -> "Image":
        """Wrap a 2D or 3D scalar SimpleITK image; 4D or vector images are refused."""
        import SimpleITK as sitk

        dimension = image.GetDimension()
        if image.GetNumberOfComponentsPerPixel() != 1:
            raise GeometryError(
                f"expected a scalar image, got {image.GetNumberOfComponentsPerPixel()} components per voxel"
            )
        if dimension == 2:
            direction = np.eye(3)
            direction[:2, :2] = np.reshape(image.GetDirection(), (2, 2))
            return cls(
                array=sitk.GetArrayFromImage(image)[np.newaxis],
                spacing=(*image.GetSpacing(), 1.0),
                origin=(*image.GetOrigin(), 0.0),
                direction=direction,
                ndim=2,
            )
        if dimension == 3:
            return cls(
                array=sitk.GetArrayFromImage(image),
                spacing=image.GetSpacing(),
                origin=image.GetOrigin(),
                direction=np.reshape(image.GetDirection(), (3, 3)),
                ndim=3,
            )
        raise GeometryError(f"only 2D and 3D images are supported, got a {dimension}D image")


def resample_to(image: Image, reference: Image, *, labels: bool, default: float = 0) -> Image:
    """Resample ``image`` onto ``reference``'s grid in physical space.

    ``labels=True`` uses nearest-neighbour (no new values), else linear.
    """
    if image.same_grid(reference):
        return image
    import SimpleITK as sitk

    interpolator = sitk.sitkNearestNeighbor if labels else sitk.sitkLinear
    moving = _as_3d_sitk(image)
    fixed = _as_3d_sitk(reference)
    resampled = sitk.Resample(moving, fixed, sitk.Transform(), interpolator, default, moving.GetPixelID())
    return reference.with_array(sitk.GetArrayFromImage(resampled))


def _as_3d_sitk(image: Image) -> sitk.Image:
    """A 3D SimpleITK view of any image (2D images become one-slice volumes)."""
    return Image(image.array, image.spacing, image.origin, image.direction, ndim=3).to_sitk()


def orient_lps(image: Image) -> Image:
    """The same voxels reordered so i, j, k run to the patient's left, posterior and superior.

    Axial slices ``array[k]`` of the result show the radiological view whatever the
    file's voxel order; 2D images are returned unchanged.
    """
    if image.ndim == 2:
        return image
    import SimpleITK as sitk

    return Image.from_sitk(sitk.DICOMOrient(image.to_sitk(), "LPS"))
