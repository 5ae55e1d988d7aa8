"""Image readers and writers: NIfTI, NRRD, MetaImage, DICOM series, PNG/JPEG/TIFF."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage
from PIL import ImageMode

from rau import validation
from rau.errors import ImageReadError, InputError, WriteError, about, path_refusal, short_reason, sizes_text
from rau.image import GeometryError, Image, luma
from rau.io import dicom, nifti_codes
from rau.io.atomic import atomic_path
from rau.io.dicom_pixel_data import check_has_pixel_data
from rau.io.nrrd_headers import unsized_nrrd
from rau.io.tiff_samples import TIFF_SAMPLE_KINDS, refuse_unread_tiff
from rau.user_warnings import WARNING_FILTERS, warn
from rau.validation.nifti_pairs import NIFTI_PAIR_SUFFIXES

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
"""Medical image formats read from the one file named (a detached header names its data file itself)."""
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")
"""Names DICOM files often have (many have none, or end in their UID's digits: ``CT.1.3.12.2.1107...16573``)."""
IMAGE_SUFFIXES = (*VOLUME_SUFFIXES, *NIFTI_PAIR_SUFFIXES, *PICTURE_SUFFIXES, *DICOM_SUFFIXES)
"""Every extension (any case) of an image file rau reads."""
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
"""Pillow modes read as they are (16 bits in either byte order, as ImageJ writes big-endian TIFF); colour
pictures (:data:`COLOUR_MODES`) read as grey by :func:`rau.image.luma`, others are converted to 8-bit grey."""
COLOUR_MODES = ("LA", "RGB", "RGBA")
"""Pillow modes of colour (and grey + alpha) pictures, read channel by channel (:func:`_colour_channels`)."""


def read_image(path, pixel_spacing: float | None = None, label_map: bool = False) -> Image:
    """Read an image file or DICOM folder as an :class:`Image`.

    ``pixel_spacing`` (mm) sets the spacing of 2D pictures (PNG, JPEG, TIFF), which carry none, and of one-frame
    files whose header gives none (:func:`without_pixel_size`). Medical formats keep the geometry of their headers; a
    ``pixel_spacing`` given for one must agree with its header (:func:`header_spacing`), else it is refused rather
    than ignored.
    A ``label_map`` picture keeps its values: a palette picture gives its indices, and a colour
    picture is refused unless it is grey (a colour per label has no value to keep), as is a colour label
    volume. An 8-bit colour image (a picture, or an RGB NRRD as Slicer saves a colour volume) reads as grey.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file or folder")
    validation.check_not_special(path)
    try:
        if path.is_dir():
            files = dicom.series_files(path)
            image = _read_file(Path(files[0]), pixel_spacing, label_map) if len(files) == 1 else dicom.read_series(path, files)
        elif path.suffix.lower() in PICTURE_SUFFIXES:
            image = _read_picture(path, pixel_spacing, label_map)
        else:
            image = _read_file(path, pixel_spacing, label_map)
        if pixel_spacing is not None and path.suffix.lower() not in PICTURE_SUFFIXES:
            _check_given_pixel_size(path, pixel_spacing)
        validation.check_image(image, path)
        if pixel_spacing is None and image.ndim == 2 and without_pixel_size(path):  # (a volume always has one)
            image = replace(image, pixel_size_known=False)
        if pixel_spacing is not None and not label_map and (problem := validation.implausible_span_problem(image, path, pixel_spacing)):
            warn(problem)  # its labels, read at the same size, are not warned of again
    except InputError as error:
        raise ImageReadError(about(path, error)) from error
    except (RuntimeError, OSError, PILImage.DecompressionBombError) as error:
        refusal = path_refusal(error)  # no permission, a name too long: said as the system says it
        if refusal is not None:
            raise ImageReadError(str(refusal)) from error
        unknown = "; rau reads NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF and BMP" if "Unable to determine ImageIO reader" in str(error) else ""
        raise ImageReadError(f"{path}: not a readable image ({short_reason(error)}){unknown}") from error
    return image


def _read_file(path: Path, pixel_spacing: float | None, label_map: bool) -> Image:
    """A file that ITK reads: NIfTI, NRRD, MetaImage, or one DICOM file (also as the only image of a folder)."""
    nifti_header = validation.check_nifti(path) if validation.is_nifti(path) else None
    if dicom.may_be_dicom(path) and (header := file_header(path)) is not None:
        dicom.check_bit_depth(path, header)
    try:
        with validation.itk_warnings_off():  # what ITK would warn of is checked and said above
            stored = sitk.ReadImage(str(path))
    except RuntimeError as error:
        if dicom.is_dicom_file(path):
            dicom.check_holds_image(path)
            check_has_pixel_data(path)
            dicom.check_frames_placed(path)
            raise dicom.undecodable(path, short_reason(error)) from error
        _check_header_geometry(path)
        raise
    dicom.check_not_segmentation(path, stored)
    dicom.check_not_cine(path, stored)
    stored = dicom.with_pixel_size(path, stored, pixel_spacing)
    if pixel_spacing is not None and unsized_nrrd(path):
        stored.SetSpacing([pixel_spacing if size > 1 else spacing for size, spacing in zip(stored.GetSize(), stored.GetSpacing())])
    if label_map and stored.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(f"{path}: a label map with {stored.GetNumberOfComponentsPerPixel()} components per voxel; save one label value per voxel")
    image = Image.from_sitk(stored)
    return replace(image, nifti_codes=nifti_codes.codes_of(nifti_header)) if nifti_header is not None else image


def file_header(path) -> sitk.ImageFileReader | None:
    """A reader that has read the header of the file ``path`` (ITK's warnings kept quiet), or None when ITK cannot or
    must not (:func:`rau.validation.unplaced_nifti`: reading the file says why)."""
    if validation.unplaced_nifti(path):
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        with validation.itk_warnings_off():
            reader.ReadImageInformation()
    except RuntimeError:
        return None
    return reader


def _check_header_geometry(path) -> None:
    """Refuse, in rau's words (:func:`rau.validation.check_geometry`), the grid of a header that ITK refuses to read
    with a row of its matrix or its own numbers for a reason: a singular direction matrix, a pixel size 0."""
    reader = file_header(path)
    if reader is not None:
        dimension = reader.GetDimension()
        direction = np.reshape(reader.GetDirection(), (dimension, dimension))
        validation.check_geometry(reader.GetSpacing(), reader.GetOrigin(), direction, path, dimension)


def header_grid(path) -> Image | None:
    """The voxel grid a 3D file's header gives (no voxels read: the image holds zeros), as :func:`read_image` would
    place it; None for a file ITK cannot read, and for a 2D one."""
    reader = file_header(path)
    if reader is None or reader.GetDimension() != 3:
        return None
    zeros = np.broadcast_to(np.uint8(0), tuple(reversed(reader.GetSize())))
    return Image.from_grid(zeros, reader.GetSpacing(), reader.GetOrigin(), np.reshape(reader.GetDirection(), (3, 3)))


def header_spacing(path) -> tuple[float, ...] | None:
    """The pixel sizes (mm) that a file's or DICOM folder's header gives along its axes of more than one voxel
    (a DICOM series: one slice's in-plane sizes); None for files that carry none (:func:`without_pixel_size`), and
    for what cannot be read (reading it reports why: a folder of several series)."""
    path = Path(path)
    if not path.exists() or without_pixel_size(path):
        return None
    files = dicom.image_files(path)
    if not files:
        return None
    reader = file_header(files[0])
    spacing = _spacing_read(files[0] if len(files) == 1 else None, reader) if reader is not None else None
    if spacing is None:  # no pixel size, or a multi-frame file without its gap (reading it says so)
        return None
    return tuple(spacing for spacing, size in zip(spacing, reader.GetSize()) if size > 1)


def _spacing_read(lone: Path | None, reader: sitk.ImageFileReader) -> tuple[float, ...] | None:
    """The spacing :func:`read_image` gives the file whose header ``reader`` read (``lone``: that file; None for a
    slice of a series): ITK's, but a DICOM file's that ITK left at 1 mm from its tags (:func:`rau.io.dicom.tagged_spacing`);
    None where they give none."""
    if lone is not None and dicom.left_at_one_mm(lone, reader):
        return None if dicom.file_unsized(lone, reader) else dicom.tagged_spacing(reader)
    return reader.GetSpacing()


def without_pixel_size(path) -> str | None:
    """What ``path`` is when it gives no pixel size of its own, "a picture", "an NRRD file" (one frame, neither
    ``spacings`` nor ``space directions``) or "a DICOM file" (one frame, none of :data:`rau.io.dicom.PIXEL_SIZE_TAGS`:
    e.g. an ultrasound frame calibrated only in its regions; also as the only image of a folder), else None: the one
    rule for a file, image or label map, that takes the pixel size given for it (1 mm without), a picture in all but name."""
    path = Path(path)
    if path.suffix.lower() in PICTURE_SUFFIXES:
        return "a picture"
    if unsized_nrrd(path):
        return "an NRRD file"
    lone = dicom.lone_file(path)
    if lone is None:
        return None
    reader = file_header(lone)
    if reader is None:  # reading it says why
        return None
    return "a DICOM file" if dicom.file_unsized(lone, reader) else None


def _same_size(size: float, other: float) -> bool:
    """Whether two pixel sizes (mm) are one, to a part in 10 000 (a header's rounding, a resolution in whole dots)."""
    return abs(size - other) <= 1e-4 * other


def _slicer_pixel_size(path: Path) -> tuple[float, float] | None:
    """The pixel size (columns, rows; mm) that ITK, and so Slicer, reads from a picture's own resolution (dots per
    inch: a JPEG's or TIFF's, whatever its name) where that is not 1 mm; None where ITK reads 1 mm (a PNG's or BMP's
    resolution, none) or cannot read the file."""
    reader = file_header(path)
    if reader is None:
        return None
    sizes = reader.GetSpacing()[:2]
    return None if all(_same_size(size, 1.0) for size in sizes) else sizes


def dicom_read_apart(path) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The sizes (mm, along its axes of more than one voxel) at which ITK, and so Slicer, and rau read a DICOM file
    (also the only image of a folder) whose tags give a pixel size or frame gap ITK leaves at 1 mm (a projection X-ray
    giving PixelSpacing alone, a multi-frame secondary capture): (ITK's, rau's); None where they agree, and for any
    other file."""
    apart = _header_read_apart(path)
    return apart and apart[1:]


def _header_read_apart(path) -> tuple[sitk.ImageFileReader, tuple[float, ...], tuple[float, ...]] | None:
    """:func:`dicom_read_apart`'s sizes, led by the ITK header they were read from."""
    lone = dicom.lone_file(path)
    reader = file_header(lone) if lone is not None and dicom.may_be_dicom(lone) else None
    read = _spacing_read(lone, reader) if reader is not None else None
    if read is None:
        return None
    axes = [axis for axis, size in enumerate(reader.GetSize()) if size > 1]
    itk, rau = (tuple(spacing[axis] for axis in axes) for spacing in (reader.GetSpacing(), read))
    return None if all(_same_size(size, other) for size, other in zip(itk, rau)) else (reader, itk, rau)


TAGS_READ = "while rau reads the pixel size its tags give"
"""Why rau and Slicer read a DICOM file of :func:`dicom_read_apart` at different sizes, after ITK's size."""


def slicer_dicom_view(path) -> Image | None:
    """The grid (zeros) on which ITK, and so Slicer, reads a DICOM image of :func:`dicom_read_apart`: rau's, at ITK's
    spacing; None for any other."""
    apart = _header_read_apart(path)
    if apart is None:
        return None
    header = apart[0]
    grid = sitk.Image(header.GetSize(), sitk.sitkUInt8)
    grid.SetSpacing(header.GetSpacing())
    grid.SetOrigin(header.GetOrigin())
    grid.SetDirection(header.GetDirection())
    return Image.from_sitk(grid)


def slicer_dicom_note(path) -> str | None:
    """For a DICOM image of :func:`dicom_read_apart`, why labels exported from Slicer for it do not fit it as rau reads it,
    and the ways through; None for any other."""
    apart = dicom_read_apart(path)
    if apart is None:
        return None
    (itk, rau), name = apart, Path(path).name
    remedies = slicer_size_remedies(rau, " before drawing and exporting them", "give the labels as a .png label map")
    return f"ITK, and so Slicer, reads {name} at {sizes_text(itk)} mm, {TAGS_READ} ({sizes_text(rau)} mm): {', or '.join(remedies)}"


def slicer_size_remedies(used, when: str = "", png_remedy: str | None = None) -> list[str]:
    """The ways to make labels agree with an image Slicer shows at another size than rau read it at, ``used`` (mm along
    its axes of more than one voxel): set that size in Slicer (``when``: before what), and ``png_remedy`` (the caller's
    words) for a 2D image only, as a .png label map keeps no pixel size."""
    return [f"in Slicer set {IMAGE_SPACING} to {sizes_text(used)} mm{when}"] + ([png_remedy] if png_remedy and len(used) == 2 else [])


IMAGE_SPACING = "Volumes module > Volume Information > Image Spacing"
"""Where Slicer sets the pixel size it shows a volume at."""
GIVE_TARGET_SPACING = "give it a pixel size of {size} mm (--target-spacing or a manifest's spacing column)"
"""How the command line reads a picture target at the pixel size Slicer shows it with (``{size}``: that size, mm)."""


def overlay_problem(target, pixel_spacing: float | None, outputs, give_size: str = GIVE_TARGET_SPACING,
                    png_label_map: bool = True) -> str | None:
    """Why the volume files among ``outputs`` (NIfTI, NRRD, MetaImage, .seg.nrrd; a .png keeps no pixel size) written
    for the picture ``target`` (:func:`without_pixel_size`) read at ``pixel_spacing`` mm per pixel (None: 1 mm) will not
    overlay it in Slicer, which shows it at the pixel size its resolution gives (:func:`_slicer_pixel_size`), else at
    1 mm, or at the size ITK reads a DICOM file of :func:`dicom_read_apart` at; None
    where they overlay. One warning per target written, whatever the command; it names no output, so a
    run that adds outputs later (``--seg-nrrd`` on a finished batch) records the same words. The remedies are in the
    caller's words: ``give_size`` how it is given that size (:data:`GIVE_TARGET_SPACING`), and a .png label map
    offered only where the caller can write one (``png_label_map``: not a server's job, whose downloads are fixed)."""
    if not any(Path(path).suffix.lower() not in PICTURE_SUFFIXES for path in outputs):
        return None
    picture = without_pixel_size(target) is not None
    if not picture:
        apart = dicom_read_apart(target)
        if apart is None:
            return None
        slicer, used = apart
        source = f"ITK, and so Slicer, reads it at that, {TAGS_READ}"
        read, shown, give = f"{sizes_text(used)} mm", sizes_text(slicer), []  # a DICOM file's header keeps its own size
    else:
        from_resolution = _slicer_pixel_size(Path(target))
        slicer = from_resolution or (1.0, 1.0)
        used = (1.0 if pixel_spacing is None else pixel_spacing,) * 2
        source = "its resolution, dots per inch" if from_resolution else "it stores none"
        read = f"{used[0]:.6g} mm as given" if pixel_spacing is not None else "1 mm, as a picture given no pixel size"
        square = _same_size(slicer[1], slicer[0])
        shown = f"{slicer[0]:.6g}" if square else sizes_text(slicer)
        give = [give_size.format(size=shown)] if pixel_spacing is None and square else []
    if all(_same_size(size, use) for size, use in zip(slicer, used)):
        return None
    remedies = slicer_size_remedies(used, png_remedy="write a .png label map, which keeps no pixel size" if png_label_map else None) + give
    return (f"{target}: Slicer shows it with {shown} mm {'voxels' if len(slicer) == 3 else 'pixels'} ({source}), but rau read it at {read}, so the "
            f"segmentation written for it as a volume file will not overlay it in Slicer; to make them agree, {'; or '.join(remedies)}")


def _check_given_pixel_size(path: Path, pixel_spacing: float) -> None:
    sizes = header_spacing(path) or ()
    if not all(_same_size(size, pixel_spacing) for size in sizes):
        raise ImageReadError(f"{path}: a pixel size of {pixel_spacing:g} mm was given, but its header says "
                             f"{' x '.join(f'{size:g}' for size in sizes)} mm; a file with a header keeps its own, so leave the pixel size out")


@contextmanager
def _open_picture(path: Path) -> Iterator[PILImage.Image]:
    """The picture, opened (not decoded) with :data:`rau.validation.files.MAX_PICTURE_PIXELS` as the only size limit:
    Pillow's own warns of a "decompression bomb" below it and refuses in its own words above it. A TIFF Pillow cannot
    open is refused naming its samples where Pillow reads none of their kind (:func:`refuse_unread_tiff`). Pillow's
    warnings while it is open (of a damaged file's tags: opening, reading its EXIF) are said when it closes, and not at
    all where reading it failed: the error says it. One picture is open at a time in a process (:data:`rau.user_warnings.WARNING_FILTERS`)."""
    with WARNING_FILTERS, warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        try:
            picture = PILImage.open(path)
        except PILImage.DecompressionBombError as error:
            count = re.search(r"\((\d+) pixels\)", str(error))
            raise ImageReadError(str(validation.picture_too_large(path, f"{int(count.group(1)):,}" if count else "more"))) from None
        except PILImage.UnidentifiedImageError:
            refuse_unread_tiff(path)
            raise
        with picture:
            yield picture
    for warning in heard:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _stored_values(picture: PILImage.Image) -> np.ndarray:
    """A grey picture's values as its file stores them, as ITK and Slicer read them: Pillow reads a TIFF's signed 8-bit
    samples as unsigned and its unsigned 32-bit ones as signed; they are read again as their SampleFormat tag says."""
    values = _native(np.asarray(picture))
    if picture.format != "TIFF":
        return values
    bits, sample_format = picture.tag_v2.get(258, (8,)), picture.tag_v2.get(339, (1,))
    bits, sample_format = (tag[0] if isinstance(tag, tuple) else tag for tag in (bits, sample_format))
    kind = TIFF_SAMPLE_KINDS.get(sample_format)
    if kind is None or kind[0] not in "uif" or bits != 8 * values.dtype.itemsize:  # Pillow widens 16-bit signed samples
        return values  # to 32 bits, values kept
    return values.view(np.dtype(f"{kind[0]}{values.dtype.itemsize}"))


def picture_bytes(path) -> int | None:
    """The memory a picture's pixels take once decoded, from its header alone (width x height x bands x bytes a band);
    None for a file Pillow cannot open or refuses as too large (reading it says why)."""
    try:
        with _open_picture(Path(path)) as picture:
            mode = ImageMode.getmode(picture.mode)
            return picture.width * picture.height * len(mode.bands) * np.dtype(mode.typestr).itemsize
    except (OSError, ImageReadError):
        return None


def _jpeg_compressed(picture: PILImage.Image) -> bool:
    """Whether the file holds JPEG-compressed pixels (:data:`LOSSY_FORMATS`, :data:`LOSSY_TIFF_COMPRESSIONS`)."""
    return picture.format in LOSSY_FORMATS or (picture.format == "TIFF" and picture.info.get("compression") in LOSSY_TIFF_COMPRESSIONS)


def _sixteen_bit(picture: PILImage.Image) -> bool:
    """Whether a PNG or TIFF file stores 16 bits per channel (its raw mode, :func:`_raw_mode`). A 16-bit BMP packs a
    pixel's colour in 16 bits, which Pillow reads in full."""
    rawmode = _raw_mode(picture)
    return picture.format in ("PNG", "TIFF") and isinstance(rawmode, str) and ";16" in rawmode


def _raw_mode(picture: PILImage.Image):
    """How the file stores its pixels (``LA;16B``: 16-bit grey + alpha), as Pillow says before decoding it: after, it
    no longer does."""
    args = picture.tile[0].args if picture.tile else None
    return args[0] if isinstance(args, tuple) else args


def _colour_channels(path: Path, picture: PILImage.Image, sixteen_bit: bool) -> np.ndarray:
    """A colour picture's channels (last axis) at the depth the file stores. Pillow reads 16 bits per channel as
    their high byte, so such a picture is read with ITK, as Slicer reads it (a grey + alpha PNG, which ITK cannot
    read, by :func:`_grey_alpha_channels`), and refused where the two readers disagree (a TIFF whose colours are
    premultiplied by a partial alpha)."""
    channels = np.asarray(picture)
    if not sixteen_bit:
        return channels
    if picture.format == "PNG" and (grey_alpha := _grey_alpha_channels(path)) is not None:
        return grey_alpha
    try:
        with validation.itk_warnings_off():
            deep = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
        agree = deep.dtype == np.uint16 and deep.shape == channels.shape and np.array_equal(deep >> 8, channels)
    except RuntimeError:
        agree = False
    if not agree:
        raise ImageReadError(f"{path}: a {picture.format} colour picture of 16 bits per channel that rau cannot "
                             "read at full depth; save it as one 16-bit grey channel (PNG, TIFF) or as NRRD")
    return deep


def _grey_alpha_channels(path: Path) -> np.ndarray | None:
    """A 16-bit grey + alpha PNG's grey and alpha channels at full depth, as an 8-bit one's are read; None for another
    PNG. Pillow decodes it as RGBA of their high bytes: its pixels are decoded again as 8-bit RGBA, the same four
    bytes a pixel, which are the big-endian grey and alpha."""
    with _open_picture(path) as picture:
        if _raw_mode(picture) != "LA;16B":
            return None
        picture.tile = [tile._replace(args="RGBA") for tile in picture.tile]
        return _native(np.asarray(picture).view(">u2"))


def _grey(path: Path, picture: PILImage.Image, sixteen_bit: bool) -> np.ndarray:
    """A picture's grey levels: as stored, colour by :func:`rau.image.luma`, anything else through Pillow."""
    if picture.mode in GREY_MODES:
        return _stored_values(picture)
    if picture.mode in COLOUR_MODES:
        return luma(_colour_channels(path, picture, sixteen_bit))
    return np.asarray(picture.convert("L"))


def _label_values(path: Path, picture: PILImage.Image, sixteen_bit: bool) -> np.ndarray:
    """A label picture's values: grey levels, palette indices (the greys of a palette that shows each used index as
    its own grey, as every viewer, ITK and Slicer show it), or the grey of a colour picture whose channels agree."""
    if picture.mode in GREY_MODES:
        return _stored_values(picture)
    if picture.mode == "P":
        indices = np.asarray(picture)
        palette = np.asarray(picture.getpalette("RGB") or [], np.uint8).reshape(-1, 3)
        used = palette[np.unique(indices)] if len(palette) > indices.max() else None
        greys = used is not None and (used == used[:, :1]).all() and len(np.unique(used[:, 0])) == len(used)  # distinct greys
        return palette[indices, 0] if greys else indices
    if picture.mode not in COLOUR_MODES:
        return np.asarray(picture.convert("L"))
    channels = _colour_channels(path, picture, sixteen_bit)
    colour, alpha = (channels[..., :-1], channels[..., -1]) if picture.mode in ("LA", "RGBA") else (channels, None)
    if not (colour == colour[..., :1]).all():
        raise ImageReadError(f"{path}: a colour label map ({picture.mode}); save one label value per pixel as a greyscale or palette picture")
    values = colour[..., 0]
    if alpha is not None and (values[alpha == 0] != 0).any():
        raise ImageReadError(f"{path}: a label picture whose transparent pixels hold label values ({picture.mode}: its shapes may be "
                             "drawn in transparency, which a label map does not read); save one label value per pixel as a greyscale "
                             "picture, 0 for the background")
    return values


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in this machine's byte order (a big-endian 16-bit TIFF comes as ``>u2``)."""
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _read_picture(path: Path, pixel_spacing: float | None, label_map: bool = False) -> Image:
    with _open_picture(path) as picture:
        validation.check_picture_size(path, *picture.size)  # first: reading its EXIF decodes a PNG
        sixteen_bit = _sixteen_bit(picture)  # before decoding, likewise
        if label_map and _jpeg_compressed(picture):
            raise ImageReadError(f"{path}: a JPEG label map (JPEG-compressed, whatever its name); JPEG compression changes label values, "
                                 "so save the labels as PNG, NRRD or NIfTI")
        orientation = picture.getexif().get(EXIF_ORIENTATION, 1)
        if orientation in TURNING_ORIENTATIONS:  # viewers turn it, ITK and Slicer do not (a TIFF in part): labels drawn on one miss the other
            raise ImageReadError(f"{path}: its EXIF orientation tag ({orientation}) asks viewers to turn or mirror the picture, which "
                                 "ITK and Slicer do not do, or for a TIFF only in part; save it as it should be seen, without the tag")
        if getattr(picture, "n_frames", 1) > 1:
            raise ImageReadError(f"{path}: holds {picture.n_frames} pictures (pages or frames); give one picture, "
                                 "or the stack as a volume file (NRRD, NIfTI)")
        array = _label_values(path, picture, sixteen_bit) if label_map else _grey(path, picture, sixteen_bit)
    spacing = validation.positive_number(pixel_spacing, "pixel spacing") if pixel_spacing is not None else 1.0
    return Image.from_grid(array[np.newaxis], (spacing, spacing, 1.0), (0.0, 0.0, 0.0), np.eye(3), ndim=2, placed=False)  # the one 2D rule


def write_image(image: Image, path, overwrite: bool = False) -> Path:
    """Write an image (format from the suffix: .nii.gz, .nrrd, .mha, .png ...) atomically.

    A 2D image read from a 1-slice volume is written as that volume (the caller's axis
    layout, spacing, origin and direction; see :mod:`rau.image`). A NIfTI file gets the qform and sform codes of
    the NIfTI file the image was read from (:mod:`rau.io.nifti_codes`). A skewed direction matrix
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
            _write_with_itk(image, temporary, path)
    return path


def _write_with_itk(image: Image, temporary: Path, path: Path) -> None:
    """Write ``image`` to ``temporary`` (``path``'s, see :func:`atomic_path`) with ITK; a failed or short write raises
    :class:`WriteError` naming ``path``, not the temporary file."""
    try:
        sitk.WriteImage(image.as_stored().to_sitk(), str(temporary), useCompression=True)
    except RuntimeError as error:
        raise WriteError(f"could not write {path}: {_itk_write_reason(error, temporary, path)}") from None
    if not _written_whole(temporary):
        raise WriteError(f"could not write {path}: the file came out short (a full disk or a file size limit?)")
    if validation.is_nifti(temporary):
        nifti_codes.give_codes(temporary, image.nifti_codes)


def _itk_write_reason(error: RuntimeError, temporary: Path, path: Path) -> str:
    """The informative line of an ITK writer's error (:func:`short_reason`), naming ``path`` where it names the
    temporary file written in its place (ITK names it in full)."""
    reason = short_reason(error).replace(str(temporary.absolute()), str(path)).replace(str(temporary), str(path))
    return re.sub(r"^(Reason: |\[nrrd\] )", "", reason)  # MetaImage's and NRRD's lead-ins


def _written_whole(written: Path) -> bool:
    """Whether a file ITK wrote holds all it should: a NIfTI every byte its header promises (ITK would read a cut one
    with zeros), another file read back in full. ITK's NIfTI writer reports a short write (a full disk, a file size
    limit) on the console only, its NRRD and MetaImage writers at times not at all."""
    try:
        if validation.is_nifti(written):
            expected, kept = validation.nifti_bytes(written)
            return kept >= expected
        sitk.ReadImage(str(written))
    except (InputError, RuntimeError):
        return False
    return True


def check_picture_values(path, largest: float, what: str = "") -> None:
    """Refuse writing values up to ``largest`` to a picture file (.png ...) when that is above :data:`MAX_PICTURE_VALUE`;
    ``what`` names the option that gave ``path``."""
    if Path(path).suffix.lower() in PICTURE_SUFFIXES and largest > MAX_PICTURE_VALUE:
        raise InputError(f"{what + ' ' if what else ''}{path}: a picture holds values up to {MAX_PICTURE_VALUE}, these go up to "
                         f"{largest:.10g}; write .nii.gz or .nrrd")


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
