"""The functional groups of an enhanced multi-frame DICOM file, read from its bytes (ITK does not give them): its
pixel size and orientation, shared by its frames, and each frame's position. Only what rau needs to say why ITK could
not place the frames; the pixels are ITK's to read."""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
"""(7FE0,0010) as a little-endian file writes it: a file holding it holds an image; the data set ends there."""
SHARED, PER_FRAME = 0x52009229, 0x52009230
PIXEL_MEASURES, PLANE_POSITION, PLANE_ORIENTATION = 0x00289110, 0x00209113, 0x00209116
PIXEL_SPACING, IMAGE_POSITION, IMAGE_ORIENTATION = 0x00280030, 0x00200032, 0x00200037
SEQUENCES = {SHARED, PER_FRAME, PIXEL_MEASURES, PLANE_POSITION, PLANE_ORIENTATION}
"""The sequences read into; others are skipped (an implicit-VR file does not say which elements are sequences)."""
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
"""Explicit VRs whose length takes 4 bytes after 2 reserved ones."""
IMPLICIT_VR = "1.2.840.10008.1.2"
UNFOLLOWED_SYNTAXES = {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
"""Big endian and deflated data sets; the others are little endian, their VRs explicit but in :data:`IMPLICIT_VR`."""
UNDEFINED = 0xFFFFFFFF


@dataclass(frozen=True)
class FrameGroups:
    """What an enhanced file's functional groups give: None where absent (a frame without a position, too)."""

    pixel_size: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    positions: list[tuple[float, ...] | None]


def has_frame_groups(path) -> bool:
    """Whether a DICOM file holds per-frame functional groups (an enhanced multi-frame file, whose frame gap ITK works
    out from its frames' positions), found in its bytes before its pixel data."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = data.find(PIXEL_DATA_TAG)
        return data.find(_tag_bytes(PER_FRAME), 0, end if end >= 0 else len(data)) >= 0


def frame_groups(path) -> FrameGroups | None:
    """The functional groups of a DICOM file; None for a file without them, or one this reader cannot follow (big
    endian, deflated, damaged)."""
    data = Path(path).read_bytes()
    try:
        start, syntax = _data_set(data)
        if syntax in UNFOLLOWED_SYNTAXES:
            return None
        elements = _elements(data, start, len(data), syntax != IMPLICIT_VR)[0]
    except (struct.error, UnicodeDecodeError):  # damaged: ITK's reading says so
        return None
    if PER_FRAME not in elements:
        return None
    shared, first = _first(elements.get(SHARED)), _first(elements[PER_FRAME])  # what all frames share, or the first frame gives
    measures = _first(shared.get(PIXEL_MEASURES) or first.get(PIXEL_MEASURES))
    orientation = _first(shared.get(PLANE_ORIENTATION) or first.get(PLANE_ORIENTATION))
    positions = [_numbers(_first(frame.get(PLANE_POSITION)).get(IMAGE_POSITION), 3) for frame in elements[PER_FRAME]]
    spacing = _numbers(measures.get(PIXEL_SPACING), 2)
    return FrameGroups(spacing[::-1] if spacing else None, _numbers(orientation.get(IMAGE_ORIENTATION), 6), positions)


def _data_set(data: bytes) -> tuple[int, str]:
    """Where the data set begins, after the preamble and the meta header (group 0002, explicit VR), and the transfer
    syntax (0002,0010) the meta header gives for it."""
    at, syntax = 132, ""
    while data[at : at + 2] == b"\x02\x00":
        long = data[at + 4 : at + 6] in LONG_VRS
        length = struct.unpack_from("<I" if long else "<H", data, at + 8 if long else at + 6)[0]
        start = at + (12 if long else 8)
        if data[at + 2 : at + 4] == b"\x10\x00":
            syntax = data[start : start + length].decode("ascii").strip("\0 ")
        at = start + length
    return at, syntax


def _elements(data: bytes, at: int, end: int, explicit: bool) -> tuple[dict, int]:
    """The data elements from ``at`` to ``end`` or to a delimiter, by tag: bytes, or a list of item dicts for
    :data:`SEQUENCES`; stops at the pixel data. Also where it stopped."""
    found: dict = {}
    while at + 8 <= end:
        group, element = struct.unpack_from("<HH", data, at)
        if group == 0xFFFE or data[at : at + 4] == PIXEL_DATA_TAG:  # an item's end, or the pixels
            return found, at + 8
        vr = data[at + 4 : at + 6] if explicit else b""
        if vr in LONG_VRS:
            length, at = struct.unpack_from("<I", data, at + 8)[0], at + 12
        elif explicit:
            length, at = struct.unpack_from("<H", data, at + 6)[0], at + 8
        else:
            length, at = struct.unpack_from("<I", data, at + 4)[0], at + 8
        tag = group << 16 | element
        if length == UNDEFINED:  # a sequence of undefined length: its items end at a delimiter
            items, at = _items(data, at, end, explicit)
        else:
            items = _items(data, at, at + length, explicit)[0] if tag in SEQUENCES else data[at : at + length]
            at += length
        found[tag] = items
    return found, at


def _items(data: bytes, at: int, end: int, explicit: bool) -> tuple[list[dict], int]:
    """A sequence's items, each a dict of its elements, and where the sequence ends."""
    items = []
    while at + 8 <= end:
        group, element, length = struct.unpack_from("<HHI", data, at)
        if (group, element) != (0xFFFE, 0xE000):  # the sequence's delimiter
            return items, at + 8
        if length == UNDEFINED:
            item, at = _elements(data, at + 8, end, explicit)
        else:
            item, at = _elements(data, at + 8, at + 8 + length, explicit)[0], at + 8 + length
        items.append(item)
    return items, at


def _tag_bytes(tag: int) -> bytes:
    """A tag as a little-endian file writes it."""
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF)


def _first(items) -> dict:
    """A sequence's first item; empty without one."""
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _numbers(value, count: int) -> tuple[float, ...] | None:
    """A decimal string's ``count`` numbers; None if absent or not so many numbers."""
    try:
        numbers = tuple(float(part) for part in value.decode("ascii").strip("\0 ").split("\\"))
    except (AttributeError, UnicodeDecodeError, ValueError):
        return None
    return numbers if len(numbers) == count else None
