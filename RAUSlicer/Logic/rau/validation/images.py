"""Checks of images and label maps once read: voxels, geometry, label values, extents, and images given
in the wrong place (labels swapped with their image, a target as its own reference)."""

from __future__ import annotations

import filecmp
import hashlib
import math
import os
from pathlib import Path

import numpy as np

from rau.errors import InputError
from rau.image import common_frame
from rau.validation.nifti_pairs import nifti_files


MAX_LABEL_VALUES = 1000
"""A label map with more distinct values than this is taken for an intensity image."""
SWAP_SUSPECT_STRUCTURES = 64
"""Above this many structures, a label map is checked for being its image's grey values (see :func:`check_not_swapped`):
an 8-bit picture read as labels gives a hundred or more, while a digital phantom may have 20 organs of 4 intensities."""
LABEL_MAP_EVEN = 0.7
"""A label map holds one value across at least this share of its neighbouring voxels (:func:`even_share`): the real
ones of the dev sets 0.81 to 0.99 (AAL on Colin27 at 2 mm the least), their images 0.07 to 0.55 (HC18 the most)."""
MAX_LABEL_VALUE = (1 << 24) - 1
"""The largest label value: a label map stored as float32 holds every integer up to it exactly."""
PIXEL_SIZE_RANGE = (1e-6, 1e6)
"""Pixel sizes (mm) an image may have: a nanometre to a kilometre (larger ones overflow the physical extent)."""
DIRECTION_TOLERANCE = 1e-3
"""How far ``direction.T @ direction`` may stray from the identity."""


def check_image(image, path) -> None:
    """Real voxels, a grid that places them (:func:`check_geometry`: pixel sizes, origin, direction matrix), finite voxels."""
    if np.iscomplexobj(image.array):
        raise InputError(f"{path}: complex voxels (such as MR phase or raw data); save the magnitude as a real-valued image")
    check_geometry(image.spacing, image.origin, image.direction, path, image.ndim)
    if np.issubdtype(image.array.dtype, np.floating) and not np.isfinite(image.array).all():
        raise InputError(f"{path}: image holds NaN or infinite voxels")
    if image.array.dtype == np.float64 and image.array.size and np.abs(image.array).max() > np.finfo(np.float32).max:
        raise InputError(f"{path}: voxel values up to {np.abs(image.array).max():.3g} do not fit the 32-bit floats images are "
                         f"processed in (at most {np.finfo(np.float32).max:.3g}); rescale the image")


PLAUSIBLE_SPAN_MM = (5.0, 2500.0)
"""What a picture of anatomy spans along its longest side, in mm: a fetal-head ultrasound frame about 60 mm, an
angiogram 150 mm, a chest film 430 mm, a whole body 2 m. A pixel size given for a picture that puts it outside was
likely given in other units (metres, centimetres, or the inverse: pixels per mm)."""


def implausible_span_problem(image, path, pixel_size: float) -> str | None:
    """Why the pixel size given for a picture (``pixel_size`` mm) looks wrong: it would span less or more than
    :data:`PLAUSIBLE_SPAN_MM`; else None."""
    span = max(image.size[: image.ndim]) * pixel_size
    low, high = PLAUSIBLE_SPAN_MM
    if low <= span <= high:
        return None
    return (f"{path}: at the pixel size given ({pixel_size:g} mm) it spans {span:,.4g} mm along its longest side, while a "
            f"picture of anatomy spans {low:g} to {high:g} mm; is the pixel size in mm?")


MIN_MATCH_VOXELS = 3
"""An image is matched when at least two of its axes have this many voxels (a slab of 2 slices is; 2 x 2 x 2 is not)."""


def tiny_image_problem(image, what: str) -> str | None:
    """Why ``image`` (called ``what``) has too few voxels to be matched, else None."""
    size = image.size[: image.ndim]
    if sum(n >= MIN_MATCH_VOXELS for n in size) < 2:
        return (f"{what} has {' x '.join(map(str, size))} voxels, too few to hold anatomy to match (at least "
                f"{MIN_MATCH_VOXELS} along two of its axes)")
    return None


def blank_image_problem(image, what: str) -> str | None:
    """Why ``image`` (called ``what``) cannot be matched when it holds one value everywhere, else None."""
    array = image.array
    if array.size and array.min() == array.max():
        return f"{what} holds one value ({array.flat[0]:g}) everywhere: a blank image (a failed export?) has no anatomy to match"
    return None


def check_geometry(spacing, origin, direction, path, ndim: int) -> None:
    """A grid that places voxels: pixel sizes > 0 and, along its ``ndim`` axes, within :data:`PIXEL_SIZE_RANGE`, a
    finite origin, an orthonormal direction matrix (:func:`check_direction`); of an image, or of a header ITK refuses."""
    if any(not math.isfinite(s) or s <= 0 for s in spacing):
        raise InputError(f"{path}: pixel size {tuple(spacing)} must be positive")
    low, high = PIXEL_SIZE_RANGE
    if any(not low <= s <= high for s in spacing[:ndim]):
        raise InputError(f"{path}: pixel size {' x '.join(f'{s:g}' for s in spacing[:ndim])} mm is outside {low:g}..{high:g} mm")
    if not all(math.isfinite(v) for v in origin):
        raise InputError(f"{path}: origin {tuple(origin)} must be finite")
    check_direction(direction, path)


def check_direction(direction, path) -> None:
    """The direction matrix's columns are perpendicular unit vectors (within :data:`DIRECTION_TOLERANCE`); a singular
    one (two axes along one line, which ITK refuses to read with a row of the matrix for a reason) is said to be."""
    direction = np.asarray(direction, dtype=float)
    if np.allclose(direction.T @ direction, np.eye(len(direction)), atol=DIRECTION_TOLERANCE):
        return
    if abs(np.linalg.det(direction)) < DIRECTION_TOLERANCE:
        raise InputError(f"{path}: direction matrix {direction.round(4).tolist()} is singular (determinant 0): some of its axes "
                         "point along one line or plane (axes must be perpendicular unit vectors)")
    raise InputError(f"{path}: direction matrix {direction.round(4).tolist()} is not orthonormal (axes must be perpendicular unit vectors)")


def check_label_values(label_map, path) -> int:
    """Label values must be non-negative integers; returns how many structures (non-zero values) there are."""
    array = np.asarray(label_map.array)
    if np.issubdtype(array.dtype, np.floating) and not np.array_equal(np.rint(array), array):
        raise InputError(f"{path}: label map has non-integer values; is this an intensity image?")
    if array.size and array.min() < 0:
        raise InputError(f"{path}: label map has negative values (lowest {array.min():g}); labels must be 0 (background) or positive integers")
    if array.size and array.max() > MAX_LABEL_VALUE:
        raise InputError(f"{path}: label value {array.max():.0f} is too large; label values go up to {MAX_LABEL_VALUE}")
    distinct = _distinct_values(array) if array.size else 0
    if distinct > MAX_LABEL_VALUES:
        raise InputError(f"{path}: label map has more than {MAX_LABEL_VALUES} different values; is this an intensity image rather than labels?")
    return distinct - int(array.size > 0 and array.min() == 0)


EDGE_ONLY_MIN_VALUES = 4
"""A label picture with at least this many values is checked for values that lie only along edges (anti-aliasing)."""


def edge_only_values_problem(label_map, path) -> str | None:
    """What to tell the user when most values of a 2D label map lie only along edges (no pixel of theirs has four
    neighbours of its own value): the grey steps of an anti-aliased mask, smoothed or resized, or outlines, rather
    than filled regions; None otherwise. On the 60 ARCADE and 60 HC18 label pictures here no value does."""
    if label_map.ndim != 2 or label_map.array.size == 0:
        return None
    array = np.asarray(label_map.array)[0]  # a 2D image's one slice
    values = np.unique(array[array != 0])
    if len(values) < EDGE_ONLY_MIN_VALUES:
        return None
    inner = array[1:-1, 1:-1]
    surrounded = (inner == array[:-2, 1:-1]) & (inner == array[2:, 1:-1]) & (inner == array[1:-1, :-2]) & (inner == array[1:-1, 2:])
    edge_only = len(values) - len(np.unique(inner[surrounded & (inner != 0)]))
    if 2 * edge_only <= len(values):
        return None
    return (f"{path}: {edge_only} of its {len(values)} label values lie only along edges (no pixel of theirs inside a region "
            "of its own): an anti-aliased mask (smoothed, or resized with interpolation), or outlines? Each becomes a "
            "structure; labels must be filled regions saved without smoothing (nearest-neighbour when resizing)")


def _distinct_values(array: np.ndarray) -> int:
    """How many different non-negative integer values ``array`` holds (slice by slice, no sorting)."""
    top = int(array.max())
    seen = np.zeros(top + 1, bool)
    for plane in array:
        seen[plane.astype(np.int64, copy=False)] = True
    return int(np.count_nonzero(seen))


def world_extent(image) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest LPS corner of the region the image's voxels cover."""
    ndim = image.ndim
    corners = np.array(np.meshgrid(*[[-0.5, s - 0.5] for s in image.size])).reshape(3, -1).T
    if ndim == 2:
        corners[:, 2] = 0
    points = image.to_world(corners)
    return points.min(axis=0), points.max(axis=0)


def check_same_extent(image, labels, image_path, labels_path, units=None) -> None:
    """The label map covers the image's physical region (a ``.seg.nrrd`` need only hold its labelled voxels inside:
    :func:`check_labelled_inside`).

    Tolerance: :func:`edge_tolerance`. ``units()``: what the image's and the labels' extents are said
    in when they differ (``px`` for one without a pixel size, read as 1 mm pixels); without it, mm both.
    """
    the_image = f"the image {Path(image_path).name}" if image_path else "the image"
    if image.ndim != labels.ndim:
        raise InputError(f"{labels_path}: labels are {labels.ndim}D but {the_image} is {image.ndim}D")
    image, labels = common_frame(image, labels)  # a placed 2D image is compared where it lies, as resampling does
    tolerance = edge_tolerance(image.spacing[: image.ndim], labels.spacing[: labels.ndim])
    axes = slice(0, 2) if image.ndim == 2 else slice(0, 3)  # a picture has no extent across its plane
    image_low, image_high = (corner[axes] for corner in world_extent(image))
    label_low, label_high = (corner[axes] for corner in world_extent(labels))
    fits = np.allclose(image_low, label_low, atol=tolerance) and np.allclose(image_high, label_high, atol=tolerance)
    axis_turns = np.abs(image.direction[:, axes].T @ labels.direction[:, axes])  # a permutation when the grids are only flipped or reordered
    if not fits and not np.allclose(axis_turns, np.round(axis_turns), atol=1e-3):
        raise InputError(
            f"{labels_path}: labels lie on a grid turned against {the_image}'s, so they cannot cover the same region; save them on "
            "the image's grid (Slicer: export the segmentation to a label map with the image as reference geometry) or as a .seg.nrrd"
        )
    if not fits:
        image_unit, label_unit = units() if units else ("mm", "mm")
        if image_unit != label_unit:  # extents in px and in mm do not compare: their pixels do
            raise InputError(
                f"{labels_path}: labels are {_pixels(labels, label_unit)} but {the_image} is {_pixels(image, image_unit)}; "
                "are they the same picture, with the same rows, columns and pixel size?"
            )
        raise InputError(
            f"{labels_path}: labels cover {_box(label_low, label_high)} {label_unit} but {the_image} covers "
            f"{_box(image_low, image_high)} {image_unit}; are they the same picture, at the same pixel size and position?"
        )


def check_labelled_inside(image, labels, labelled, image_path, labels_path) -> None:
    """The labelled voxels (``labelled``, a mask on the grid ``labels``, 2D or 3D) lie inside ``image``, measured in the
    image's own voxel grid, as the Slicer module checks a segment (:func:`reach_outside`): a segmentation's grid may
    be larger than the image, or turned against it, with empty margins and corners."""
    rows = np.argwhere(labelled.any(axis=2))  # (k, j) of rows holding labelled voxels: their two ends bound the rest
    if not len(rows):
        return
    labels = labels.volume()  # a 2D grid where it lies in the world
    along = labelled[rows[:, 0], rows[:, 1]]
    first, last = along.argmax(axis=1), along.shape[1] - 1 - along[:, ::-1].argmax(axis=1)
    ends = np.concatenate([np.column_stack([first, rows[:, 1], rows[:, 0]]), np.column_stack([last, rows[:, 1], rows[:, 0]])])
    reach = reach_outside(image, image.volume().to_index(labels.to_world(ends)), max(labels.spacing))
    tolerance = edge_tolerance(image.volume().spacing, labels.spacing)
    if reach > tolerance:
        the_image = f"the image {Path(image_path).name}" if image_path else "the image"
        raise InputError(f"{labels_path}: labelled voxels reach {reach:.1f} mm outside {the_image}; are they the labels of that image, "
                         "at its pixel size and position?")


def edge_tolerance(*spacings) -> float:
    """How far (mm) labels may reach past an image's edge and still count as inside it: half the coarsest voxel of
    the grids whose pixel sizes (mm) are ``spacings``, plus 0.001 mm for rounding. The command line and the Slicer
    module both measure with it."""
    return 0.5 * max(max(spacing) for spacing in spacings) + 1e-3


def reach_outside(image, ijk, voxel: float) -> float:
    """How far (mm) voxels of size ``voxel`` (mm) centred at continuous indices ``ijk`` ((N, 3)) of ``image``'s placed
    grid (:meth:`rau.image.Image.volume`) reach beyond its voxels: the farthest centre's distance per axis plus half a
    voxel; 0 for none."""
    if not len(ijk):
        return 0.0
    volume = image.volume()
    beyond = np.maximum(-0.5 - ijk, 0) + np.maximum(ijk - (np.array(volume.size) - 0.5), 0)
    return float((beyond * np.array(volume.spacing)).max()) + 0.5 * voxel


def same_file(first, second) -> bool:
    """True when two paths name one file or folder (the same path once links are resolved, or a hard link), NIfTI
    pairs that share a file (:func:`~rau.validation.nifti_pairs.nifti_files`): a pair's header and its voxels are one
    image, or DICOM folders whose series are the same slice files (:func:`_series_slices`), whatever else lies beside
    them."""
    first, second = Path(first), Path(second)
    if _one_file(first, second):
        return True
    if first.is_dir() or second.is_dir():
        slices = _series_slices(first), _series_slices(second)
        return all(slices) and _file_ids(slices[0]) == _file_ids(slices[1])
    return any(_one_file(one, other) for one in set(nifti_files(first)) for other in set(nifti_files(second)))


def _series_slices(path) -> list[Path]:
    """The slice files of the DICOM series that a folder ``path`` holds, as reading it takes them
    (:func:`rau.io.dicom.image_files`): none for a folder of no one series; a file stands for itself."""
    from rau.io.dicom import image_files  # here: rau.io.dicom imports this module

    return image_files(path)


def _file_ids(paths) -> set[tuple[int, int]]:
    """Which files ``paths`` are, however they are named (links followed): their devices and inodes."""
    return {(status.st_dev, status.st_ino) for status in map(os.stat, paths)}


def _one_file(first: Path, second: Path) -> bool:
    """True when two paths name one file or folder: the same path once links are resolved, or a hard link."""
    try:
        return first.resolve() == second.resolve() or os.path.samefile(first, second)
    except OSError:
        return False


def same_bytes(first, second) -> bool:
    """Two files of the same bytes (for NIfTI pairs, both their headers and their voxels: :func:`~rau.validation.
    nifti_pairs.nifti_files`), two DICOM series whose slices hold the same bytes whatever their names and whatever
    else lies beside them (:func:`_series_slices`), or two other folders whose files have the same names and bytes."""
    first, second = Path(first), Path(second)
    if first.is_dir() or second.is_dir():
        slices = _series_slices(first), _series_slices(second)
        if all(slices):
            return len(slices[0]) == len(slices[1]) and _contents(slices[0]) == _contents(slices[1])
    if first.is_dir() and second.is_dir():
        names = sorted(path.name for path in first.iterdir() if path.is_file())
        return bool(names) and names == sorted(path.name for path in second.iterdir() if path.is_file()) and all(
            same_bytes(first / name, second / name) for name in names)
    return all(_same_file_bytes(one, other) for one, other in dict.fromkeys(zip(nifti_files(first), nifti_files(second))))


def _contents(paths) -> list[str]:
    """The SHA-256s of the files ``paths``, sorted: their contents whatever their names."""
    return sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in paths)


def _same_file_bytes(first: Path, second: Path) -> bool:
    """Two files of the same bytes."""
    return (first.is_file() and second.is_file() and first.stat().st_size == second.stat().st_size
            and filecmp.cmp(first, second, shallow=False))


def check_distinct_files(image_path, labels_path, where: str = "") -> None:
    """Refuse an image given as its own labels, the same file or a copy of it (a common slip that would make every
    grey value a structure; a server's uploads are always copies). ``where`` prefixes the message (a manifest line)."""
    if same_file(image_path, labels_path):
        raise InputError(f"{where}{labels_path}: the labels are the image file itself; give the label map or segmentation")
    if same_bytes(image_path, labels_path):
        raise InputError(f"{where}{labels_path}: the labels are a copy of the image {image_path}; give the label map or segmentation")


def even_share(array: np.ndarray) -> float:
    """The share of neighbouring voxel pairs (along rows, columns and slices), both 0 left out, that hold one value:
    near 1 in a label map, whose structures are even regions; lower in an image, whose grey values vary from voxel
    to voxel (1 when every pair is 0)."""
    same = counted = 0
    for axis in range(array.ndim):
        first = array[(slice(None),) * axis + (slice(None, -1),)]
        second = array[(slice(None),) * axis + (slice(1, None),)]
        labelled = (first != 0) | (second != 0)
        counted += np.count_nonzero(labelled)
        same += np.count_nonzero(labelled & (first == second))
    return same / counted if counted else 1.0


def check_not_swapped(image, label_map, structures: int, image_path, labels_path) -> None:
    """Refuse a label map of more ``structures`` (its non-zero values, as :func:`check_label_values` counts them) than
    :data:`SWAP_SUSPECT_STRUCTURES` whose values lie scattered as an image's grey values do (:data:`LABEL_MAP_EVEN`),
    more so than its image's: an image and its label map given the other way round, which would make every grey
    value a structure. Checked before a mask is made for each. (Before, it refused labels outnumbering the image's
    grey values, and so Colin27's 8-bit T1 of 81 grey values with the 116 regions of AAL.)"""
    if structures <= SWAP_SUSPECT_STRUCTURES:
        return
    labels_even = even_share(np.asarray(label_map.array))
    if labels_even >= LABEL_MAP_EVEN:
        return
    image_even = even_share(np.asarray(image.array))
    if image_even > labels_even:
        image = f"the image {image_path}" if image_path else "its image"
        raise InputError(f"{labels_path}: its {structures} label values lie scattered as grey values do (only {labels_even:.0%} of "
                         f"neighbouring voxels share a value, {image_even:.0%} in {image}); are the image and its labels swapped?")


def check_not_target(reference, target, what: str, copies: bool = False) -> None:
    """Refuse a reference image that is the target file itself (:func:`same_file`): its labels would be the
    answer. ``copies``: also a copy of it (the same bytes), where its labels would be the truth (an evaluation).
    ``what`` says how the user named the reference (an option, a bank or manifest row)."""
    if same_file(reference, target):
        raise InputError(f"{what} is the target {target} itself; a target cannot be its own reference, leave it out")
    if copies and same_bytes(reference, target):
        raise InputError(f"{what} is a copy of the target {target} (the same bytes); a target cannot be its own reference, leave it out")


def _pixels(image, unit: str) -> str:
    """The pixels of ``image`` (width x height) and their size, in words: ``a picture of 800x540 px without a pixel
    size`` (``unit`` px: it has none), or ``540x800 px of 0.2x0.1 mm``."""
    pixels = "x".join(str(count) for count in image.size[: image.ndim])
    if unit == "px":
        return f"a picture of {pixels} px without a pixel size"
    return f"{pixels} px of {'x'.join(f'{size:g}' for size in image.spacing[: image.ndim])} mm"


def _box(low, high) -> str:
    def mm(value: float) -> str:
        return f"{round(float(value), 1) + 0.0:.1f}"  # + 0.0: no "-0.0"

    return "[" + ", ".join(f"{mm(a)}..{mm(b)}" for a, b in zip(low, high)) + "]"
