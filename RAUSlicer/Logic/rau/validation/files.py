"""Checks of input files before they are read: NIfTI headers and sizes, pictures too large to decode."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import math
import os
import stat
import sys
from pathlib import Path

import numpy as np

from rau.errors import InputError
from rau.user_warnings import warn
from rau.validation.images import DIRECTION_TOLERANCE
from rau.validation.nifti_pairs import nifti_files, pair_suffix
from rau.validation.paths import file_exists


MAX_PICTURE_PIXELS = 100_000_000
"""Pictures whose header claims more pixels are refused before decoding (decompression bombs)."""
NIFTI_SUFFIXES = (".nii", ".nii.gz")
"""Names of NIfTI files that hold header and voxels in one (any case)."""
NIFTI_PAIR_MAGIC = b"ni1"
"""The magic of a NIfTI-1 pair's header (its last bytes; ``n+1`` in a .nii file); an Analyze 7.5 header has none."""


def check_not_special(path, pipes: bool = False, remedy: str = "give a file") -> None:
    """Refuse an input that exists but is neither a regular file nor a folder (nor, with ``pipes``, a pipe, which a
    caller reading a bounded text may take): an image reader waits for ever on a pipe, and a device such as /dev/zero
    reads for ever."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # gone, or a link to nothing: the caller says so in its words
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or (pipes and stat.S_ISFIFO(mode))):
        kinds = "a socket or device" if pipes else "a pipe, socket or device"
        raise InputError(f"{path}: not a regular file ({kinds}); {remedy}")


def not_a_folder(path) -> str:
    """Why ``path``, given as a folder, is none: it is a file, or it is not there."""
    return "a file, not a folder" if Path(path).exists() else "no such folder"


def check_text_name(name: str) -> None:
    """Refuse a name that is no UTF-8 text (a file name in another encoding, which Python keeps as escaped bytes):
    results record their inputs' names as text, so it would fail, or write what other programs cannot read, only
    once the work was done. A UTF-8 name that this system's locale cannot hold is refused as such
    (:func:`locale_cannot_hold`)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        written = os.fsencode(name)
        text = written.decode("utf-8", "backslashreplace")
        if text.encode("utf-8") == written and codecs.lookup(sys.getfilesystemencoding()).name != "utf-8":
            raise InputError(locale_cannot_hold(text)) from None
        raise InputError(f"{text}: this name is not UTF-8 text (written in another encoding); rename the file, "
                         "or give another name") from None


def check_nameable(path) -> None:
    """Refuse a path (UTF-8 text, as read from a file) that this system's locale cannot hold (:func:`locale_cannot_hold`):
    the file system would be asked for nothing, and a file that is there said to be missing."""
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise InputError(locale_cannot_hold(str(path))) from None


def locale_cannot_hold(name: str) -> str:
    """The refusal of a UTF-8 ``name`` that this system's file-system encoding (its locale's: ASCII under ``LC_ALL=C``)
    cannot hold, saying how to run rau so that it can."""
    return (f"{name}: this system's locale ({sys.getfilesystemencoding()}) cannot hold this name; run rau with "
            "PYTHONUTF8=1 set, or under a UTF-8 locale (e.g. LANG=C.UTF-8)")


def bounded_bytes(path, limit: int) -> bytes | None:
    """The bytes of ``path`` (a file or a pipe), or None when it holds more than ``limit``: a device such as
    /dev/zero is read no further (OSError as the file system raises it)."""
    with open(path, "rb") as file:
        content = file.read(limit + 1)
    return content if len(content) <= limit else None


def is_nifti(path) -> bool:
    """Whether ``path`` is a NIfTI file: named ``.nii`` or ``.nii.gz`` (any case), or either file of a NIfTI-1 pair
    (``.hdr``/``.img``, gzipped or not) whose header holds NIfTI's magic (:data:`NIFTI_PAIR_MAGIC`), which an Analyze
    7.5 pair lacks; also a pair's voxels without their header, which :func:`check_nifti` refuses as such (ITK would
    blame the format)."""
    if Path(path).name.lower().endswith(NIFTI_SUFFIXES):
        return True
    if pair_suffix(path) is None:
        return False
    if not file_exists(nifti_files(path)[0]):
        return True
    try:
        return nifti_header(path)["magic"].item() == NIFTI_PAIR_MAGIC
    except InputError:  # a header cut short: ITK says why
        return False


def check_nifti(path):
    """Refuse a truncated NIfTI file, zero or negative pixel sizes, a NaN or infinite sform or qform that places the
    voxels (:func:`transform_problem`), a sheared sform, and NaN or infinite voxels; return its header as written
    (nibabel's ``Nifti1Header``)."""
    import nibabel

    path = Path(path)
    try:
        with nibabel_quiet():  # "pixdim[1,2,3] should be positive ...": said below in rau's words
            nifti = _load_nifti(path)
    except InputError:
        raise
    except Exception as error:  # nibabel raises many types for a broken header
        raise InputError(f"{path}: not a readable image (NIfTI: {error})") from None
    if isinstance(nifti, nibabel.Nifti2Image):  # ITK reads NIfTI-1 only and would say it cannot find a reader
        raise InputError(f"{path}: a NIfTI-2 file; save it as NIfTI-1 (e.g. nibabel.Nifti1Image(...), or Slicer's Save)")
    header = nifti_header(path)  # as written: nibabel.load turns pixdim 0 into 1
    dims = int(header["dim"][0])
    pixdim = [float(p) for p in header["pixdim"][1 : 1 + min(dims, 3)]]
    if any(not math.isfinite(p) or p <= 0 for p in pixdim):
        remedy = (": save the file again with positive pixel sizes (pixdim) and any flip in its sform or qform, the affine "
                  "that places the voxels (ITK reads a negative size as positive, flipping its direction)"
                  if all(math.isfinite(p) and p != 0 for p in pixdim) else "")
        raise InputError(f"{path}: header gives pixel size {pixdim}; every pixel size must be positive{remedy}")
    if problem := transform_problem(path, header):
        raise InputError(problem)
    expected, available = nifti_bytes(path, header)
    if available < expected:
        raise InputError(f"{path}: file is truncated (header promises {expected} bytes, file holds {available})")
    if int(header["sform_code"]) == NIFTI_SCANNER_ANAT and _sheared(header.get_sform()[:3, :3]):
        instead = ("ITK would place the voxels by its qform instead" if int(header["qform_code"]) > 0
                   else "it has no qform (code 0) to place them by instead, so ITK and Slicer cannot read it")
        raise InputError(f"{path}: its scanner sform (the affine that places the voxels) is sheared or skewed, and {instead}; "
                         "resample it onto a rectangular grid first")
    check_sform_followed(path, header, nifti.shape)
    if np.issubdtype(header.get_data_dtype(), np.floating):  # SimpleITK would turn NaN into 0: look here
        if not np.isfinite(np.asanyarray(nifti.dataobj)).all():
            raise InputError(f"{path}: image holds NaN or infinite voxels")
    return header


def _load_nifti(path: Path):
    """nibabel's image of a NIfTI file, or of a pair from the files ITK reads (:func:`nifti_files`), which nibabel
    would look for elsewhere (a .hdr beside a gzipped .img)."""
    import nibabel

    header, voxels = nifti_files(path)
    if header == voxels:
        return nibabel.load(str(path))
    for file, without in ((header, "a NIfTI or Analyze pair without its header"), (voxels, "a NIfTI pair without its voxels")):
        if not file.exists():
            raise InputError(f"{path}: {without}: no {file.name} (gzipped or not) beside it")
    return nibabel.Nifti1Pair.from_file_map(nibabel.Nifti1Pair.make_file_map({"header": str(header), "image": str(voxels)}))


NIFTI_TRANSFORM_FIELDS = {"sform": ("srow_x", "srow_y", "srow_z"), "qform": ("quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z")}
"""The header fields of each of a NIfTI's two transforms that place its voxels (used when its code is above 0)."""


def transform_problem(path: Path, header) -> str | None:
    """Why a NIfTI's sform or qform that places its voxels cannot: it holds NaN or an infinite number; else None. A set
    sform (code above 0) places them for nibabel, FSL and SPM, and for ITK too when NaN (its comparisons let NaN pass;
    its matrix solver prints its complaints); a set qform only where ITK follows it (:func:`itk_follows_sform`), which
    would take its NaN as 0 (the voxels elsewhere, silently)."""
    placing = {"sform": int(header["sform_code"]) > 0, "qform": int(header["qform_code"]) > 0 and not itk_follows_sform(header)}
    for transform, fields in NIFTI_TRANSFORM_FIELDS.items():
        for field in fields if placing[transform] else ():
            values = np.atleast_1d(np.asarray(header[field], dtype=float)) + 0.0  # -0.0 shown as 0.0
            if not np.isfinite(values).all():
                shown = values.tolist() if values.size > 1 else values[0]
                return (f"{path}: its {transform} (code {int(header[f'{transform}_code'])}, which places the voxels) holds a "
                        f"number that is not finite ({field} = {shown}); save it with a finite {transform}")
    return None


def unplaced_nifti(path) -> bool:
    """Whether ``path`` is a NIfTI file whose sform or qform cannot place its voxels (:func:`transform_problem`): no ITK
    reader may be given it (its matrix solver prints to the console), and reading it (:func:`check_nifti`) says why."""
    if not is_nifti(path):
        return False
    try:
        header = nifti_header(Path(path))
    except InputError:  # a header cut short: reading it says so, and ITK reads it quietly
        return False
    return transform_problem(path, header) is not None


def itk_follows_sform(header) -> bool:
    """Whether ITK (so RAUSlicer and Slicer) places a NIfTI's voxels by its sform: set (code above 0), and either a
    scanner sform or the only form set; else by its qform where that is set (or by the pixel sizes alone)."""
    sform_code, qform_code = int(header["sform_code"]), int(header["qform_code"])
    return sform_code > 0 and (qform_code <= 0 or sform_code == NIFTI_SCANNER_ANAT)


def check_sform_followed(path: Path, header, shape) -> None:
    """Where ITK (so RAUSlicer and Slicer) places a NIfTI's voxels elsewhere than its sform, which nibabel, FSL and SPM
    follow: warn when ITK follows a qform that disagrees, refuse when it should have followed the sform
    (:func:`itk_follows_sform`) but did not: pixel sizes (pixdim) left behind when the sform was edited alone, which
    ITK takes as the spacing."""
    sform_code, qform_code = int(header["sform_code"]), int(header["qform_code"])
    if sform_code <= 0:
        return
    gap = _itk_gap_to_sform(path, header, shape)
    if gap <= SFORM_QFORM_GAP_MM:
        return
    dimension = min(len(shape), 3)
    scales = [float(v) for v in np.linalg.norm(header.get_sform()[:3, :dimension], axis=0)]
    if not itk_follows_sform(header):
        warn(f"{path}: its sform (code {sform_code}) and qform (code {qform_code}) disagree; RAUSlicer places the "
             f"voxels by the qform, as ITK and Slicer do, up to {gap:.3g} mm from where nibabel, FSL and SPM put them (by the sform)")
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


@contextlib.contextmanager
def nibabel_quiet():
    """nibabel's console messages (its header fixes) silenced inside the block: rau says what matters in its own words."""
    from nibabel.imageglobals import logger

    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


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
    millimetres = NIFTI_UNITS_MM.get(header.get_xyzt_units()[0], 1.0)  # ITK reads metres and microns in mm
    sform = np.diag([-millimetres, -millimetres, millimetres, 1.0]) @ header.get_sform()  # RAS -> LPS, as ITK's
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, (shape[2] if len(shape) > 2 else 1) - 1)])
    return float(np.abs(corners @ (sform - itk).T)[:, :dimension].max())  # a 2D file has no place along z in ITK


NIFTI_UNITS_MM = {"meter": 1000.0, "mm": 1.0, "micron": 0.001}
"""Millimetres per unit of a NIfTI header's space unit (``xyzt_units``); unknown is read as mm, as ITK reads it."""
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
    """The bytes a NIfTI file's header promises (header and voxels; a pair's: its voxels) and those the file holding its
    voxels holds (uncompressed, :func:`nifti_files`)."""
    if header is None:
        header = nifti_header(path)
    voxels = nifti_files(path)[1]
    expected = sum(nifti_unpacked(header))
    available = gzip_length(voxels, expected) if voxels.name.lower().endswith(".gz") else voxels.stat().st_size
    return expected, available


def nifti_header(path: Path):
    """A NIfTI-1 file's (or pair's) header as written (nibabel's, unchecked: pixdim 0 kept); a header cut short raises
    :class:`InputError`."""
    import nibabel
    from nibabel.openers import ImageOpener

    try:
        with ImageOpener(str(nifti_files(path)[0])) as stream:
            return nibabel.Nifti1Header.from_fileobj(stream, check=False)
    except Exception as error:  # a header cut short: nibabel and gzip raise several types
        raise InputError(f"{path}: not a whole NIfTI header ({type(error).__name__}: {error})") from None


def nifti_unpacked(header) -> tuple[int, int]:
    """Where a NIfTI ``header``'s voxels begin in its file (vox_offset: the header and any extensions before them) and
    the bytes the voxels take, as nibabel reads the header: together, what a .nii.gz unpacks to."""
    return int(header.get_data_offset()), math.prod(int(size) for size in header.get_data_shape()) * header.get_data_dtype().itemsize


def gzip_length(source, enough: int) -> int:
    """The decompressed length of a gzip stream (a path, or a binary file at the stream's start), counted up to
    ``enough`` bytes at least (a few MB of zeros may unpack to terabytes past what a header promises); a stream cut
    short or damaged raises :class:`InputError`."""
    length = 0
    try:
        with gzip.open(source, "rb") as stream:
            # one read past enough: a stream that ends there is read to its end, where its CRC and length are checked
            while length <= enough and (chunk := stream.read(1 << 22)):
                length += len(chunk)
    except (EOFError, OSError, gzip.BadGzipFile) as error:
        named = source if isinstance(source, (str, os.PathLike)) else source.name  # a Path's .name is its last part only
        raise InputError(f"{named}: file is truncated or damaged ({error})") from None
    return length


def check_picture_size(path, width: int, height: int) -> None:
    """Refuse pictures whose header claims more than :data:`MAX_PICTURE_PIXELS` pixels."""
    if width * height > MAX_PICTURE_PIXELS:
        raise picture_too_large(path, f"{width}x{height}")


def picture_too_large(path, claim: str) -> InputError:
    """The error for a picture whose header claims ``claim`` pixels, beyond :data:`MAX_PICTURE_PIXELS`."""
    return InputError(f"{path}: picture claims {claim} pixels, more than the limit of {MAX_PICTURE_PIXELS:,}")
