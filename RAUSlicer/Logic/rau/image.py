"""The geometry-aware image: a voxel array placed in physical space.

World convention (the only one in ``rau``): **LPS millimetres**, as in ITK,
SimpleITK and DICOM. The array is indexed ``array[k, j, i]`` (slice, row,
column), the order SimpleITK's ``GetArrayFromImage`` uses. ``spacing`` and
``origin`` are given in ``(i, j, k)`` order and ``direction`` is the 3x3 matrix
whose columns are the world directions of the i, j and k axes:

    world = origin + direction @ (spacing * (i, j, k))

**Dimensionality, the one rule** (:meth:`Image.from_grid`, used by every reader and
by the Slicer bridge): a grid with a single slice along *any* axis is a 2D image
(``ndim == 2``). A 2D image is stored as ``array.shape == (1, rows, cols)``: its two
in-plane axes, in their original order, become i (columns) and j (rows); the
singleton axis becomes k. Every engine, metric and picture works on that layout.

A 2D image's ``spacing``/``origin``/``direction`` describe its *plane frame*, the
geometry a 2D file has: the plane lies at z = 0 and :meth:`Image.to_sitk` gives a 2D
SimpleITK image. For a slice that was axial in its volume (both in-plane axes
perpendicular to z) the frame is world x, y, exactly as a 2D file with the same
pixels; for any other plane (sagittal, coronal, oblique) the frame's axes are the
slice's own i and j directions and its origin is the slice origin in those axes.
Either way in-plane distances are exact.

Where the caller put the plane is kept in :attr:`Image.stored` (:class:`StoredVolume`:
the singleton axis and the volume's own spacing, origin and direction).
:meth:`Image.volume` places the image in the world again (a 1-slice volume, axes in
the working order) for the Slicer bridge, markups and 3D resampling;
:meth:`Image.as_stored` gives back the caller's own layout, which writers use, so a
result on a 1-slice volume target is a 1-slice volume with the target's axis
layout, spacing, origin and direction. Two 2D images are compared in their plane
frames (:func:`resample_to`). The Slicer bridge (:mod:`rau.mrml`) is the one place
that converts LPS to RAS. SimpleITK is imported where it is used, so model code can
use images without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import SimpleITK as sitk


class GeometryError(ValueError):
    """An image's geometry or dimensionality is unusable for the request."""


AXIAL_TOLERANCE = 1e-6
"""In-plane direction z components below this make a slice axial (plane frame = world x, y)."""


@dataclass(frozen=True)
class StoredVolume:
    """How the caller stored a 2D image: a volume with one slice along ``axis`` (0: i, 1: j, 2: k).

    ``spacing``, ``origin`` and ``direction`` (9 values, row-major) are that volume's own.
    """

    axis: int
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]

    @property
    def working_axes(self) -> tuple[int, int, int]:
        """The stored axes that become the 2D image's i, j and k (in-plane axes keep their order)."""
        in_plane = tuple(a for a in range(3) if a != self.axis)
        return (*in_plane, self.axis)

    def to_working(self, array: np.ndarray) -> np.ndarray:
        """A ``(k, j, i)`` array in the stored layout, reordered to the 2D image's ``(1, rows, cols)``."""
        i, j, k = self.working_axes
        return np.transpose(array, (2 - k, 2 - j, 2 - i))

    def to_stored(self, array: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_working`."""
        order = [2 - a for a in reversed(self.working_axes)]  # working numpy axis n holds stored numpy axis order[n]
        return np.transpose(array, np.argsort(order))


@dataclass(frozen=True)
class Image:
    """A voxel array with spacing, origin and direction (LPS, see module doc)."""

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    ndim: int = 3
    stored: StoredVolume | None = None
    """For a 2D image read from a 1-slice volume: that volume's layout and geometry (see module doc)."""

    def __post_init__(self):
        array = np.asarray(self.array)
        if array.ndim != 3:
            raise GeometryError(f"image array must be 3D (k, j, i), got shape {array.shape}")
        if self.ndim not in (2, 3):
            raise GeometryError(f"ndim must be 2 or 3, got {self.ndim}")
        if self.ndim == 2 and array.shape[0] != 1:
            raise GeometryError(f"a 2D image must have one slice, got {array.shape[0]}")
        if self.stored is not None and self.ndim != 2:
            raise GeometryError("only a 2D image can record the 1-slice volume it was stored as")
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
        """True when both images sample the same voxels of physical space (2D: of their plane; slice thickness aside)."""
        return (
            self.shape == other.shape
            and self.ndim == other.ndim
            and np.allclose(self.spacing[: self.ndim], other.spacing[: self.ndim], atol=tolerance)
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

    # --- dimensionality: the one rule ---------------------------------------------------
    @classmethod
    def from_grid(cls, array, spacing, origin, direction) -> "Image":
        """The image of a ``(k, j, i)`` voxel grid: 2D when it has a single slice along any axis.

        This is the rule every reader applies (see the module doc): the in-plane axes become
        i and j, the volume's layout and geometry are kept in :attr:`stored`.
        """
        array = np.asarray(array)
        size = tuple(reversed(array.shape)) if array.ndim == 3 else ()
        singles = [axis for axis in (2, 1, 0) if size and size[axis] == 1]
        if not singles:
            return cls(array, spacing, origin, direction, ndim=3)
        volume = cls(array, spacing, origin, direction, ndim=3)
        stored = StoredVolume(singles[0], volume.spacing, volume.origin, tuple(volume.direction.ravel()))
        i, j, k = stored.working_axes
        in_world = volume.direction[:, [i, j, k]]
        if np.abs(in_world[2, :2]).max() < AXIAL_TOLERANCE:
            plane_direction, plane_origin = in_world[:2, :2], np.asarray(volume.origin[:2])
        else:
            plane_direction = np.eye(2)
            plane_origin = np.linalg.lstsq(in_world[:, :2], np.asarray(volume.origin), rcond=None)[0]
        frame = np.eye(3)
        frame[:2, :2] = plane_direction
        spacing = tuple(volume.spacing[a] for a in (i, j, k))
        return cls(stored.to_working(array), spacing, (*plane_origin, 0.0), frame, ndim=2, stored=stored)

    def volume(self) -> "Image":
        """This image placed in the world: a 3D image is itself; a 2D image becomes a 1-slice
        volume (same array layout) where its caller put it, or at z = 0 when it came from a 2D file."""
        if self.ndim == 3:
            return self
        if self.stored is None:
            return Image(self.array, self.spacing, self.origin, self.direction, ndim=3)
        axes = list(self.stored.working_axes)
        direction = np.reshape(self.stored.direction, (3, 3))[:, axes]
        return Image(self.array, tuple(self.stored.spacing[a] for a in axes), self.stored.origin, direction, ndim=3)

    def as_stored(self) -> "Image":
        """This image in its caller's layout: the 1-slice volume it was read from (axis order and
        geometry as stored), else itself. Writers use it."""
        if self.stored is None:
            return self
        stored = self.stored
        return Image(stored.to_stored(self.array), stored.spacing, stored.origin, np.reshape(stored.direction, (3, 3)), ndim=3)

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
        """Wrap a 2D or 3D scalar SimpleITK image (a 1-slice volume is 2D, see :meth:`from_grid`);
        4D or vector images are refused."""
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
            direction = np.reshape(image.GetDirection(), (3, 3))
            return cls.from_grid(sitk.GetArrayFromImage(image), image.GetSpacing(), image.GetOrigin(), direction)
        raise GeometryError(f"only 2D and 3D images are supported, got a {dimension}D image")


def resample_to(image: Image, reference: Image, *, labels: bool, default: float = 0) -> Image:
    """Resample ``image`` onto ``reference``'s grid in physical space.

    Two 2D images are matched in their plane frames; otherwise both are placed in the
    world (:meth:`Image.volume`). ``labels=True`` uses nearest-neighbour (no new values),
    else linear.
    """
    if image.same_grid(reference):
        return image
    import SimpleITK as sitk

    interpolator = sitk.sitkNearestNeighbor if labels else sitk.sitkLinear
    both_2d = image.ndim == reference.ndim == 2
    moving = image.to_sitk() if both_2d else image.volume().to_sitk()
    fixed = reference.to_sitk() if both_2d else reference.volume().to_sitk()
    resampled = sitk.GetArrayFromImage(sitk.Resample(moving, fixed, sitk.Transform(), interpolator, default, moving.GetPixelID()))
    return reference.with_array(resampled.reshape(reference.shape))


def orient_lps(image: Image) -> Image:
    """The same voxels reordered so i, j, k run to the patient's left, posterior and superior.

    Axial slices ``array[k]`` of the result show the radiological view whatever the
    file's voxel order; 2D images are returned unchanged.
    """
    if image.ndim == 2:
        return image
    import SimpleITK as sitk

    return Image.from_sitk(sitk.DICOMOrient(image.to_sitk(), "LPS"))
