"""Whether a DICOM file holds an image: pixel data of any kind, or an image's rows and columns (one cut short)."""

from __future__ import annotations

import struct
import warnings

from rau.errors import ImageReadError
from rau.user_warnings import WARNING_FILTERS

PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
"""(7FE0,0010), (7FE0,0008) and (7FE0,0009): a file holding one holds an image."""


def holds_pixel_data(path) -> bool:
    """Whether a DICOM file holds an image, read by pydicom without its values (any transfer syntax, big endian and
    deflated included): pixel data of any kind (:data:`PIXEL_DATA_KEYWORDS`), or Rows (an image cut short before its
    pixels); a file pydicom cannot read cleanly, or without a SOP class, is taken to (it may be an image, damaged). A
    report, a presentation state or an encapsulated document holds neither."""
    return _holds_image(_elements(path))


def _holds_image(dataset) -> bool:
    """:func:`holds_pixel_data` of a file's elements as :func:`_elements` gives them."""
    return dataset is None or "SOPClassUID" not in dataset or "Rows" in dataset or any(keyword in dataset for keyword in PIXEL_DATA_KEYWORDS)


def check_has_pixel_data(path) -> None:
    """Refuse a DICOM file the reader failed on that holds no image (:func:`holds_pixel_data`), naming its storage
    class: it is not one to decompress."""
    dataset = _elements(path)
    if _holds_image(dataset):
        return
    from pydicom.uid import UID

    sop_class = str(dataset.get("SOPClassUID", ""))
    name = UID(sop_class).name if sop_class else ""
    kind = f" ({name + ', ' if name != sop_class else ''}SOP class {sop_class})" if sop_class else ""
    raise ImageReadError(f"{path}: a DICOM file that holds no image{kind}; give an image file of the study, or the folder of its image series")


def _elements(path):
    """A DICOM file's elements as pydicom reads them, large values left unread; None when it cannot without a
    warning (a damaged file, cut short)."""
    import pydicom  # imported when used, as rau's other file libraries
    from pydicom.errors import InvalidDicomError

    with WARNING_FILTERS, warnings.catch_warnings():
        warnings.simplefilter("error")  # pydicom's of a damaged file, which the caller names
        try:
            return pydicom.dcmread(path, defer_size=1024, force=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, struct.error, UserWarning):
            return None
