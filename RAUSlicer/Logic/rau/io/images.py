"""Image readers and writers: NIfTI, NRRD, MetaImage, DICOM series, PNG/JPEG/TIFF."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage

from rau import validation
from rau.errors import InputError, WriteError
from rau.image import GeometryError, Image, luma
from rau.io.atomic import atomic_path

PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
LOSSY_FORMATS = {"JPEG", "MPO"}
"""Picture formats (as Pillow finds them in the file, whatever its name) whose compression changes pixel values:
no label map can be read from them."""
LOSSY_TIFF_COMPRESSIONS = {"jpeg", "tiff_jpeg"}
"""TIFF compressions that change pixel values, likewise."""
EXIF_ORIENTATION = 0x0112
"""The EXIF tag that asks viewers to turn or mirror a picture."""
TURNING_ORIENTATIONS = range(2, 9)
"""Values of the EXIF orientation tag that ask viewers to turn or mirror a picture (1 is as stored; viewers show
0 and values out of range as stored too)."""
MAX_PICTURE_VALUE = 65535
"""The largest value a written picture (16-bit PNG) holds."""
GREY_MODES = ("L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
"""Pillow modes read as they are (16 bits in either byte order, as ImageJ writes big-endian TIFF); other
pictures are converted to 8-bit grey."""


class ImageReadError(InputError):
    """A file could not be read as an image, or holds voxels ``rau`` cannot use."""


def read_image(path, pixel_spacing: float | None = None, label_map: bool = False) -> Image:
    """Read an image file or DICOM folder as an :class:`Image`.

    ``pixel_spacing`` (mm) sets the spacing of 2D pictures (PNG, JPEG, TIFF), which
    carry none. Medical formats keep the geometry of their headers; a ``pixel_spacing`` given for one
    must agree with its header (:func:`header_spacing`), else it is refused rather than ignored.
    A ``label_map`` picture keeps its values: a palette picture gives its indices, and a colour
    picture is refused unless it is grey (a colour per label has no value to keep), as is a colour label
    volume. An 8-bit colour image (a picture, or an RGB NRRD as Slicer saves a colour volume) reads as grey.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file or folder")
    try:
        if path.is_dir():
            image = _read_dicom_series(path)
        elif path.suffix.lower() in PICTURE_SUFFIXES:
            image = _read_picture(path, pixel_spacing, label_map)
        else:
            if validation.is_nifti(path):
                validation.check_nifti(path)
            with validation.itk_warnings_off():  # what ITK would warn of is checked and said above
                stored = _with_dicom_pixel_size(sitk.ReadImage(str(path)), pixel_spacing)
            _check_not_dicom_segmentation(path, stored)
            _check_not_cine(path, stored)
            if label_map and stored.GetNumberOfComponentsPerPixel() != 1:
                raise ImageReadError(f"{path}: a label map with {stored.GetNumberOfComponentsPerPixel()} components per voxel; save one label value per voxel")
            image = Image.from_sitk(stored)
        if pixel_spacing is not None and path.suffix.lower() not in PICTURE_SUFFIXES:
            _check_given_pixel_size(path, pixel_spacing)
        validation.check_image(image, path)
    except InputError as error:
        raise ImageReadError(error if str(error).startswith(str(path)) else f"{path}: {error}") from error
    except (RuntimeError, OSError, PILImage.DecompressionBombError) as error:
        unknown = "; rau reads NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF and BMP" if "Unable to determine ImageIO reader" in str(error) else ""
        raise ImageReadError(f"{path}: not a readable image ({_reason(error)}){unknown}") from error
    return image


def header_spacing(path) -> tuple[float, ...] | None:
    """The pixel sizes (mm) that a file's or DICOM folder's header gives along its axes of more than one voxel
    (a DICOM series: one slice's in-plane sizes); None for pictures, which carry none, and for what cannot be
    read (reading it reports why)."""
    path = Path(path)
    if path.suffix.lower() in PICTURE_SUFFIXES or not path.exists():
        return None
    reader = sitk.ImageFileReader()
    try:
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(path)) if path.is_dir() else [str(path)]
        if not files:
            return None
        reader.SetFileName(files[0])
        reader.ReadImageInformation()
    except RuntimeError:
        return None
    spacing = reader.GetSpacing()
    if path.is_file() and _dicom_file_unsized(reader):
        return None
    if path.is_file() and _unsized_by_itk(reader):
        spacing = (*_dicom_pixel_size(reader), *spacing[2:])
    return tuple(spacing for spacing, size in zip(spacing, reader.GetSize()) if size > 1)


DICOM_PIXEL_SIZE_TAGS = ("0018|1164", "0028|0030")
"""Where a one-frame DICOM file that ITK read with its default 1 mm pixels (:func:`_unsized_by_itk`) gives its pixel
size, the first present wins: ImagerPixelSpacing, as ITK and Slicer read a projection X-ray, then PixelSpacing,
which ITK ignores in X-ray (DX, CR) and mammography files. Without either the file has no pixel size: it takes the
one given, as a picture. Files whose size ITK found (a CT slice, an enhanced file's functional groups) keep it."""


def without_pixel_size(path) -> str | None:
    """What ``path`` is when it gives no pixel size of its own, "a picture" or "a DICOM file" (one frame, none of
    :data:`DICOM_PIXEL_SIZE_TAGS`: e.g. an ultrasound frame calibrated only in its regions), else None. Such an
    image takes the pixel size given for it, 1 mm without."""
    path = Path(path)
    if path.suffix.lower() in PICTURE_SUFFIXES:
        return "a picture"
    if not path.is_file():
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        with validation.itk_warnings_off():
            reader.ReadImageInformation()
    except RuntimeError:  # reading it says why
        return None
    return "a DICOM file" if _dicom_file_unsized(reader) else None


def _dicom_file_unsized(header) -> bool:
    """Whether ``header`` is a one-frame DICOM file's that gives no pixel size at all (ITK's 1 mm, none of
    :data:`DICOM_PIXEL_SIZE_TAGS`)."""
    return _unsized_by_itk(header) and _dicom_pixel_size(header) is None


def _unsized_by_itk(header) -> bool:
    """Whether ``header`` (an image's or a file reader's) is a one-frame DICOM file's with ITK's default 1 x 1 mm."""
    one_frame = len(header.GetSize()) == 2 or header.GetSize()[2] == 1
    return header.HasMetaDataKey("0008|0016") and one_frame and tuple(header.GetSpacing()[:2]) == (1.0, 1.0)


def _dicom_pixel_size(header) -> tuple[float, float] | None:
    """A one-frame DICOM file's (column, row) pixel size in mm from :data:`DICOM_PIXEL_SIZE_TAGS`; None without one."""
    for tag in DICOM_PIXEL_SIZE_TAGS:
        try:
            row, column = (float(value) for value in header.GetMetaData(tag).split("\\")[:2])
        except (RuntimeError, ValueError):  # absent, or not two numbers
            continue
        if row > 0 and column > 0:
            return column, row
    return None


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
FRAME_TIMING_TAGS = ("0018|1063", "0018|1065")
"""Frame Time and Frame Time Vector: a multi-frame file with a frame time above 0 is a clip."""
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def _check_not_cine(path: Path, stored) -> None:
    """Refuse a multi-frame DICOM cine (:data:`CINE_MODALITIES`, or frames with a frame time; not
    :data:`VOLUME_SOP_CLASSES`): ITK would stack its frames as 1 mm slices. ``stored``: the image, or the header of a
    folder's first file (an image file reader)."""
    def tag(key):
        return stored.GetMetaData(key).strip("\0 ") if stored.HasMetaDataKey(key) else ""

    frames = stored.GetSize()[2] if stored.GetDimension() == 3 else 1
    if frames < 2 or tag("0008|0016") in VOLUME_SOP_CLASSES:
        return
    kind = CINE_MODALITIES.get(tag("0008|0060").upper())
    if not kind and any(_positive(value) for key in FRAME_TIMING_TAGS for value in tag(key).split("\\")):
        kind = "frames timed one after another"
    if kind:
        raise ImageReadError(f"{path}: a cine of {frames} frames ({kind}: frames in time, not slices in space); "
                             "save the frame to segment as its own image")


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _check_not_dicom_segmentation(path: Path, stored) -> None:
    """Refuse a DICOM SEG: ITK reads its 1-bit frames as a grey volume, without the segments' names (and unpacks
    stray values); Slicer converts it to a ``.seg.nrrd``."""
    if stored.HasMetaDataKey("0008|0016") and stored.GetMetaData("0008|0016").strip("\0 ") == SEGMENTATION_SOP_CLASS:
        raise ImageReadError(f"{path}: a DICOM segmentation (SEG), which rau does not read; load it in Slicer "
                             "(QuantitativeReporting) and save it as .seg.nrrd, or convert it with dcmqi's segimage2itkimage")


def _with_dicom_pixel_size(stored: sitk.Image, pixel_spacing: float | None) -> sitk.Image:
    """``stored`` with the pixel size of a one-frame DICOM file ITK left at 1 mm (:func:`_dicom_pixel_size`), or
    ``pixel_spacing`` where it gives none."""
    if _unsized_by_itk(stored):
        in_plane = _dicom_pixel_size(stored) or ((pixel_spacing, pixel_spacing) if pixel_spacing is not None else None)
        if in_plane is not None:
            stored.SetSpacing((*in_plane, *stored.GetSpacing()[2:]))
    return stored


def _check_given_pixel_size(path: Path, pixel_spacing: float) -> None:
    sizes = header_spacing(path) or ()
    if any(abs(size - pixel_spacing) > 1e-4 * pixel_spacing for size in sizes):
        raise ImageReadError(f"{path}: a pixel size of {pixel_spacing:g} mm was given, but its header says "
                             f"{' x '.join(f'{size:g}' for size in sizes)} mm; a file with a header keeps its own, so leave the pixel size out")


def _open_picture(path: Path) -> PILImage.Image:
    """The picture, opened (not decoded) with :data:`rau.validation.files.MAX_PICTURE_PIXELS` as the only size limit:
    Pillow's own warns of a "decompression bomb" below it and refuses in its own words above it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        try:
            return PILImage.open(path)
        except PILImage.DecompressionBombError as error:
            count = re.search(r"\((\d+) pixels\)", str(error))
            raise ImageReadError(str(validation.picture_too_large(path, f"{int(count.group(1)):,}" if count else "more"))) from None


def _jpeg_compressed(picture: PILImage.Image) -> bool:
    """Whether the file holds JPEG-compressed pixels (:data:`LOSSY_FORMATS`, :data:`LOSSY_TIFF_COMPRESSIONS`)."""
    return picture.format in LOSSY_FORMATS or (picture.format == "TIFF" and picture.info.get("compression") in LOSSY_TIFF_COMPRESSIONS)


def _grey(picture: PILImage.Image) -> np.ndarray:
    """A picture's grey levels: as stored, colour by :func:`rau.image.luma`, anything else through Pillow."""
    if picture.mode in GREY_MODES:
        return _native(np.asarray(picture))
    if picture.mode in ("RGB", "RGBA"):
        return luma(np.asarray(picture))
    return np.asarray(picture.convert("L"))


def _label_values(path: Path, picture: PILImage.Image) -> np.ndarray:
    """A label picture's values: grey levels, palette indices (the greys of a palette that shows each used index as
    its own grey, as every viewer, ITK and Slicer show it), or the grey of a colour picture whose channels agree."""
    if picture.mode in GREY_MODES:
        return _native(np.asarray(picture))
    if picture.mode == "P":
        indices = np.asarray(picture)
        palette = np.asarray(picture.getpalette("RGB") or [], np.uint8).reshape(-1, 3)
        used = palette[np.unique(indices)] if len(palette) > indices.max() else None
        greys = used is not None and (used == used[:, :1]).all() and len(np.unique(used[:, 0])) == len(used)  # distinct greys
        return palette[indices, 0] if greys else indices
    if picture.mode in ("RGB", "RGBA"):
        rgb = np.asarray(picture.convert("RGB"))
        if not (rgb == rgb[..., :1]).all():
            raise ImageReadError(f"{path}: a colour label map ({picture.mode}); save one label value per pixel as a greyscale or palette picture")
        return rgb[..., 0]
    return np.asarray(picture.convert("L"))


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in this machine's byte order (a big-endian 16-bit TIFF comes as ``>u2``)."""
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _reason(error: Exception) -> str:
    """The informative line of a reader's error (ITK's carry a source location and a stale errno)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()] or [type(error).__name__]
    useful = [line for line in lines if not line.startswith(("Exception thrown", "Reason: No such file"))] or lines
    return re.sub(r"^(ITK ERROR|sitk::ERROR): (\w+\(0x[0-9a-f]+\): )?", "", useful[-1])


def _read_picture(path: Path, pixel_spacing: float | None, label_map: bool = False) -> Image:
    with _open_picture(path) as picture:
        validation.check_picture_size(path, *picture.size)  # first: reading its EXIF decodes a PNG
        if label_map and _jpeg_compressed(picture):
            raise ImageReadError(f"{path}: a JPEG label map (JPEG-compressed, whatever its name); JPEG compression changes label values, "
                                 "so save the labels as PNG, NRRD or NIfTI")
        orientation = picture.getexif().get(EXIF_ORIENTATION, 1)
        if orientation in TURNING_ORIENTATIONS:  # viewers turn it, ITK and Slicer do not: labels drawn on what one shows miss the other
            raise ImageReadError(f"{path}: its EXIF orientation tag ({orientation}) asks viewers to turn or mirror the picture, which "
                                 "ITK and Slicer do not do; save it as it should be seen, without the tag")
        if getattr(picture, "n_frames", 1) > 1:
            raise ImageReadError(f"{path}: holds {picture.n_frames} pictures (pages or frames); give one picture, "
                                 "or the stack as a volume file (NRRD, NIfTI)")
        array = _label_values(path, picture) if label_map else _grey(picture)
    spacing = validation.positive_number(pixel_spacing, "pixel spacing") if pixel_spacing is not None else 1.0
    return Image.from_grid(array[np.newaxis], (spacing, spacing, 1.0), (0.0, 0.0, 0.0), np.eye(3), ndim=2, placed=False)  # the one 2D rule


def _read_dicom_series(folder: Path) -> Image:
    reader = sitk.ImageSeriesReader()
    with validation.itk_warnings_off():  # a folder without a series: said below
        series = reader.GetGDCMSeriesIDs(str(folder))
    if not series:
        below = next((sub for sub in sorted(folder.iterdir()) if sub.is_dir() and not sub.name.startswith((".", "__"))), None)
        hint = f"; it has subfolders ({below.name} ...): point to the folder of one series" if below else ""
        raise ImageReadError(f"{folder}: folder holds no DICOM series{hint}")
    if len(series) > 1:
        described = "; ".join(_series_description(reader.GetGDCMSeriesFileNames(str(folder), uid)) for uid in series)
        raise ImageReadError(f"{folder}: folder holds {len(series)} DICOM series ({described}); "
                             "copy the series to segment into a folder of its own")
    files = reader.GetGDCMSeriesFileNames(str(folder), series[0])
    first = sitk.ImageFileReader()
    first.SetFileName(files[0])
    first.ReadImageInformation()
    _check_not_dicom_segmentation(folder, first)
    _check_not_cine(folder, first)
    check_even_slices(folder, files)
    reader.SetFileNames(files)
    with validation.itk_warnings_off():  # what ITK would warn of (uneven slices) is checked and said above
        return Image.from_sitk(reader.Execute())


def _series_description(files) -> str:
    """One series for a message: its number, description and modality as its first file gives them, and its size."""
    header = sitk.ImageFileReader()
    header.SetFileName(files[0])
    header.ReadImageInformation()
    fields = [header.GetMetaData(key).strip("\0 ") for key in ("0020|0011", "0008|103e", "0008|0060") if header.HasMetaDataKey(key)]
    return f"{' '.join(field for field in fields if field) or 'a series'}: {len(files)} image{'s' if len(files) > 1 else ''}"


def check_even_slices(folder: Path, files) -> None:
    """Refuse a series the reader would misplace by stacking its images evenly along their normal: slices not
    evenly spaced (a missing slice, 10 % of the usual gap; or gaps that change little by little, so that a slice
    would land 10 % of a gap from its position), images sharing a position (echoes, phases, a cine) or giving
    none, or slices that drift sideways (a gantry tilt: the last slice off by more than half a pixel)."""
    positions, normal, pixel, unplaced = [], None, None, 0
    for file in files:
        header = sitk.ImageFileReader()
        header.SetFileName(file)
        header.ReadImageInformation()
        if not (header.HasMetaDataKey("0020|0032") and header.HasMetaDataKey("0020|0037")):
            unplaced += 1
            continue
        if normal is None:
            orientation = np.array([float(v) for v in header.GetMetaData("0020|0037").split("\\")])
            normal = np.cross(orientation[:3], orientation[3:])
            pixel = min(header.GetSpacing()[:2])
        positions.append(np.array([float(v) for v in header.GetMetaData("0020|0032").split("\\")]))
    if unplaced and len(files) > 1:
        raise ImageReadError(f"{folder}: {unplaced} of its {len(files)} DICOM images give no position (ImagePositionPatient), so they "
                             "would be stacked 1 mm apart (frames of a clip?); give one image, or a series of placed slices")
    if len(positions) < 2:
        return
    gaps = np.diff(positions, axis=0) @ normal
    shared = int(np.sum(np.abs(gaps) < 1e-3))
    if shared:
        what = f"all {len(files)} DICOM images lie at one position" if shared == len(gaps) else "several DICOM images share positions"
        raise ImageReadError(f"{folder}: {what} (echoes, phases or a cine?); give one series of distinct slices")
    drift = positions[-1] - positions[0]
    sideways = float(np.linalg.norm(drift - (drift @ normal) * normal))
    if sideways > max(0.5 * pixel, 0.01):
        raise ImageReadError(
            f"{folder}: DICOM slices drift {sideways:.2f} mm sideways from the first to the last (a gantry tilt); "
            "load it in Slicer, whose DICOM import corrects the tilt, and save it as NRRD or NIfTI"
        )
    usual = float(np.median(gaps))
    uneven = np.flatnonzero(np.abs(gaps - usual) > 0.1 * abs(usual))
    if uneven.size:
        first = int(uneven[0])
        raise ImageReadError(
            f"{folder}: DICOM slices are not evenly spaced: {abs(gaps[first]):.2f} mm between {Path(files[first]).name} and "
            f"{Path(files[first + 1]).name}, {abs(usual):.2f} mm elsewhere; is a slice missing or repeated?"
        )
    along = (np.array(positions) - positions[0]) @ normal
    stacked = np.linspace(0.0, along[-1], len(along))  # where the reader puts them: evenly from the first to the last
    worst = int(np.argmax(np.abs(along - stacked)))
    if abs(along[worst] - stacked[worst]) > 0.1 * abs(usual):
        raise ImageReadError(
            f"{folder}: DICOM slice gaps change along the series ({np.abs(gaps).min():.2f} to {np.abs(gaps).max():.2f} mm): stacked evenly, "
            f"{Path(files[worst]).name} would lie {abs(along[worst] - stacked[worst]):.2f} mm from its position; "
            "load it in Slicer, whose DICOM import handles varying gaps, and save it as NRRD or NIfTI"
        )


def write_image(image: Image, path, overwrite: bool = False) -> Path:
    """Write an image (format from the suffix: .nii.gz, .nrrd, .mha, .png ...) atomically.

    A 2D image read from a 1-slice volume is written as that volume (the caller's axis
    layout, spacing, origin and direction; see :mod:`rau.image`). A skewed direction matrix
    is refused: writers would silently make it orthonormal, moving the voxels.
    """
    path = Path(path)
    validation.check_direction(image.direction, path)
    check_picture_output(path, image)
    check_picture_image_values(path, image)
    with atomic_path(path, overwrite) as temporary:
        if path.suffix.lower() in PICTURE_SUFFIXES:
            PILImage.fromarray(image.array[0]).save(temporary)
        else:
            sitk.WriteImage(image.as_stored().to_sitk(), str(temporary), useCompression=True)
            if validation.is_nifti(path) and not _written_whole(temporary):  # ITK's NIfTI writer reports a short write on the console only
                raise WriteError(f"could not write {path}: the file came out short (a full disk or a file size limit?)")
    return path


def _written_whole(nifti: Path) -> bool:
    """Whether a NIfTI file holds every byte its header promises (a gzip stream cut short does not)."""
    try:
        expected, written = validation.nifti_bytes(nifti)
    except InputError:
        return False
    return written >= expected


def check_picture_values(path, largest: float, what: str = "") -> None:
    """Refuse writing values up to ``largest`` to a picture file (.png ...) when that is above :data:`MAX_PICTURE_VALUE`;
    ``what`` names the option that gave ``path``."""
    if Path(path).suffix.lower() in PICTURE_SUFFIXES and largest > MAX_PICTURE_VALUE:
        raise InputError(f"{what + ' ' if what else ''}{path}: a picture holds values up to {MAX_PICTURE_VALUE}, these go up to "
                         f"{largest:g}; write .nii.gz or .nrrd")


def check_picture_image_values(path, image: Image) -> None:
    """Refuse writing ``image`` to a picture file (.png ...) when its values do not fit one; see :func:`check_picture_values`."""
    check_picture_values(path, image.array.max() if image.array.size else 0)


def check_picture_output(path, image: Image, what: str = "") -> None:
    """Refuse writing a 3D ``image`` to a picture file (.png ...), which holds one 2D slice; ``what``
    names the option or field that gave ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix in PICTURE_SUFFIXES and image.ndim != 2:
        raise GeometryError(f"{what + ' ' if what else ''}{path}: a {suffix} file holds a 2D picture, but the target is "
                            f"{image.ndim}D; use .nii.gz or .nrrd")
