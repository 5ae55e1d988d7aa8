"""A TIFF Pillow cannot open, refused naming its samples where they are of a kind Pillow does not read."""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from rau.errors import ImageReadError

TIFF_SAMPLE_KINDS = {1: ("u", "unsigned integer"), 2: ("i", "signed integer"), 3: ("f", "floating-point"),
                     4: ("V", "untyped"), 5: ("c", "complex integer"), 6: ("c", "complex floating-point")}
"""A TIFF's SampleFormat tag (339): the numpy kind and the words for its samples."""
TIFF_SIGNATURES = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
"""How a TIFF (and a BigTIFF) file begins, in either byte order."""
MAX_TIFF_SAMPLE_BITS = 128
"""The most bits a TIFF sample is written with (complex doubles); tags saying more, or none, are damaged."""


def refuse_unread_tiff(path: Path) -> None:
    """Refuse a TIFF Pillow could not open whose samples are of a kind it does not read (float colour, 16- or 64-bit
    float, ...), naming them; a damaged one (its tags unread, or of samples Pillow reads) is left to Pillow's words."""
    with open(path, "rb") as stream:
        signature = stream.read(4)
        samples = _tiff_samples(stream) if signature in TIFF_SIGNATURES else None
    if samples is not None and (signature[:2], *samples) not in _pillow_samples():
        channels, bits, sample_format = samples
        more = ", or as one grey channel" if channels > 1 else ""
        raise ImageReadError(f"{path}: a TIFF ({channels} channel{'s' if channels > 1 else ''} of {bits}-bit "
                             f"{TIFF_SAMPLE_KINDS[sample_format][1]} samples) that rau cannot read; save it as NRRD or NIfTI{more}")


@functools.cache
def _pillow_samples() -> frozenset[tuple[bytes, int, int, int]]:
    """The samples (byte order, channels, bits a sample, SampleFormat) of the TIFFs Pillow, so rau, reads (read from
    Pillow's TIFF plugin when a TIFF is first refused, not when rau is imported)."""
    from PIL import TiffImagePlugin

    return frozenset((byte_order, len(bits), bits[0], sample_format[0])
                     for byte_order, _, sample_format, _, bits, _ in TiffImagePlugin.OPEN_INFO)


def _tiff_samples(stream) -> tuple[int, int, int] | None:
    """A TIFF's first picture's channels, bits a sample and SampleFormat (a key of :data:`TIFF_SAMPLE_KINDS`), from
    its tags; None where they cannot be read."""
    from PIL import TiffImagePlugin

    try:
        stream.seek(0)
        header = stream.read(16)
        tags = TiffImagePlugin.ImageFileDirectory_v2(header if header.startswith(TIFF_SIGNATURES[2:]) else header[:8])
        stream.seek(tags.next)
        tags.load(stream)
        if not all(tag in tags for tag in (256, 257, 258)):  # no width, height or sample size: damaged, not of a kind
            return None
        bits, sample_format = tags[258], tags.get(339, (1,))
        bits, sample_format = (tag[0] if isinstance(tag, tuple) else tag for tag in (bits, sample_format))
        channels = int(tags.get(277, 1))
        if sample_format not in TIFF_SAMPLE_KINDS or not 1 <= bits <= MAX_TIFF_SAMPLE_BITS or channels < 1:
            return None  # values no TIFF writer gives: damaged
        return channels, int(bits), sample_format
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, struct.error):
        return None
