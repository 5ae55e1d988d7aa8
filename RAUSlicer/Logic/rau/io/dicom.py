"""DICOM: a folder's one series, checked before it is stacked; the pixel sizes ITK leaves at 1 mm; files that are
not images to segment (a cine, a segmentation); files the reader cannot decode, named with their transfer syntax."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NoReturn

import numpy as np
import SimpleITK as sitk

from rau import validation
from rau.errors import ImageReadError, short_reason
from rau.image import Image
from rau.io.dicom_pixel_data import holds_pixel_data
from rau.io.frame_groups import frame_groups, has_frame_groups
from rau.validation.images import DIRECTION_TOLERANCE

PIXEL_SIZE_TAGS = ("0018|1164", "0028|0030", "3002|0011")
"""Where a DICOM file that ITK read with its default 1 mm pixels (:func:`unsized_by_itk`) gives its pixel size, the
first present wins: ImagerPixelSpacing, as ITK and Slicer read a projection X-ray, then PixelSpacing, which ITK (ITK 5.4)
ignores in projection X-ray files (DX, CR, MG, XA, RF, IO) and multi-frame secondary captures while it reads it in a
one-frame secondary capture or CT file, then ImagePlanePixelSpacing, which ITK reads in an RT Image. Without any a
one-frame file has no pixel size: it takes the one given, as a picture. Files whose size ITK found (a CT slice, an
enhanced file's functional groups) keep it."""
SLICE_GAP_TAG = "0018|0088"
"""SpacingBetweenSlices: the gap between the frames of a multi-frame file whose sizes ITK left at 1 mm."""
CINE_MODALITIES = {"XA": "X-ray angiography", "RF": "X-ray fluoroscopy", "US": "ultrasound"}
"""DICOM modalities whose multi-frame files are runs in time (a cine, or a secondary capture of one), except
:data:`VOLUME_SOP_CLASSES`."""
VOLUME_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.13.1.1",  # X-ray 3D angiographic image (rotational angiography, modality XA)
    "1.2.840.10008.5.1.4.1.1.13.1.2",  # X-ray 3D craniofacial image
    "1.2.840.10008.5.1.4.1.1.13.1.3",  # breast tomosynthesis
    "1.2.840.10008.5.1.4.1.1.6.2",  # enhanced ultrasound volume
}
"""Multi-frame DICOM classes whose frames are slices in space, whatever their modality."""
RESCALE_TAGS = ("0028|1053", "0028|1052")
"""RescaleSlope and RescaleIntercept. ITK reads a series in the pixel type its first slice's rescale needs (uint16
with intercept 0; int32 with -1024; float64 with fractions), which may not hold what another slice's rescale gives
(-1024 wraps to 64512 in uint16, 0.25 is cut to 0): a series whose slices' rescales differ is read as float32, which
holds the values of 16-bit slices exactly."""
SHARED_POSITION_CAUSES = "echoes, phases or a cine?"
"""Why images of a series, or frames of a file, lie at one position."""
FRAME_TIMING_TAGS = ("0018|1063", "0018|1065")
"""Frame Time and Frame Time Vector: a multi-frame file with a frame time above 0 is a clip."""
SLICE_PLACEMENT_TOLERANCE = 0.2
SLICE_POSITION_ROUNDING_MM = 0.1
SLICE_PLACEMENT_LIMIT = 0.4
"""How far a series' reader, stacking its slices evenly from the first to the last, may place a slice from its
recorded position (:func:`_slice_placement_tolerance`): SLICE_PLACEMENT_TOLERANCE of the mean gap, but at least
SLICE_POSITION_ROUNDING_MM, as positions written to 0.1 mm are each up to 0.05 mm off, so up to about 0.1 mm against
the even stacking whatever the gap (slices 0.625 mm apart: 16 %, read; 0.25 mm apart: 40 %, before refused as gaps
that change, 0.20 to 0.30 mm), and at most SLICE_PLACEMENT_LIMIT of the gap, under the nearly half a gap a missing slice puts
one off in a series of more than a few slices, so that is still refused, as are gaps that change. A gap further than this from the usual one is uneven:
a few such gaps are said to be a slice missing or repeated."""
FRAME_GAP_TOLERANCE = 1e-3
"""How far (mm) ITK lets the gaps between an enhanced file's frames stray from their mean; beyond, it places none."""
FRAMES_REMEDY = "load it in Slicer and save it as NRRD or NIfTI"
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
NOT_IMAGES = {
    "1.2.840.10008.1.3.10": "a DICOMDIR (the index of a DICOM export), not an image; give the folder of one series",
    "1.2.840.10008.5.1.4.1.1.481.3": "an RT structure set (contours), not an image or label map; convert it in Slicer "
                                     "(SlicerRT) and save it as .seg.nrrd",
}
"""DICOM storage classes that hold no image for ITK to read, and what to do instead."""
INVERSION_FAILURES = ("PF.GetBitsStored() != 12",)
"""What GDCM says when it cannot invert a MONOCHROME1 file's greys (a signed 12-bit file), whatever its transfer
syntax: decompressing the file would not mend it."""
INVERT_REMEDY = "invert its greys (the largest value minus each) and "
"""The first step of the remedy for a MONOCHROME1 file the reader cannot read."""
DECOMPRESS_HINT = "decompress it first (e.g. gdcmconv --raw IN OUT), or load it in Slicer and save it as NRRD or NIfTI"


def is_dicom_file(path) -> bool:
    """Whether ``path`` is a file that starts as a DICOM file does (128 bytes, then ``DICM``)."""
    try:
        with open(path, "rb") as file:
            return file.read(132)[128:] == b"DICM"
    except OSError:
        return False


def may_be_dicom(path) -> bool:
    """Whether ``path`` may be a DICOM file, also one written without its preamble (it starts with a group 0002 or 0008
    element, as such files do)."""
    try:
        with open(path, "rb") as file:
            start = file.read(132)
    except OSError:
        return False
    return len(start) == 132 and (start[128:] == b"DICM" or start[:2] in (b"\x02\x00", b"\x08\x00"))


def transfer_syntax(path) -> str | None:
    """The transfer syntax UID in a DICOM file's meta header; None if not found."""
    return meta_element(path, 0x0010)


def meta_element(path, element: int) -> str | None:
    """Element (0002,``element``) of a DICOM file's meta header (always explicit VR little endian) as text; None if not found."""
    with open(path, "rb") as file:
        data = file.read(4096)
    at = 132
    while at + 8 <= len(data) and data[at : at + 2] == b"\x02\x00":
        number, vr = struct.unpack_from("<H", data, at + 2)[0], data[at + 4 : at + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            if at + 12 > len(data):  # cut short
                break
            length, start = struct.unpack_from("<I", data, at + 8)[0], at + 12
        else:
            length, start = struct.unpack_from("<H", data, at + 6)[0], at + 8
        if number == element:
            return data[start : start + length].decode("ascii", "replace").strip("\0 ")
        at = start + length
    return None


def check_holds_image(path) -> None:
    """Refuse a DICOM file whose media storage class holds no image (:data:`NOT_IMAGES`: a DICOMDIR, an RT structure set)."""
    problem = NOT_IMAGES.get(meta_element(path, 0x0002))
    if problem:
        raise ImageReadError(f"{path}: {problem}")


def check_bit_depth(path, header) -> None:
    """Refuse, from its ``header`` and before its pixels are read, a DICOM file of a bit depth the reader (GDCM, in ITK)
    cannot read correctly: 8 or 32 bits allocated with fewer stored (it refuses the first, reads the second as zeros
    or cut to their low bits) and a MONOCHROME1 file of 32 allocated (read as memory never written)."""
    allocated, stored, photometric = (_tag(header, key) for key in ("0028|0100", "0028|0101", "0028|0004"))
    fewer_stored = allocated in ("8", "32") and stored.isdigit() and int(stored) < int(allocated)
    if not fewer_stored and not (photometric == "MONOCHROME1" and allocated == "32"):
        return
    invert = INVERT_REMEDY if photometric == "MONOCHROME1" else ""
    raise ImageReadError(f"{path}: a {photometric} DICOM file of {stored} bits stored in {allocated} allocated, a bit depth the "
                         f"reader cannot read correctly; {invert}save it as NRRD or NIfTI with a reader that handles it")


def undecodable(path, reason: str) -> ImageReadError:
    """The error for a DICOM file whose pixels the reader could not decode: the file, its transfer syntax, ITK's reason;
    a MONOCHROME1 file whose greys the reader failed to invert (:data:`INVERSION_FAILURES`) is told as that, as
    decompressing would not mend it."""
    syntax = transfer_syntax(path)
    encoded = f" (transfer syntax {syntax})" if syntax else ""
    if any(failure in reason for failure in INVERSION_FAILURES) and (kind := _monochrome1_kind(path)):
        return ImageReadError(f"{path}: {kind} MONOCHROME1 DICOM file{encoded}, whose greys the reader cannot invert ({reason}); "
                              f"{INVERT_REMEDY}save it as NRRD or NIfTI")
    return ImageReadError(f"{path}: a DICOM file the reader cannot decode{encoded}: {reason}; it may be damaged, cut short, "
                          f"or compressed in a way rau's reader does not know; {DECOMPRESS_HINT}")


def _monochrome1_kind(path) -> str | None:
    """"a signed 12-bit" (PixelRepresentation, BitsStored) for a DICOM file whose header says MONOCHROME1 pixels; None
    for any other."""
    from rau.io.images import file_header  # images reads DICOM files through this module

    header = file_header(path)
    if header is None or _tag(header, "0028|0004") != "MONOCHROME1":
        return None
    return f"{'a signed' if _tag(header, '0028|0103') == '1' else 'an unsigned'} {_tag(header, '0028|0101')}-bit"


def series_files(folder: Path) -> list[str]:
    """The files of the one DICOM series in ``folder``, in slice order. Refuses a folder of no series or several, and one
    holding an image of the series the reader left out (damaged, cut short, or of an unknown encoding)."""
    for entry in sorted(folder.iterdir()):
        _check_scannable(folder, entry)
    reader = sitk.ImageSeriesReader()
    with validation.itk_warnings_off():  # a folder without a series: said below
        series = reader.GetGDCMSeriesIDs(str(folder))
    if not series:
        _refuse_without_series(folder)
    if len(series) > 1:
        described = "; ".join(_series_description(reader.GetGDCMSeriesFileNames(str(folder), uid)) for uid in series)
        raise ImageReadError(f"{folder}: folder holds {len(series)} DICOM series ({described}); "
                             "copy the series to segment into a folder of its own")
    files = reader.GetGDCMSeriesFileNames(str(folder), series[0])
    _check_none_left_out(folder, files)
    return list(files)


def _refuse_without_series(folder: Path) -> NoReturn:
    """Refuse ``folder``, in which the reader found no series, saying why: its series lie in subfolders, or a DICOM
    file in it holds no image (an RT structure set alone: refused as the file is, :func:`check_holds_image`)."""
    below = next((sub for sub in sorted(folder.iterdir()) if sub.is_dir() and not sub.name.startswith((".", "__"))), None)
    if below:
        raise ImageReadError(f"{folder}: folder holds no DICOM series; it has subfolders ({below.name} ...): point to the folder of one series")
    for entry in sorted(folder.iterdir()):
        if is_dicom_file(entry):
            check_holds_image(entry)
    raise ImageReadError(f"{folder}: folder holds no DICOM series")


def _check_scannable(folder: Path, entry: Path) -> None:
    """Refuse an entry of a series folder that the series scanner would trip on: a pipe or device (it would skip, or
    wait on, it) or a link to nothing (it would drop a good slice beside it, which would then be blamed)."""
    remedy = f"move it out of the DICOM folder {folder}"
    if entry.is_symlink() and not entry.exists():
        raise ImageReadError(f"{entry}: a link to nothing (it points to {os.readlink(entry)}); {remedy}")
    validation.check_not_special(entry, remedy=remedy)


def _check_none_left_out(folder: Path, files) -> None:
    """Refuse a folder holding a DICOM image that the series reader skipped (damaged, cut short, of an unknown
    encoding): read without it, the volume would silently lack that slice. An image of another series would have
    made a series of its own; DICOM files without pixel data (a report, a presentation state) and a DICOMDIR stay
    allowed."""
    listed = {Path(file).name for file in files}
    for path in sorted(folder.iterdir()):
        if path.name in listed or path.name.upper() == "DICOMDIR" or not path.is_file() or not may_be_dicom(path):
            continue
        if holds_pixel_data(path):
            raise unreadable_slice(folder, path)


def unreadable_slice(folder: Path, path) -> ImageReadError:
    """The error for a DICOM image in a series folder that the reader cannot read (skipped by the series scanner, or
    whose header it cannot read)."""
    return ImageReadError(f"{path}: a DICOM image in the folder of the series {folder} that the reader cannot read, so the "
                          f"series cannot be read whole; it may be damaged, cut short, written without its preamble, or of an unknown "
                          f"encoding: replace it, or {DECOMPRESS_HINT}")


def read_series(folder: Path, files) -> Image:
    """The series' slices (``files``, from :func:`series_files`, two or more), checked (:func:`check_even_slices`)
    and stacked."""
    headers = [_header(folder, file) for file in files]
    for file, header in zip(files, headers):
        check_bit_depth(file, header)
    check_not_segmentation(folder, headers[0])
    check_not_cine(folder, headers[0])
    check_even_slices(folder, files, headers)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    if any(_rescale(header) != _rescale(headers[0]) for header in headers[1:]):
        reader.SetOutputPixelType(sitk.sitkFloat32)  # ITK takes the type the first slice's rescale needs for all (RESCALE_TAGS)
    try:
        with validation.itk_warnings_off():  # what ITK would warn of (uneven slices) is checked and said above
            return Image.from_sitk(reader.Execute())
    except RuntimeError as error:  # name the file that fails, not the folder
        for file in files:
            try:
                with validation.itk_warnings_off():
                    sitk.ReadImage(file)
            except RuntimeError as file_error:
                raise undecodable(file, short_reason(file_error)) from error
        raise


def _series_description(files) -> str:
    """One series for a message: its number, description and modality as its first file gives them, and its size."""
    header = sitk.ImageFileReader()
    header.SetFileName(files[0])
    header.ReadImageInformation()
    fields = [header.GetMetaData(key).strip("\0 ") for key in ("0020|0011", "0008|103e", "0008|0060") if header.HasMetaDataKey(key)]
    return f"{' '.join(field for field in fields if field) or 'a series'}: {len(files)} image{'s' if len(files) > 1 else ''}"


def image_files(path) -> list[Path]:
    """The files an image ``path`` stands for: the path of a file, or the images of a DICOM folder's one series as
    reading it takes them (:func:`series_files`); none for a folder it refuses (several series, none ...: reading it
    says why), or for what is neither."""
    path = Path(path)
    if path.is_file():
        return [path]
    try:
        with validation.itk_warnings_off():
            return [Path(file) for file in series_files(path)] if path.is_dir() else []
    except (ImageReadError, RuntimeError, OSError):
        return []


def lone_file(path) -> Path | None:
    """The one file that ``path`` stands for (:func:`image_files`): the path of a file, or the only image of a DICOM
    folder's series (read as that file is read); None for a folder of several images or none."""
    files = image_files(path)
    return files[0] if len(files) == 1 else None


def series_hint(path) -> str | None:
    """For a DICOM file that is one slice of a series of several files in its folder (same SeriesInstanceUID), what a
    message on its dimension says: give the folder; None for any other ``path``. Reads only the folder's headers."""
    path = Path(path)
    if not path.is_file() or not may_be_dicom(path):
        return None
    header = sitk.ImageFileReader()
    header.SetFileName(str(path))
    try:
        with validation.itk_warnings_off():
            header.ReadImageInformation()
            series = _tag(header, "0020|000e")
            files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(path.parent), series) if series else []
    except RuntimeError:  # reading it says why
        return None
    if len(files) < 2 or path.name not in {Path(file).name for file in files}:
        return None
    return f"it is one slice of a series of {len(files)} files in {path.parent}; give the folder to read the volume"


def unsized_by_itk(path, header) -> bool:
    """Whether ``header`` (an image's or a file reader's, read from ``path``) is a DICOM file's (:func:`may_be_dicom`: not
    an NRRD or MetaImage converted from one, which carries its tags) with ITK's default 1 mm pixels (and, with several
    frames, 1 mm between them), not the 1 mm pixels ITK read from its functional groups (:func:`_sized_by_frame_groups`)."""
    return _at_itk_default(path, header) and not _sized_by_frame_groups(path, header)


def left_at_one_mm(path, header) -> bool:
    """Whether ITK left some of a DICOM file's spacing at its default 1 mm: its pixels (:func:`unsized_by_itk`; with
    several frames, also where ITK read their gap but the file gives no pixel size), or the gap between the frames of a
    multi-frame file that gives neither :data:`SLICE_GAP_TAG` nor frame positions in functional groups
    (:func:`has_frame_groups`)."""
    several = _frames(header) > 1 and may_be_dicom(path)
    gap_unread = several and header.GetSpacing()[2] == 1.0 and not _positive(_tag(header, SLICE_GAP_TAG)) and not has_frame_groups(path)
    pixels_unread = (several and header.GetSpacing()[:2] == (1.0, 1.0) and pixel_size(header) is None
                     and not _sized_by_frame_groups(path, header))
    return unsized_by_itk(path, header) or gap_unread or pixels_unread


def _at_itk_default(path, header) -> bool:
    """Whether ``header`` (read from ``path``) is a DICOM file's whose spacing ITK gives as 1 mm, its default: unread, or
    read as 1 mm."""
    spacing = header.GetSpacing() if _frames(header) > 1 else header.GetSpacing()[:2]
    return all(size == 1.0 for size in spacing) and may_be_dicom(path)


def _sized_by_frame_groups(path, header) -> bool:
    """Whether the pixel size ITK gives ``header`` (read from ``path``) is the one the file's functional groups give
    (:func:`frame_groups`), which ITK reads."""
    groups = frame_groups(path)
    return groups is not None and groups.pixel_size == tuple(header.GetSpacing()[:2])


def file_unsized(path, header) -> bool:
    """Whether ``header`` (read from ``path``) is a one-frame DICOM file's that gives no pixel size at all (ITK's 1 mm,
    none of :data:`PIXEL_SIZE_TAGS`)."""
    return _frames(header) == 1 and unsized_by_itk(path, header) and pixel_size(header) is None


def pixel_size(header) -> tuple[float, float] | None:
    """A DICOM file's (column, row) pixel size in mm from :data:`PIXEL_SIZE_TAGS`; None without one."""
    for tag in PIXEL_SIZE_TAGS:
        try:
            row, column = (float(value) for value in header.GetMetaData(tag).split("\\")[:2])
        except (RuntimeError, ValueError):  # absent, or not two numbers
            continue
        if row > 0 and column > 0:
            return column, row
    return None


def tagged_spacing(header) -> tuple[float, ...] | None:
    """The spacing a DICOM file that ITK left at 1 mm (:func:`left_at_one_mm`) gives in its tags: the pixel size
    (:data:`PIXEL_SIZE_TAGS`) and, for several frames, the gap between them (:data:`SLICE_GAP_TAG`); None when
    the tags do not give it all."""
    in_plane = pixel_size(header)
    if in_plane is None:
        return None
    if _frames(header) == 1:
        return (*in_plane, *header.GetSpacing()[2:])
    gap = float(header.GetMetaData(SLICE_GAP_TAG)) if _positive(_tag(header, SLICE_GAP_TAG)) else None
    return (*in_plane, gap) if gap else None


def with_pixel_size(path: Path, stored: sitk.Image, pixel_spacing: float | None) -> sitk.Image:
    """``stored`` with the spacing of a DICOM file ITK left at 1 mm (:func:`tagged_spacing`), or ``pixel_spacing``
    where a one-frame file gives none. Refuses a multi-frame file that does not give its slice gap."""
    if _at_itk_default(path, stored):
        check_frames_placed(path)  # an enhanced file at 1 mm: ITK gave up on its functional groups, or they give 1 mm
    if not left_at_one_mm(path, stored):
        return stored
    spacing = tagged_spacing(stored)
    if spacing is None and not file_unsized(path, stored) and (pixel_size(stored) is not None or _frames(stored) > 1):
        raise ImageReadError(f"{path}: a multi-frame DICOM file that {_frame_sizes_given(stored)}; {FRAMES_REMEDY}")
    if spacing is None and pixel_spacing is not None and file_unsized(path, stored):
        spacing = (pixel_spacing, pixel_spacing, *stored.GetSpacing()[2:])
    if spacing is not None:
        stored.SetSpacing(spacing)
    return stored


def _frame_sizes_given(header) -> str:
    """Which of its pixel size and frame gap a multi-frame DICOM file whose spacing is not all given gives, in words."""
    gap = f"the gap between its {_frames(header)} frames (SpacingBetweenSlices)"
    if pixel_size(header) is not None:
        return f"gives its pixel size but not {gap}"
    if _positive(_tag(header, SLICE_GAP_TAG)):
        return f"gives {gap} but not its pixel size (PixelSpacing)"
    return f"gives neither its pixel size nor {gap}"


def _frames(header) -> int:
    """How many frames ``header`` (an image's or a file reader's) holds: its third size, 1 for a 2D one."""
    return header.GetSize()[2] if len(header.GetSize()) == 3 else 1


def _tag(header, key: str) -> str:
    return header.GetMetaData(key).strip("\0 ") if header.HasMetaDataKey(key) else ""


def _positive(text: str) -> bool:
    return _number(text, 0.0) > 0


def check_not_cine(path: Path, stored) -> None:
    """Refuse a multi-frame DICOM cine (:data:`CINE_MODALITIES`, or frames with a frame time; not
    :data:`VOLUME_SOP_CLASSES`): ITK would stack its frames as 1 mm slices. ``stored``: the image, or the header of a
    folder's first file (an image file reader)."""
    frames = _frames(stored)
    if frames < 2 or _tag(stored, "0008|0016") in VOLUME_SOP_CLASSES:
        return
    kind = CINE_MODALITIES.get(_tag(stored, "0008|0060").upper())
    if not kind and any(_positive(value) for key in FRAME_TIMING_TAGS for value in _tag(stored, key).split("\\")):
        kind = "frames timed one after another"
    if kind:
        raise ImageReadError(f"{path}: a cine of {frames} frames ({kind}: frames in time, not slices in space); "
                             "save the frame to segment as its own image")


def check_not_segmentation(path: Path, stored) -> None:
    """Refuse a DICOM SEG: ITK reads its 1-bit frames as a grey volume, without the segments' names (and unpacks
    stray values); Slicer converts it to a ``.seg.nrrd``."""
    if _tag(stored, "0008|0016") == SEGMENTATION_SOP_CLASS:
        raise ImageReadError(f"{path}: a DICOM segmentation (SEG), which rau does not read; load it in Slicer "
                             "(QuantitativeReporting) and save it as .seg.nrrd, or convert it with dcmqi's segimage2itkimage")


def _header(folder: Path, file) -> sitk.ImageFileReader:
    """The header of a slice of the series in ``folder``, read without its pixels (:func:`unreadable_slice` if it
    cannot be)."""
    header = sitk.ImageFileReader()
    header.SetFileName(file)
    try:
        header.ReadImageInformation()
    except RuntimeError as error:
        raise unreadable_slice(folder, file) from error
    return header


def _rescale(header) -> tuple[float, ...]:
    """A slice's rescale slope and intercept (:data:`RESCALE_TAGS`); 1 and 0 where absent or not a number (ITK reads
    the slice as it can)."""
    return tuple(_number(_tag(header, key), default) for key, default in zip(RESCALE_TAGS, (1.0, 0.0)))


def _number(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:  # blank, or not a number
        return default


def check_even_slices(folder: Path, files, headers) -> None:
    """Refuse a series the reader would misplace by stacking its images evenly along their normal, or read with the
    first slice's size and pixel size: an image of another size or pixel size, an image in another orientation (a
    localizer), slices the reader would place further from their positions than :func:`_slice_placement_tolerance`
    allows (a missing slice, gaps that change), images sharing a position (a repeated file, echoes, phases, a cine) or
    giving none, or slices that drift sideways (a gantry tilt: the last slice off by more than half a pixel).
    ``headers``: each file's, read."""
    check_same_pixels(folder, files, headers)
    positions, orientation, pixel, unplaced = [], None, None, 0
    for file, header in zip(files, headers):
        if not (header.HasMetaDataKey("0020|0032") and header.HasMetaDataKey("0020|0037")):
            unplaced += 1
            continue
        this_orientation = np.array([float(v) for v in header.GetMetaData("0020|0037").split("\\")])
        if orientation is None:
            orientation, first, pixel = this_orientation, file, min(header.GetSpacing()[:2])
        elif np.abs(this_orientation - orientation).max() > DIRECTION_TOLERANCE:
            raise ImageReadError(f"{folder}: {Path(file).name} lies in another orientation than {Path(first).name} "
                                 "(a localizer?); give the folder only the slices of one series")
        positions.append(np.array([float(v) for v in header.GetMetaData("0020|0032").split("\\")]))
    if unplaced and len(files) > 1:
        raise ImageReadError(f"{folder}: {unplaced} of its {len(files)} DICOM images give no position (ImagePositionPatient), so they "
                             "would be stacked 1 mm apart (frames of a clip?); give one image, or a series of placed slices")
    if len(positions) < 2:
        return
    normal = np.cross(orientation[:3], orientation[3:])
    gaps = np.diff(positions, axis=0) @ normal
    _check_distinct(folder, gaps, [Path(file).name for file in files], "DICOM images", "give one series of distinct slices",
                    causes=f"a repeated file? {SHARED_POSITION_CAUSES}")
    drift = positions[-1] - positions[0]
    sideways = float(np.linalg.norm(drift - (drift @ normal) * normal))
    if sideways > max(0.5 * pixel, 0.01):
        raise ImageReadError(
            f"{folder}: DICOM slices drift {sideways:.2f} mm sideways from the first to the last (a gantry tilt); "
            "load it in Slicer, whose DICOM import corrects the tilt, and save it as NRRD or NIfTI"
        )
    usual = float(np.median(gaps))
    along = (np.array(positions) - positions[0]) @ normal
    tolerance = _slice_placement_tolerance(abs(along[-1]) / (len(along) - 1))  # the mean gap: rounded gaps' median may be one rounding
    stacked = np.linspace(0.0, along[-1], len(along))  # where the reader puts them: evenly from the first to the last
    worst = int(np.argmax(np.abs(along - stacked)))
    if abs(along[worst] - stacked[worst]) <= tolerance:
        return
    uneven = np.flatnonzero(np.abs(gaps - usual) > tolerance)
    if uneven.size and uneven.size <= max(1, len(gaps) // 5):  # a few among even gaps; more: gaps that change
        first = int(uneven[0])
        raise ImageReadError(
            f"{folder}: DICOM slices are not evenly spaced: {abs(gaps[first]):.2f} mm between {Path(files[first]).name} and "
            f"{Path(files[first + 1]).name}, {abs(usual):.2f} mm elsewhere; is a slice missing or repeated?"
        )
    raise ImageReadError(
        f"{folder}: DICOM slice gaps change along the series ({np.abs(gaps).min():.2f} to {np.abs(gaps).max():.2f} mm): stacked evenly, "
        f"{Path(files[worst]).name} would lie {abs(along[worst] - stacked[worst]):.2f} mm from its position; "
        "load it in Slicer, whose DICOM import handles varying gaps, and save it as NRRD or NIfTI"
    )


def _slice_placement_tolerance(gap: float) -> float:
    """How far (mm) a slice of a series whose slices lie ``gap`` mm apart may lie from where even stacking puts it
    (:data:`SLICE_PLACEMENT_LIMIT`)."""
    return min(max(SLICE_PLACEMENT_TOLERANCE * gap, SLICE_POSITION_ROUNDING_MM), SLICE_PLACEMENT_LIMIT * gap)


def _check_distinct(where, gaps, names: list[str], images: str, remedy: str, causes: str = SHARED_POSITION_CAUSES) -> None:
    """Refuse ``images`` (slices of a series, frames of a file; ``names``: each one's, in order) that share positions
    (``gaps`` of 0 between neighbours along their normal), naming the first two: echoes, phases or a cine (``causes``),
    not slices in space."""
    shared = np.flatnonzero(np.abs(gaps) < 1e-3)
    if shared.size:
        first = int(shared[0])
        what = f"all {len(names)} {images}" if shared.size == len(gaps) else f"{names[first]} and {names[first + 1]}"
        raise ImageReadError(f"{where}: {what} lie at one position ({causes}); {remedy}")


def check_frames_placed(path) -> None:
    """Refuse an enhanced multi-frame file whose frames ITK cannot place from its functional groups (:func:`frame_groups`),
    reading them 1 mm apart or not at all: frames without a position, at one position or not evenly spaced (ITK takes
    gaps within :data:`FRAME_GAP_TOLERANCE` of their mean), or no pixel size or orientation."""
    groups = frame_groups(path)
    if groups is None or len(groups.positions) < 2:
        return
    frames = len(groups.positions)
    unplaced = sum(position is None for position in groups.positions)
    if unplaced:
        raise ImageReadError(f"{path}: {unplaced} of its {frames} frames give no position (PlanePositionSequence in its functional "
                             f"groups), so they cannot be placed; {FRAMES_REMEDY}")
    if groups.pixel_size is None or groups.orientation is None:
        raise ImageReadError(f"{path}: an enhanced multi-frame DICOM file whose functional groups give no pixel size or orientation "
                             f"(PixelMeasuresSequence, PlaneOrientationSequence); {FRAMES_REMEDY}")
    gaps = np.diff(groups.positions, axis=0) @ np.cross(groups.orientation[:3], groups.orientation[3:])
    _check_distinct(path, gaps, [f"frame {number}" for number in range(1, frames + 1)], "frames",
                    "save the frames of one volume as NRRD or NIfTI (e.g. in Slicer)")
    if np.abs(gaps - gaps.mean()).max() > FRAME_GAP_TOLERANCE:
        raise ImageReadError(f"{path}: its {frames} frames are not evenly spaced ({np.abs(gaps).min():.3f} to {np.abs(gaps).max():.3f} mm "
                             f"apart), so the reader cannot place them; {FRAMES_REMEDY}")


def check_same_pixels(folder: Path, files, headers) -> None:
    """Refuse slices of another size, or of another pixel size, than the first (the reader would take the first's for all)."""
    size, spacing = headers[0].GetSize()[:2], headers[0].GetSpacing()[:2]
    for file, header in zip(files[1:], headers[1:]):
        name, first = Path(file).name, Path(files[0]).name
        if header.GetSize()[:2] != size:
            raise ImageReadError(f"{folder}: {name} is {' x '.join(map(str, header.GetSize()[:2]))} pixels, {first} "
                                 f"{' x '.join(map(str, size))}; give one series of slices of one size")
        if not np.allclose(header.GetSpacing()[:2], spacing, rtol=1e-3, atol=0):  # a value rounded to 3 decimals is the same
            raise ImageReadError(f"{folder}: {name} has pixels of {' x '.join(f'{v:g}' for v in header.GetSpacing()[:2])} mm, {first} "
                                 f"of {' x '.join(f'{v:g}' for v in spacing)} mm (PixelSpacing); give one series of slices of one pixel size")
