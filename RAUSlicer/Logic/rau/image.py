"""The geometry-aware image: a voxel array placed in physical space.

World convention (the only one in ``rau``): **LPS millimetres**, as in ITK,
SimpleITK and DICOM. The array is indexed ``array[k, j, i]`` (slice, row,
column), the order SimpleITK's ``GetArrayFromImage`` uses. ``spacing`` and
``origin`` are given in ``(i, j, k)`` order and ``direction`` is the 3x3 matrix
whose columns are the world directions of the i, j and k axes:

    world = origin + direction @ (spacing * (i, j, k))

**Dimensionality, the one rule** (:meth:`Image.from_grid`, applied by every reader and
by the Slicer bridge): a grid with a single slice along *any* axis is a 2D image
(``ndim == 2``), as is a 2D file. A 2D image is stored as ``array.shape == (1, rows,
cols)``: the two in-plane axes, in their original order, become i (columns) and j
(rows); the singleton axis becomes k. Every engine, metric and picture works on that.

A 2D image's ``spacing``/``origin``/``direction`` describe its *plane frame*: its
pixels and pixel spacing only, laid flat with origin 0 and identity direction (columns
along x, rows along y), exactly what a PNG with a pixel spacing gives.
:meth:`Image.to_sitk` gives that 2D SimpleITK image. So the same pixels are the same 2D
image, bit for bit, whether they come from a PNG, a 2D file or a 1-slice volume in any
position and orientation (axial, sagittal, oblique; an RAS-oriented NIfTI included):
engines give the same answer on each and in-plane distances are exact. Only when a
reference and a target are both placed, in parallel planes, is the reference's pixel
order first made the target's (:func:`plane_order`): one slice stored in two pixel
orders is still one slice.

Where the caller had the pixels is kept in :attr:`Image.stored` (:class:`StoredGrid`:
the singleton axis, or None for a 2D file, and the file's own spacing, origin and
direction). :meth:`Image.volume` places the image in the world again (a 1-slice
volume in the working axis order) for the Slicer bridge, markups and comparing two
placed images (:func:`resample_to`, e.g. a truth and a target in physical space);
:meth:`Image.as_stored` gives back the caller's own layout, which writers use, so a
result on a 1-slice volume target is a 1-slice volume with the target's axis layout,
spacing, origin and direction. LPS becomes RAS only through :data:`RAS_FROM_LPS`: in the Slicer
bridge (:mod:`rau.mrml`), and in the reference geometry a ``.seg.nrrd`` header gives Slicer
(:mod:`rau.io.segmentations`). SimpleITK is imported where it is used, so model code can
use images without it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from rau.errors import InputError

if TYPE_CHECKING:
    import SimpleITK as sitk


RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Maps homogeneous LPS points to RAS, as Slicer places them, and back (it is its own inverse)."""


class GeometryError(InputError):
    """An image's geometry or dimensionality is unusable for the request."""


SPACING_DIGITS = 12
"""Significant digits a 2D image's pixel spacing keeps. A file stores an oblique grid's spacing
inside its direction vectors, and reading it back differs in the last bits (0.090818183 returns as
0.09081818299999998); the plane frame rounds that away, so a picture and its 1-slice copy in any
orientation are the same image, bit for bit (registration follows bits)."""


GRID_TOLERANCE_MM = 1e-4
"""How far two grids' spacings, origins and directions may differ and still be the same grid (:meth:`Image.same_grid`):
a re-save that moves a number's last digit, or a header's rounding, is no other grid."""


def array_digest(*arrays) -> str:
    """SHA-256 of the arrays' types, shapes and values, in order: the same voxels give the same digest, whatever
    file or node they came from."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def plane_spacing(spacing) -> tuple[float, ...]:
    """``spacing`` rounded to :data:`SPACING_DIGITS` significant digits (see there)."""
    return tuple(float(f"{value:.{SPACING_DIGITS}g}") for value in spacing)


SINGLE_PRECISION_STEPS = 32
"""How many double-precision steps from a single-precision number a geometry value may lie and still be read
as that number (:func:`single_precision`): enough for one written with 15 significant digits, as NRRD headers
give spacings (up to 23 steps off; slicerio's chest CT's 3.04687595367432 mm is 8), and for an oblique volume's
origin as Slicer's matrices give it back (up to 6 steps off)."""


def single_precision(values) -> np.ndarray:
    """``values`` (float64 array) with each number that lies within :data:`SINGLE_PRECISION_STEPS` steps of a
    single-precision number replaced by it; other numbers unchanged.

    NIfTI stores its geometry in single precision. ITK reads those numbers as they are; Slicer's reader passes
    them through a double-precision IJK-to-RAS matrix and gives them back a step or two off (a CT's 0.9765625 mm
    as 0.9765625000000001, its origin -249.51171875 as -249.51171875000003), and registration follows bits. So a
    volume loaded in Slicer and the same file read by the command line are the same image, and give one answer."""
    values = np.asarray(values, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond single precision's range, inf, NaN: kept as they are (and refused later)
        single = values.astype(np.float32).astype(float)
        near = np.abs(values - single) <= SINGLE_PRECISION_STEPS * np.spacing(np.abs(values))
    return np.where(near, single, values)


DIRECTION_BITS = 40
"""Binary places a direction cosine keeps (:func:`direction_cosines`)."""


def direction_cosines(direction) -> np.ndarray:
    """``direction`` rounded to multiples of 2**-:data:`DIRECTION_BITS` (at most 5e-13 off).

    An oblique file's directions are computed (NIfTI stores a quaternion); Slicer's reader computes them
    again through its IJK-to-RAS matrix and gives some back a step off, and registration follows bits. Rounded,
    the volume loaded in Slicer and the file read by the command line are one image. Axis directions (0, 1, -1)
    stay as they are."""
    scale = 2.0**DIRECTION_BITS
    with np.errstate(over="ignore", invalid="ignore"):  # inf, NaN: kept as they are (and refused later)
        return np.round(np.asarray(direction, dtype=float) * scale) / scale


@dataclass(frozen=True)
class StoredGrid:
    """Where the caller had a 2D image's pixels: a volume with one slice along ``axis``
    (0: i, 1: j, 2: k) or, with ``axis`` None, a 2D file.

    ``spacing``, ``origin`` and ``direction`` (9 values, row-major) are that grid's own, in 3D
    (a 2D file's lie in the z = 0 plane).
    """

    axis: int | None
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]

    @property
    def working_axes(self) -> tuple[int, int, int]:
        """The stored axes that become the 2D image's i, j and k (in-plane axes keep their order)."""
        if self.axis is None:
            return (0, 1, 2)
        in_plane = tuple(a for a in range(3) if a != self.axis)
        return (*in_plane, self.axis)

    def to_working(self, array: np.ndarray) -> np.ndarray:
        """A ``(k, j, i)`` array in the stored layout, reordered to the 2D image's ``(1, rows, cols)``."""
        i, j, k = self.working_axes
        return np.transpose(array, (2 - k, 2 - j, 2 - i))

    def to_stored(self, array: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_working`."""
        order = [2 - a for a in reversed(self.working_axes)]  # working numpy axis n is stored numpy axis order[n]
        return np.transpose(array, np.argsort(order))

    def placed(self, array: np.ndarray) -> "Image":
        """``array`` (working layout) as a 3D image where the caller had it, axes in the working order."""
        axes = list(self.working_axes)
        direction = np.reshape(self.direction, (3, 3))[:, axes]
        return Image(array, tuple(self.spacing[a] for a in axes), self.origin, direction, ndim=3)


@dataclass(frozen=True)
class Image:
    """A voxel array with spacing, origin and direction (LPS, see module doc)."""

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    ndim: int = 3
    stored: StoredGrid | None = None
    """For a 2D image read from a file: the caller's grid, when it differs from the plane frame (see module doc)."""
    nifti_codes: tuple[int, int] | None = field(default=None, compare=False)
    """For an image read from a NIfTI file: its qform and sform codes, which say what space its coordinates are in
    (1 scanner, 2 aligned, 3 Talairach, 4 MNI; 0 none). A NIfTI file written of it gets the same codes."""
    pixel_size_known: bool = field(default=True, compare=False)
    """False for an image read from a file that gives no pixel size, with none given for it (read at 1 mm:
    :func:`rau.io.images.without_pixel_size`): its spacing says nothing of its field of view."""

    def __post_init__(self):
        array = np.asarray(self.array)
        if array.ndim != 3:
            raise GeometryError(f"image array must be 3D (k, j, i), got shape {array.shape}")
        if self.ndim not in (2, 3):
            raise GeometryError(f"ndim must be 2 or 3, got {self.ndim}")
        if self.ndim == 2 and array.shape[0] != 1:
            raise GeometryError(f"a 2D image must have one slice, got {array.shape[0]}")
        if self.stored is not None and self.ndim != 2:
            raise GeometryError("only a 2D image can record the grid it was stored on")
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
    def is_picture(self) -> bool:
        """Whether this is a picture: a 2D image with no place of its own (no stored grid: PNG, JPEG ...), only its pixels."""
        return self.ndim == 2 and self.stored is None

    @property
    def stored_ndim(self) -> int:
        """How many indices the caller's file numbers a voxel by: 2 for a picture or a 2D file, 3 for a volume
        (a 2D image read from a 1-slice volume included)."""
        return 2 if self.ndim == 2 and (self.stored is None or self.stored.axis is None) else 3

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

    def same_grid(self, other: "Image", tolerance: float = GRID_TOLERANCE_MM) -> bool:
        """True when both images sample the same voxels of physical space.

        2D images: the same pixels of their plane (slice thickness aside), at the same place in
        the world when both were read from files that place them (:meth:`volume`).
        """
        if self.shape != other.shape or self.ndim != other.ndim:
            return False
        axes = self.ndim
        mine, theirs = common_frame(self, other)  # placed 2D images where they are; slice normals may differ in sign
        return (
            np.allclose(mine.spacing[:axes], theirs.spacing[:axes], atol=tolerance)
            and np.allclose(mine.origin, theirs.origin, atol=tolerance)
            and np.allclose(mine.direction[:, :axes], theirs.direction[:, :axes], atol=tolerance)
        )

    def digest(self) -> str:
        """SHA-256 of the voxels and geometry (spacing, origin, direction), whatever file they came from: what a result
        records of its references as read, so ``rau correct`` knows when one changed since the run."""
        return array_digest(self.array, np.asarray(self.spacing, np.float64), np.asarray(self.origin, np.float64),
                            np.asarray(self.direction, np.float64))

    def same_image(self, other: "Image") -> bool:
        """Whether ``other`` has the same voxel values (whatever type stores them: an 8-bit picture re-saved as 16-bit)
        and geometry in single precision, as a NIfTI file stores it: what engines see. For a 3D image that is its
        spacing, origin and direction; for a 2D image its pixel spacing alone (its plane frame, see the module doc), so a
        picture saved as a one-slice volume anywhere, of any slice thickness and orientation, is the same image. The
        values are compared only where the geometry is the same."""
        def geometry(image: "Image") -> list[np.ndarray]:
            return [np.asarray(values, np.float32) for values in (image.spacing[: image.ndim], image.origin, image.direction)]

        return (self.shape == other.shape and self.ndim == other.ndim
                and all(np.array_equal(mine, theirs) for mine, theirs in zip(geometry(self), geometry(other)))
                and np.array_equal(self.array, other.array))

    def voxel_digest(self) -> str:
        """SHA-256 of the voxels alone: what a result records of its target as read (its grid is checked against the
        saved masks within :meth:`same_grid`'s tolerance, so a re-save that moves a number's last digit is no change)."""
        return array_digest(self.array)

    def with_array(self, array: np.ndarray) -> "Image":
        """The same geometry holding another array of the same shape."""
        array = np.asarray(array)
        if array.shape != self.shape:
            raise GeometryError(f"array shape {array.shape} differs from image shape {self.shape}")
        return replace(self, array=array)

    # --- dimensionality: the one rule ---------------------------------------------------
    @classmethod
    def from_grid(cls, array, spacing, origin, direction, ndim: int | None = None, placed: bool = True) -> "Image":
        """The image of a ``(k, j, i)`` voxel grid: 2D when it has a single slice along any axis.

        This is the rule every reader applies (see the module doc); geometry values a few bits off a
        single-precision number are taken as that number (:func:`single_precision`), direction cosines are
        rounded (:func:`direction_cosines`). ``ndim=2`` says the grid
        is a 2D file's (one slice, lying at z = 0); ``ndim=3`` keeps it 3D whatever its slices (the labels of a
        volume, cropped to one slice). A 2D image gets its plane frame and keeps
        the caller's grid in :attr:`stored`, except a picture (``placed=False``: PNG, JPEG ...),
        whose header places nothing. A 2D NRRD at origin 0 is placed there, like one at 105 mm.
        """
        spacing, origin, direction = (single_precision(values) for values in (spacing, origin, direction))
        direction = direction_cosines(direction)
        grid = cls(np.asarray(array), tuple(spacing), tuple(origin), direction, ndim=3)
        singles = [axis for axis in (2, 1, 0) if grid.size[axis] == 1]
        if ndim == 3 or (ndim is None and not singles):
            return grid
        stored = StoredGrid(None if ndim == 2 else singles[0], grid.spacing, grid.origin, tuple(grid.direction.ravel()))
        working = stored.placed(stored.to_working(grid.array))
        plane = cls(working.array, plane_spacing(working.spacing), ndim=2)
        return replace(plane, stored=stored) if placed else plane

    def volume(self) -> "Image":
        """This image placed in the world: a 3D image is itself; a 2D image becomes a 1-slice volume
        (same array layout) where its caller had it, or its plane frame when read from a picture."""
        if self.ndim == 3:
            return self
        if self.stored is None:
            return Image(self.array, self.spacing, self.origin, self.direction, ndim=3)
        return self.stored.placed(self.array)

    def stored_index(self, ijk) -> tuple:
        """A voxel index (i, j, k) of this image as the index in the caller's own grid: a 2D image read
        from a 1-slice volume stored along i or j has its pixels on other file axes."""
        if self.stored is None or self.stored.axis is None:
            return tuple(ijk)
        stored = [0, 0, 0]
        for working, axis in zip(ijk, self.stored.working_axes):
            stored[axis] = working
        return tuple(stored)

    def file_axis(self, axis: int) -> str:
        """The letter (i, j or k) of the caller's file axis along which this image's array axis ``axis`` (numpy order:
        0 is k) runs: a 2D image read from a 1-slice volume stored along i has its one slice on the file's i."""
        working = 2 - axis
        return "ijk"[self.stored.working_axes[working] if self.stored is not None else working]

    def working_index(self, stored_ijk) -> tuple:
        """The inverse of :meth:`stored_index`: a voxel index of the caller's grid as this image's."""
        if self.stored is None or self.stored.axis is None:
            return tuple(stored_ijk)
        return tuple(stored_ijk[axis] for axis in self.stored.working_axes)

    def as_stored(self) -> "Image":
        """This image in its caller's layout and geometry (the 1-slice volume or 2D file it was
        read from), else itself. Writers use it."""
        if self.stored is None:
            return self
        stored = self.stored
        return Image(stored.to_stored(self.array), stored.spacing, stored.origin, np.reshape(stored.direction, (3, 3)), ndim=self.stored_ndim,
                     nifti_codes=self.nifti_codes)

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
        """Wrap a 2D or 3D SimpleITK image (a 1-slice volume is 2D, see :meth:`from_grid`); an 8-bit colour
        image becomes grey (:func:`colour_as_grey`); 4D images and other multi-component voxels are refused."""
        import SimpleITK as sitk

        dimension = image.GetDimension()
        if dimension not in (2, 3):
            raise GeometryError(f"only 2D and 3D images are supported, got a {dimension}D image")
        array = sitk.GetArrayFromImage(image)
        if image.GetNumberOfComponentsPerPixel() != 1:
            array = colour_as_grey(array)
        if dimension == 2:
            direction = np.eye(3)
            direction[:2, :2] = np.reshape(image.GetDirection(), (2, 2))
            return cls.from_grid(array[np.newaxis], (*image.GetSpacing(), 1.0), (*image.GetOrigin(), 0.0), direction, ndim=2)
        return cls.from_grid(array, image.GetSpacing(), image.GetOrigin(), np.reshape(image.GetDirection(), (3, 3)))


def resample_to(image: Image, reference: Image, *, labels: bool, default: float = 0) -> Image:
    """Resample ``image`` onto ``reference``'s grid in physical space.

    Images are placed in the world (:meth:`Image.volume`), except two 2D images of which
    one has no place (a picture): those are matched in their plane frames, pixel grid on
    pixel grid. ``labels=True`` uses nearest-neighbour (no new values), else linear.
    """
    if image.same_grid(reference):
        return image
    import SimpleITK as sitk

    interpolator = sitk.sitkNearestNeighbor if labels else sitk.sitkLinear
    moving, fixed = (placed.to_sitk() for placed in common_frame(image, reference))
    resampled = sitk.GetArrayFromImage(sitk.Resample(moving, fixed, sitk.Transform(), interpolator, default, moving.GetPixelID()))
    return reference.with_array(resampled.reshape(reference.shape))


def resample_mask(mask: Image, reference: Image) -> np.ndarray:
    """The non-zero voxels of ``mask`` (on its own grid) as a boolean array on ``reference``'s grid: nearest neighbour in
    physical space (:func:`resample_to`), the same grid copied as it is. How a segmentation file's masks and a
    Slicer segment's are read onto an image, so the command line and the Slicer module take the same voxels."""
    pasted = _pasted(mask, reference)
    if pasted is not None:
        return pasted
    return resample_to(mask.with_array((mask.array != 0).astype(np.uint8)), reference, labels=True).array > 0


def _pasted(mask: Image, reference: Image) -> np.ndarray | None:
    """What :func:`resample_mask` gives for two volumes whose grids line up voxel for voxel (the same spacing and
    axes, origins a whole number of voxels apart: a Slicer segment cropped to its voxels), by placing the mask's
    voxels instead of resampling the whole grid; None for other grids."""
    # Tighter than rau.io.saved_results._on_voxels_of (which accepts or refuses a file): a shortcut must give resampling's voxels.
    if mask.ndim != 3 or reference.ndim != 3 or not (np.allclose(mask.spacing, reference.spacing, rtol=1e-6, atol=0)
                                                     and np.allclose(mask.direction, reference.direction, rtol=0, atol=1e-6)):
        return None
    shift = reference.direction.T @ (np.array(mask.origin) - np.array(reference.origin)) / np.array(reference.spacing)
    if not np.allclose(shift, np.rint(shift), rtol=0, atol=1e-3):
        return None
    start = np.rint(shift).astype(int)[::-1]  # (k, j, i), as the arrays
    low = np.maximum(start, 0)
    high = np.minimum(start + np.array(mask.shape), np.array(reference.shape))
    pasted = np.zeros(reference.shape, dtype=bool)
    if np.all(high > low):
        pasted[tuple(map(slice, low, high))] = mask.array[tuple(map(slice, low - start, high - start))] != 0
    return pasted


def common_frame(image: Image, other: Image) -> tuple[Image, Image]:
    """The two images where they are compared: placed in the world (:meth:`Image.volume`), except two
    2D images of which one is a picture (it has no place): those stay in their plane frames."""
    if image.ndim == other.ndim == 2 and (image.is_picture or other.is_picture):
        return image, other
    return image.volume(), other.volume()


def as_loaded_in_slicer(picture: Image, spacing: tuple[float, float]) -> Image:
    """A picture (a 2D image with no place) placed where Slicer puts one it loads (origin 0, columns along L, rows
    along P) at ``spacing`` (columns, rows) mm; any other image as it is. For a Slicer segmentation drawn on the
    picture, which Slicer saves cropped to its segments: where its first voxel lies says where on the picture it is."""
    if not picture.is_picture:
        return picture
    return Image.from_grid(picture.array, (*spacing, 1.0), (0.0, 0.0, 0.0), np.eye(3))


def plane_order(image: Image, other: Image) -> tuple[list[int], list[bool]] | None:
    """How to reorder the pixels of the 2D ``image`` into the in-plane order of the 2D ``other``, when both are placed
    in parallel planes: the axis order (``[1, 0, 2]`` swaps rows and columns) and which axes to flip after it; None
    when there is nothing to do (a picture has no place: its pixel order is all it has).

    Two files of one slice may hold the same anatomy in different pixel orders (columns stored right to left, rows
    and columns swapped); registered as pictures, an organ on the left matched one on the right.
    """
    if image.ndim != 2 or other.ndim != 2 or image.is_picture or other.is_picture:
        return None
    mine, theirs = image.volume().direction, other.volume().direction  # columns: where working i, j, k point
    if abs(mine[:, 2] @ theirs[:, 2]) < 0.99:  # not parallel planes: no pixel order matches
        return None
    dots = mine[:, :2].T @ theirs[:, :2]  # [mine, theirs]
    order = [1, 0, 2] if abs(dots[1, 0]) > abs(dots[0, 0]) else [0, 1, 2]
    flips = [bool(dots[order[axis], axis] < 0) for axis in (0, 1)] + [False]
    return (order, flips) if order != [0, 1, 2] or any(flips) else None


def slicer_plane_order(image: Image, other: Image) -> tuple[list[int], list[bool]] | None:
    """:func:`plane_order` as the Slicer module meets the two images: there a picture has a place
    (:func:`as_loaded_in_slicer`, at its own pixel size), so one is put in a mirrored or turned target's pixel order."""
    return plane_order(*(as_loaded_in_slicer(each, each.spacing[:2]) for each in (image, other)))


def reordered(image: Image, order: list[int], flips: list[bool]) -> Image:
    """A placed 2D ``image`` with its pixels reordered by :func:`plane_order`'s answer, each where it was."""
    import SimpleITK as sitk

    return Image.from_sitk(sitk.Flip(sitk.PermuteAxes(image.volume().to_sitk(), order), flips))


def orient_lps(image: Image) -> Image:
    """The same voxels reordered so i, j, k run to the patient's left, posterior and superior.

    Axial slices ``array[k]`` of the result show the radiological view whatever the
    file's voxel order; 2D images are returned unchanged.
    """
    if image.ndim == 2:
        return image
    import SimpleITK as sitk

    if lps_axes(image) == [(0, 1), (1, 1), (2, 1)]:
        return image  # already in that order: no copy (a CT of 300 MB took 1.2 s and two copies)
    return Image.from_sitk(sitk.DICOMOrient(image.to_sitk(), "LPS"))


def from_lps_order(image: Image, array: np.ndarray) -> np.ndarray:
    """An ``array`` on :func:`orient_lps` (``image``)'s grid with its voxels put back in ``image``'s own order
    (the inverse reordering, a view; 2D images and volumes stored in LPS order come back as they are)."""
    if image.ndim == 2:
        return array
    axes = lps_axes(image)
    for lps_axis, sign in axes:
        if sign < 0:
            array = np.flip(array, axis=2 - lps_axis)  # numpy axes run k, j, i
    return array.transpose([2 - axes[2 - axis][0] for axis in range(3)])


def lps_axes(image: Image) -> list[tuple[int, int]]:
    """For the voxel axes i, j, k of a volume: the patient axis each runs along (0 left-right, 1 front-back, 2 head-foot)
    and +1 where it runs towards the left, the back or the head (LPS), -1 the other way. The one rule for which way a
    volume's voxels run, :func:`orient_lps`'s (ITK's DICOM orientation; an oblique axis counts as its nearest; an
    axis exactly midway between two, turned 45 degrees, is told apart by the file's axis order, so such a volume
    stored in another order is reordered otherwise)."""
    import SimpleITK as sitk

    letters = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(np.asarray(image.direction, float).flatten().tolist())
    return [("LPS".find(letter) if letter in "LPS" else "RAI".find(letter), 1 if letter in "LPS" else -1) for letter in letters]


def nearest_voxel(image: Image, index) -> tuple[int, int, int]:
    """The voxel of ``image`` nearest a continuous (i, j, k) ``index``; one midway between two voxels goes to the one
    first in LPS voxel order (towards the patient's right, front or foot, as :func:`lps_axes` tells where the image
    lies), so a line drawn on a volume stored another way covers the same voxels in space."""
    signs = [sign for _, sign in lps_axes(image.volume())]
    return tuple(int(np.ceil(value - 0.5)) if sign > 0 else int(np.floor(value + 0.5)) for value, sign in zip(index, signs))


SAMPLE_VOXELS = 1_000_000
"""About this many voxels stand for a large image's intensities (:func:`voxel_sample`)."""


def voxel_sample(image: Image, count: int = SAMPLE_VOXELS) -> np.ndarray:
    """The values (flat) of every ``step``-th voxel along each axis, ``step`` the largest that leaves at least ``count``
    voxels, counted from the voxel nearest the patient's right, front and foot: a volume stored in any voxel order
    gives the same voxels (before, a flat stride in file order gave one CT stored LPS and PIR the SAM2 windows
    (-1024, 495) and (-1024, 496)). A 2D image is sampled in its own pixel order."""
    array = image.array
    step = max(1, int((array.size / count) ** (1 / image.ndim)))
    if image.ndim == 3:
        array = array[tuple(slice(None, None, lps_axes(image)[2 - a][1]) for a in range(3))]
    return (array[:, ::step, ::step] if image.ndim == 2 else array[::step, ::step, ::step]).ravel()


def orient_lps_mask(image: Image, mask: np.ndarray) -> np.ndarray:
    """A boolean ``mask`` on ``image``'s grid, its voxels reordered as :func:`orient_lps` reorders the image's."""
    return orient_lps(image.with_array(mask.astype(np.uint8))).array > 0


def colour_as_grey(channels: np.ndarray) -> np.ndarray:
    """The grey of colour voxels (last axis: grey + alpha, RGB or RGBA, 8 or 16 bits, at full depth), as a colour
    picture is stored in a file or a Slicer vector volume, so a colour volume reads as the picture file does.
    Other multi-component voxels (vectors, tensors) are refused, as are 2 components but in an 8-bit picture
    (grey + alpha; before, a 16-bit pair or a 2-layer segmentation was read as its first layer)."""
    if channels.dtype not in (np.uint8, np.uint16) or not 2 <= channels.shape[-1] <= 4:
        raise GeometryError(f"expected a scalar image or 8- or 16-bit colour, got {channels.shape[-1]} components per voxel of {channels.dtype}")
    several_slices = channels.ndim == 4 and min(channels.shape[:3]) > 1
    if channels.shape[-1] == 2 and (channels.dtype != np.uint8 or several_slices):
        kind = "a volume of several slices" if several_slices else f"{channels.dtype} voxels"
        raise GeometryError(f"expected a scalar image or colour, got 2 components per voxel in {kind}; grey + alpha is read "
                            "only in an 8-bit picture (a segmentation of several layers is no image to segment)")
    return luma(channels)


def luma(channels: np.ndarray) -> np.ndarray:
    """Grey levels of 8- or 16-bit colour voxels (last axis R, G, B[, A]; fewer than 3 channels: the first).

    ITU-R 601 luma in integers, bit-identical to Pillow's ``convert("L")`` for 8-bit colour, so a colour
    picture reads the same from a file and from a Slicer vector volume; 16 bits keep their depth, and equal
    channels (a grey saved as colour) keep their value.
    """
    if channels.shape[-1] < 3:
        return channels[..., 0]
    red, green, blue = (channels[..., c].astype(np.uint32) for c in range(3))  # 65535 * 65536 + 0x8000 < 2**32
    return ((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16).astype(channels.dtype)
