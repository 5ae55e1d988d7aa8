"""Where an NRRD upload's header ends, as ITK and pynrrd each find it (rau.serve.security.nrrd_header_ends), found in
one pass over the first MiB: a header without line feeds made the scan retry a whole-line pattern from every byte
(a 64 KiB one took 22 s, a 1 MiB upload hours of the server's time)."""

from __future__ import annotations

import pytest

from rau.serve.security import HEADER_BYTES, nrrd_header_ends


@pytest.mark.parametrize("head, ends", [
    (b"NRRD0004\ntype: uint8\n\n", (22, 22)),
    (b"NRRD0004\r\ntype: uint8\r\n\r\n", (25, 25)),
    (b"NRRD0004\rtype: uint8\r\r\n", (23, None)),  # ITK: an empty line; pynrrd: one line, no blank one
    (b"NRRD0004\ntype: uint8\n \t\n", (None, 24)),  # pynrrd takes white space for a blank line, ITK does not
    (b"NRRD0004\ntype: uint8\n", (None, None)),
])
def test_each_reader_s_header_end_is_found(head, ends):
    assert nrrd_header_ends(head) == ends


def test_a_megabyte_without_line_feeds_is_scanned_in_one_pass():
    head = b"NRRD0004\rtype: uint8\r\r" + b"x" * (HEADER_BYTES - 22)  # before: hours (quadratic in its length)
    assert nrrd_header_ends(head) == (22, None)
    assert nrrd_header_ends(b"NRRD0004" + b"x" * (HEADER_BYTES - 8)) == (None, None)
