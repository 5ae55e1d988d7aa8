"""The functional groups of an enhanced multi-frame DICOM file, read with pydicom (ITK does not give them): its pixel
size and orientation, shared by its frames, and each frame's position. Only what rau needs to say why ITK could not
place the frames; the pixels are ITK's to read."""

from __future__ import annotations

import functools
import os
import struct
import warnings
from dataclasses import dataclass

from rau.user_warnings import WARNING_FILTERS


@dataclass(frozen=True)
class FrameGroups:
    """What an enhanced file's functional groups give: None where absent (a frame without a position, too)."""

    pixel_size: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    positions: tuple[tuple[float, ...] | None, ...]


def frame_groups(path) -> FrameGroups | None:
    """The functional groups of a DICOM file; None for a file without per-frame ones, or one pydicom cannot read
    (damaged: ITK's reading says so). Read once per version of the file (its path, inode, time and size): reading one
    file asks for them several times (its pixel size, frame gap and frames' places)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return _read_frame_groups(os.fspath(path), found.st_ino, found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=32)
def _read_frame_groups(path: str, inode: int, modified: int, size: int) -> FrameGroups | None:
    """:func:`frame_groups` of the file at ``path`` as it was: that ``inode``, ``modified`` then (ns), of ``size`` bytes."""
    import pydicom  # imported when used, as rau's other file libraries
    from pydicom.errors import InvalidDicomError

    with WARNING_FILTERS, warnings.catch_warnings():  # pydicom's of a damaged file, which ITK's reading names
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
            frames = dataset.get("PerFrameFunctionalGroupsSequence")
            if frames is None:
                return None
            shared, first = _first(dataset.get("SharedFunctionalGroupsSequence")), _first(frames)

            def group(name):  # what all frames share, or the first frame gives
                return _first(shared.get(name) or first.get(name))

            spacing = _numbers(group("PixelMeasuresSequence").get("PixelSpacing"), 2)
            orientation = _numbers(group("PlaneOrientationSequence").get("ImageOrientationPatient"), 6)
            positions = tuple(_numbers(_first(frame.get("PlanePositionSequence")).get("ImagePositionPatient"), 3) for frame in frames)
        except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, AttributeError, struct.error, NotImplementedError):
            return None  # damaged bytes: a length cut short (struct.error), a value representation unknown (NotImplementedError)
    return FrameGroups(spacing[::-1] if spacing else None, orientation, positions)


def has_frame_groups(path) -> bool:
    """Whether a DICOM file holds per-frame functional groups (an enhanced multi-frame file, whose frame gap ITK works
    out from its frames' positions)."""
    return frame_groups(path) is not None


def _first(items):
    """A sequence's first item; an empty mapping without one."""
    return items[0] if items else {}


def _numbers(value, count: int) -> tuple[float, ...] | None:
    """A multi-valued element's ``count`` numbers; None if absent or not so many numbers."""
    try:
        numbers = tuple(float(number) for number in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count else None
