"""Input validation: the one home of every check on options, files, geometry, labels and
manifest rows. Readers and commands call these before any computation; each failure is an
:class:`~rau.errors.InputError` whose message names the option, file or row and the problem.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import filecmp
import gzip
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from rau.errors import InputError, OptionError
from rau.image import common_frame

MAX_PICTURE_PIXELS = 100_000_000
"""Pictures whose header claims more pixels are refused before decoding (decompression bombs)."""
MAX_LABEL_VALUES = 1000
"""A label map with more distinct values than this is taken for an intensity image."""
SWAP_SUSPECT_STRUCTURES = 64
"""Above this many structures, labels must not outnumber their image's grey values (see :func:`check_not_swapped`):
an 8-bit picture read as labels gives a hundred or more, while a digital phantom may have 20 organs of 4 intensities."""
MAX_LABEL_VALUE = (1 << 24) - 1
"""The largest label value: a label map stored as float32 holds every integer up to it exactly."""
PIXEL_SIZE_RANGE = (1e-6, 1e6)
"""Pixel sizes (mm) an image may have: a nanometre to a kilometre (larger ones overflow the physical extent)."""
DIRECTION_TOLERANCE = 1e-3
"""How far ``direction.T @ direction`` may stray from the identity."""
NIFTI_SUFFIXES = (".nii", ".nii.gz")
MAX_PORT = 65535


# --- options --------------------------------------------------------------------------
def positive_number(value, option: str) -> float:
    """``value`` as a finite number > 0, else :class:`OptionError` naming ``option``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise OptionError(f"{option} must be a positive number, got {value!r}")
    return number


def positive_integer(value, option: str) -> int:
    """``value`` as an integer >= 1, else :class:`OptionError` naming ``option``."""
    return whole_number(value, option, minimum=1)


def non_negative_integer(value, option: str) -> int:
    """``value`` as an integer >= 0, else :class:`OptionError` naming ``option``."""
    return whole_number(value, option, minimum=0)


def non_negative_number(value, option: str) -> float:
    """``value`` as a finite number >= 0, else :class:`OptionError` naming ``option``."""
    number = finite_number(value, option)
    if number < 0:
        raise OptionError(f"{option} must be at least 0, got {value!r}")
    return number


def port_number(value, option: str) -> int:
    """``value`` as a TCP port, 1 to :data:`MAX_PORT`, else :class:`OptionError` naming ``option``."""
    return whole_number(value, option, minimum=1, maximum=MAX_PORT)


def host_address(value, option: str) -> str:
    """``value`` as an address to listen on: an IPv6 address in its URL form (``[::1]``, as a server prints it) loses
    its brackets; an empty one is refused (every interface is 0.0.0.0), as :class:`OptionError` naming ``option``."""
    host = str(value).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise OptionError(f"{option} is empty; give an address: 127.0.0.1 or ::1 (this machine only), 0.0.0.0 (every interface)")
    return host


def whole_number(value, option: str, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an integer from ``minimum`` (to ``maximum`` when given), else :class:`OptionError` naming ``option``."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a whole number, got {value!r}") from None
    if maximum is not None and not minimum <= number <= maximum:
        raise OptionError(f"{option} must be from {minimum} to {maximum}, got {value!r}")
    if number < minimum:
        raise OptionError(f"{option} must be at least {minimum}, got {value!r}")
    return number


def finite_number(value, option: str) -> float:
    """``value`` as a finite number, else :class:`OptionError` naming ``option``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise OptionError(f"{option} must be a finite number, got {value!r}")
    return number


def check_window(window, option: str = "--window") -> tuple[float, float] | None:
    """An intensity window ``(low, high)`` with low < high (None passes)."""
    if window is None:
        return None
    low, high = (finite_number(v, option) for v in window)
    if low >= high:
        raise OptionError(f"{option} needs LOW < HIGH, got {low:g} {high:g}")
    return low, high


def device_name(value, option: str = "--device") -> str:
    """A torch device: auto, cpu, mps, cuda or cuda:N."""
    text = str(value).strip().lower()
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise OptionError(f"{option} must be auto, cpu, cuda, cuda:N or mps, got {value!r}")
    return text


def non_empty_path(value, option: str) -> str:
    """A path (or model name, or address) that is not empty: ``Path("")`` would silently mean the current folder, or nothing.
    A leading ``~`` is the home folder, also where the shell leaves it (``--out=~/x.png``)."""
    if not str(value).strip():
        raise OptionError(f"{option} must not be empty, got {value!r}")
    return os.path.expanduser(value) if str(value).startswith("~") else value


def argument(check, option: str):
    """An argparse ``type=`` callable: ``check(text, option)``, its message shown by argparse (which names
    the option first, so the message's own leading name is dropped)."""

    def convert(text):
        try:
            return check(text, option)
        except OptionError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{option} ")) from None

    convert.__name__ = check.__name__
    return convert


# --- files ------------------------------------------------------------------------------
def is_nifti(path) -> bool:
    return Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def check_nifti(path) -> None:
    """Refuse a truncated NIfTI file, zero or negative pixel sizes, a sheared sform, and NaN or infinite voxels."""
    import nibabel
    from nibabel.openers import ImageOpener

    path = Path(path)
    try:
        nifti = nibabel.load(str(path))
    except Exception as error:  # nibabel raises many types for a broken header
        raise InputError(f"{path}: not a readable image (NIfTI: {error})") from None
    if isinstance(nifti, nibabel.Nifti2Image):  # ITK reads NIfTI-1 only and would say it cannot find a reader
        raise InputError(f"{path}: a NIfTI-2 file; save it as NIfTI-1 (e.g. nibabel.Nifti1Image(...), or Slicer's Save)")
    with ImageOpener(str(path)) as stream:  # the header as written: nibabel.load turns pixdim 0 into 1
        header = type(nifti.header).from_fileobj(stream, check=False)
    dims = int(header["dim"][0])
    pixdim = [float(p) for p in header["pixdim"][1 : 1 + min(dims, 3)]]
    if any(not math.isfinite(p) or p <= 0 for p in pixdim):
        raise InputError(f"{path}: header gives pixel size {pixdim}; every pixel size must be positive")
    expected, available = nifti_bytes(path, header)
    if available < expected:
        raise InputError(f"{path}: file is truncated (header promises {expected} bytes, file holds {available})")
    if int(header["sform_code"]) == NIFTI_SCANNER_ANAT and _sheared(header.get_sform()[:3, :3]):
        raise InputError(f"{path}: its scanner sform (the affine that places the voxels) is sheared or skewed, and ITK "
                         "would place the voxels by its qform instead; resample it onto a rectangular grid first")
    check_sform_followed(path, header, nifti.shape)
    if np.issubdtype(header.get_data_dtype(), np.floating):  # SimpleITK would turn NaN into 0: look here
        if not np.isfinite(np.asanyarray(nifti.dataobj)).all():
            raise InputError(f"{path}: image holds NaN or infinite voxels")


def check_sform_followed(path: Path, header, shape) -> None:
    """Where ITK (so RAUSlicer and Slicer) places a NIfTI's voxels elsewhere than its sform, which nibabel, FSL and SPM
    follow: warn when ITK follows a qform that disagrees (both set, neither a scanner sform), refuse when it should
    have followed the sform (the only one set, or a scanner sform) but did not: pixel sizes (pixdim) left behind when
    the sform was edited alone, which ITK takes as the spacing."""
    sform_code, qform_code = int(header["sform_code"]), int(header["qform_code"])
    if sform_code <= 0:
        return
    gap = _itk_gap_to_sform(path, header, shape)
    if gap <= SFORM_QFORM_GAP_MM:
        return
    dimension = min(len(shape), 3)
    scales = [float(v) for v in np.linalg.norm(header.get_sform()[:3, :dimension], axis=0)]
    if qform_code > 0 and sform_code != NIFTI_SCANNER_ANAT:
        print(f"warning: {path}: its sform (code {sform_code}) and qform (code {qform_code}) disagree; RAUSlicer places the "
              f"voxels by the qform, as ITK and Slicer do, up to {gap:.3g} mm from where nibabel, FSL and SPM put them (by the sform)",
              file=sys.stderr)
        return
    if gap <= MISPLACED_VOXELS * min(scales):  # a slight skew ITK straightens: within a voxel, as before
        return
    pixdim = [float(p) for p in header["pixdim"][1 : 1 + dimension]]
    if not np.allclose(pixdim, scales, rtol=1e-4):
        why = f"its pixel sizes (pixdim {' x '.join(f'{p:g}' for p in pixdim)}) disagree with its sform's ({' x '.join(f'{v:.4g}' for v in scales)} mm)"
        fix = "save it with pixel sizes that match its sform (nibabel: img.update_header())"
    else:
        why, fix = "its sform is not a rotation and scaling", "resample it onto a rectangular grid first"
    raise InputError(f"{path}: {why}, so ITK and Slicer would place the voxels up to {gap:.3g} mm from where its sform (code {sform_code}) "
                     f"puts them, as nibabel, FSL and SPM do; {fix}")


@contextlib.contextmanager
def itk_warnings_off():
    """ITK's console warnings (with its build paths) silenced inside the block: rau says what matters in its own words."""
    import SimpleITK as sitk

    previous = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(previous)


def _itk_gap_to_sform(path: Path, header, shape) -> float:
    """How far (mm, at the corners) ITK places a NIfTI's voxels from where its sform does; ITK's own warnings are not printed."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    with itk_warnings_off():  # "unexpected scales in sform": said here in the user's words
        reader.ReadImageInformation()
    dimension = min(reader.GetDimension(), 3)
    itk = np.eye(4)
    linear = np.reshape(reader.GetDirection(), (reader.GetDimension(),) * 2)[:dimension, :dimension] * reader.GetSpacing()[:dimension]
    itk[:dimension, :dimension], itk[:dimension, 3] = linear, reader.GetOrigin()[:dimension]
    sform = np.diag([-1.0, -1.0, 1.0, 1.0]) @ header.get_sform()  # RAS -> LPS, as ITK's
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, (shape[2] if len(shape) > 2 else 1) - 1)])
    return float(np.abs(corners @ (sform - itk).T)[:, :dimension].max())  # a 2D file has no place along z in ITK


MISPLACED_VOXELS = 0.5
"""How far (in voxels) ITK may place a NIfTI's voxels from the sform it should follow before the file is refused."""
SFORM_QFORM_GAP_MM = 0.01
"""How far (mm) ITK may place a NIfTI's voxels from its sform before :func:`check_sform_followed` says so."""
NIFTI_SCANNER_ANAT = 1
"""The sform code ITK follows whenever the sform is rectangular (other codes may give way to the qform)."""


def _sheared(linear: np.ndarray) -> bool:
    """Whether a 3x3 voxel-to-world matrix is not a rotation times pixel sizes (or has an axis of length 0)."""
    lengths = np.linalg.norm(linear, axis=0)
    if np.any(lengths == 0):
        return True
    direction = linear / lengths
    return not np.allclose(direction.T @ direction, np.eye(3), atol=DIRECTION_TOLERANCE)


def nifti_bytes(path: Path, header=None) -> tuple[int, int]:
    """The bytes a NIfTI file's header promises (header and voxels) and those the file holds (uncompressed)."""
    if header is None:
        import nibabel
        from nibabel.openers import ImageOpener

        try:
            with ImageOpener(str(path)) as stream:
                header = nibabel.Nifti1Header.from_fileobj(stream, check=False)
        except Exception as error:  # a header cut short: nibabel and gzip raise several types
            raise InputError(f"{path}: not a whole NIfTI header ({type(error).__name__}: {error})") from None
    expected = int(header.get_data_offset()) + int(np.prod(header.get_data_shape())) * header.get_data_dtype().itemsize
    available = _gzip_length(path) if path.name.lower().endswith(".gz") else path.stat().st_size
    return expected, available


def _gzip_length(path: Path) -> int:
    """The decompressed length of a gzip file; a stream cut short is an error."""
    length = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 22):
                length += len(chunk)
    except (EOFError, OSError, gzip.BadGzipFile) as error:
        raise InputError(f"{path}: file is truncated or damaged ({error})") from None
    return length


def check_picture_size(path, width: int, height: int) -> None:
    """Refuse pictures whose header claims more than :data:`MAX_PICTURE_PIXELS` pixels."""
    if width * height > MAX_PICTURE_PIXELS:
        raise picture_too_large(path, f"{width}x{height}")


def picture_too_large(path, claim: str) -> InputError:
    """The error for a picture whose header claims ``claim`` pixels, beyond :data:`MAX_PICTURE_PIXELS`."""
    return InputError(f"{path}: picture claims {claim} pixels, more than the limit of {MAX_PICTURE_PIXELS:,}")


# --- images and label maps -----------------------------------------------------------------
def check_image(image, path) -> None:
    """Real voxels, pixel sizes > 0 and within :data:`PIXEL_SIZE_RANGE`, a finite origin, an orthonormal direction
    matrix, finite voxels."""
    if np.iscomplexobj(image.array):
        raise InputError(f"{path}: complex voxels (such as MR phase or raw data); save the magnitude as a real-valued image")
    if any(not math.isfinite(s) or s <= 0 for s in image.spacing):
        raise InputError(f"{path}: pixel size {image.spacing} must be positive")
    low, high = PIXEL_SIZE_RANGE
    if any(not low <= s <= high for s in image.spacing[: image.ndim]):
        raise InputError(f"{path}: pixel size {' x '.join(f'{s:g}' for s in image.spacing[: image.ndim])} mm is outside {low:g}..{high:g} mm")
    if not all(math.isfinite(v) for v in image.origin):
        raise InputError(f"{path}: origin {image.origin} must be finite")
    check_direction(image.direction, path)
    if np.issubdtype(image.array.dtype, np.floating) and not np.isfinite(image.array).all():
        raise InputError(f"{path}: image holds NaN or infinite voxels")
    if image.array.dtype == np.float64 and image.array.size and np.abs(image.array).max() > np.finfo(np.float32).max:
        raise InputError(f"{path}: voxel values up to {np.abs(image.array).max():.3g} do not fit the 32-bit floats images are "
                         f"processed in (at most {np.finfo(np.float32).max:.3g}); rescale the image")


def check_direction(direction, path) -> None:
    """The direction matrix's columns are perpendicular unit vectors (within :data:`DIRECTION_TOLERANCE`)."""
    direction = np.asarray(direction, dtype=float)
    if not np.allclose(direction.T @ direction, np.eye(3), atol=DIRECTION_TOLERANCE):
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


def check_same_extent(image, labels, image_path, labels_path, inside_only: bool = False) -> None:
    """The label map covers the image's physical region (or lies inside it when ``inside_only``).

    Tolerance: half the coarsest voxel of either grid.
    """
    the_image = f"the image {Path(image_path).name}" if image_path else "the image"
    if image.ndim != labels.ndim:
        raise InputError(f"{labels_path}: labels are {labels.ndim}D but {the_image} is {image.ndim}D")
    image, labels = common_frame(image, labels)  # a placed 2D image is compared where it lies, as resampling does
    tolerance = 0.5 * max(max(image.spacing[: image.ndim]), max(labels.spacing[: labels.ndim])) + 1e-3
    axes = slice(0, 2) if image.ndim == 2 else slice(0, 3)  # a picture has no extent across its plane
    image_low, image_high = (corner[axes] for corner in world_extent(image))
    label_low, label_high = (corner[axes] for corner in world_extent(labels))
    if inside_only:
        fits = np.all(label_low >= image_low - tolerance) and np.all(label_high <= image_high + tolerance)
    else:
        fits = np.allclose(image_low, label_low, atol=tolerance) and np.allclose(image_high, label_high, atol=tolerance)
    axis_turns = np.abs(image.direction[:, axes].T @ labels.direction[:, axes])  # a permutation when the grids are only flipped or reordered
    if not fits and not inside_only and not np.allclose(axis_turns, np.round(axis_turns), atol=1e-3):
        raise InputError(
            f"{labels_path}: labels lie on a grid turned against {the_image}'s, so they cannot cover the same region; save them on "
            "the image's grid (Slicer: export the segmentation to a label map with the image as reference geometry) or as a .seg.nrrd"
        )
    if not fits:
        raise InputError(
            f"{labels_path}: labels cover {_box(label_low, label_high)} mm but {the_image} covers "
            f"{_box(image_low, image_high)} mm; are they the same picture, at the same pixel size and position?"
        )


def check_labelled_inside(image, labels, labelled, image_path, labels_path) -> None:
    """The labelled voxels (``labelled``, a mask on the 3D grid ``labels``) lie inside ``image``, measured in the
    image's own voxel grid, as the Slicer module checks a segment (:func:`reach_outside`): a segmentation's grid may
    be larger than the image, or turned against it, with empty margins and corners."""
    rows = np.argwhere(labelled.any(axis=2))  # (k, j) of rows holding labelled voxels: their two ends bound the rest
    if not len(rows):
        return
    along = labelled[rows[:, 0], rows[:, 1]]
    first, last = along.argmax(axis=1), along.shape[1] - 1 - along[:, ::-1].argmax(axis=1)
    ends = np.concatenate([np.column_stack([first, rows[:, 1], rows[:, 0]]), np.column_stack([last, rows[:, 1], rows[:, 0]])])
    reach = reach_outside(image, image.volume().to_index(labels.to_world(ends)), max(labels.spacing))
    tolerance = 0.5 * max(max(image.volume().spacing), max(labels.spacing)) + 1e-3
    if reach > tolerance:
        the_image = f"the image {Path(image_path).name}" if image_path else "the image"
        raise InputError(f"{labels_path}: labelled voxels reach {reach:.1f} mm outside {the_image}; are they the labels of that image, "
                         "at its pixel size and position?")


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
    """True when two paths name one file or folder: the same path once links are resolved, or a hard link."""
    try:
        return Path(first).resolve() == Path(second).resolve() or os.path.samefile(first, second)
    except OSError:
        return False


def check_distinct_files(image_path, labels_path) -> None:
    """Refuse an image given as its own labels, the same file or a copy of it (a common slip that would make every
    grey value a structure; a server's uploads are always copies)."""
    if same_file(image_path, labels_path):
        raise InputError(f"{labels_path}: the labels are the image file itself; give the label map or segmentation")
    if Path(image_path).is_file() and Path(labels_path).is_file() and filecmp.cmp(image_path, labels_path, shallow=False):
        raise InputError(f"{labels_path}: the labels are a copy of the image {image_path}; give the label map or segmentation")


def check_not_swapped(image, structures: int, image_path, labels_path) -> None:
    """Refuse a label map with more ``structures`` (its non-zero values, as :func:`check_label_values` counts them;
    over :data:`SWAP_SUSPECT_STRUCTURES`) than its image has grey values: an image and its label map given the other
    way round, which would make every grey value a structure. Checked before a mask is made for each."""
    if structures <= SWAP_SUSPECT_STRUCTURES:
        return
    grey = np.asarray(image.array).ravel()
    grey_values = len(np.unique(grey[:: max(1, grey.size // 1_000_000)]))  # a strided sample: a real image has many
    if grey_values < structures:
        image = f"the image {image_path}" if image_path else "its image"
        raise InputError(f"{labels_path}: its {structures} label values outnumber the {grey_values} grey values of {image}; "
                         "are the image and its labels swapped?")


def check_not_target(reference, target, what: str) -> None:
    """Refuse a reference image that is the target file itself (:func:`same_file`): its labels would be the
    answer. ``what`` says how the user named the reference (an option, a bank or manifest row)."""
    if same_file(reference, target):
        raise InputError(f"{what} is the target {target} itself; a target cannot be its own reference, leave it out")


def _box(low, high) -> str:
    def mm(value: float) -> str:
        return f"{round(float(value), 1) + 0.0:.1f}"  # + 0.0: no "-0.0"

    return "[" + ", ".join(f"{mm(a)}..{mm(b)}" for a, b in zip(low, high)) + "]"


# --- manifests ------------------------------------------------------------------------------
def read_table(path, required: tuple[str, ...], what: str, optional: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """Rows of a CSV (a UTF-8 byte order mark is fine) as ``(line number, row)``.

    Missing or repeated columns, a column a letter or two from a ``required`` or ``optional`` one (a typo:
    other columns, such as notes, are allowed), short or long rows and empty required fields raise naming
    file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} " + ("is a folder, not a CSV file" if path.is_dir() else "does not exist"))
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            if not columns:
                raise InputError(f"{path}: {what} is empty; its first line names the columns ({', '.join(required)})")
            check_comma_separated(columns, path, what)
            check_columns(columns, (*required, *optional), path, what)
            missing = [c for c in required if c not in columns]
            if missing:
                raise InputError(f"{path}: {what} lacks column(s) {', '.join(missing)}")
            reader.fieldnames = columns
            rows = []
            for row in reader:
                line = reader.line_num
                cells = [cell for key, value in row.items() for cell in (value if key is None else [value])]
                if not any((cell or "").strip() for cell in cells):  # a spreadsheet's row of empty cells
                    continue
                if None in row:
                    raise InputError(f"{path} line {line}: more fields than the {len(columns)} columns")
                if any(value is None for value in row.values()):
                    raise InputError(f"{path} line {line}: row has fewer fields than the {len(columns)} columns")
                empty = [c for c in required if not row[c].strip()]
                if empty:
                    raise InputError(f"{path} line {line}: empty {', '.join(empty)}")
                rows.append((line, {k: v.strip() for k, v in row.items()}))
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: {what} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise InputError(f"{path}: {what} is not a readable CSV ({error})") from None
    if not rows:
        raise InputError(f"{path}: {what} lists nothing")
    return rows


def check_columns(columns: list[str], known: tuple[str, ...], path, what: str) -> None:
    """No column named twice (a reader would keep the last), none a typo of a ``known`` one."""
    import difflib

    repeated = sorted({c for c in columns if c and columns.count(c) > 1})  # a spreadsheet's empty trailing cells are no columns
    if repeated:
        raise InputError(f"{path}: {what} names the column {repeated[0]!r} twice")
    for column in columns:
        close = difflib.get_close_matches(column, known, n=1, cutoff=0.85)
        if column not in known and close:
            raise InputError(f"{path}: column {column!r} is not one rau reads; did you mean {close[0]!r}?")


def check_comma_separated(columns: list[str], path, what: str) -> None:
    """A table saved with semicolons (a common spreadsheet export) reads as one column; say so."""
    if len(columns) == 1 and ";" in columns[0]:
        raise InputError(f"{path}: {what} columns are separated by ';'; save it with commas (CSV), decimals with a point")


def spacing_field(row: dict, column: str, path, line: int) -> float | None:
    """An optional pixel-size field of a manifest row: empty, or a positive number."""
    text = row.get(column) or ""
    if not text:
        return None
    try:
        return positive_number(text, column)
    except OptionError as error:
        raise InputError(f"{path} line {line}: {error}") from None


def check_pixel_sizes(inputs: list[tuple[str, object, float | None]], where: str = "") -> None:
    """2D pictures (PNG, JPEG ...) carry no pixel size, nor do some DICOM files (an ultrasound frame that keeps it
    only in its regions' calibration): give it for every such input (mm) or for none (all then work in pixels). A
    mix would compare millimetres with pixels and register nonsense, and so would pictures in pixels beside a file
    whose header gives pixels of another size (a 1-slice NIfTI in mm).

    ``inputs``: (how the user named it, path, pixel size or None) of every image input. ``where``
    prefixes the message (a manifest line).
    """
    from rau.io.images import header_spacing, without_pixel_size

    unsized = [(name, size, kind) for name, file, size in inputs if (kind := without_pixel_size(file))]
    given = [name for name, size, _ in unsized if size]
    missing = [(name, kind) for name, size, kind in unsized if not size]
    if given and missing:
        raise OptionError(
            f"{where}{missing[0][0]}: {missing[0][1]} without a pixel size, while {given[0]} has one; "
            "give the pixel size in mm of every image that has none, or of none to work in pixels"
        )
    if missing:
        for name, file, _ in inputs:
            sizes = header_spacing(file) or ()
            if any(abs(size - 1.0) > 1e-3 for size in sizes):
                raise OptionError(
                    f"{where}{missing[0][0]}: {missing[0][1]} without a pixel size (read as 1 mm pixels), while the header of "
                    f"{name} gives {' x '.join(f'{size:g}' for size in sizes)} mm pixels; give its pixel size in mm"
                )


def existing_file(row: dict, column: str, path, line: int) -> Path:
    """A file named in a manifest row (relative to the manifest); it must exist."""
    file = Path(path).parent / row[column]
    if not file.exists():
        raise InputError(f"{path} line {line}: {column} {file} does not exist")
    return file
