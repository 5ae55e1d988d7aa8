"""The qform and sform codes of NIfTI files: what space a file's coordinates are in, kept from target to result.

ITK reads the codes but writes 1 (scanner) whatever the image came from, so a result on an MNI-space target
(codes 4) would say it is in scanner space, and tools that go by the code (AFNI's views) would place it elsewhere.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

HEADER_BYTES = 348
"""The size of a NIfTI-1 header; the codes sit in it."""
FORMS_APART_MM = 1e-3
"""How far (mm, any entry of the two affines) a file's qform and sform may differ and still place the voxels alike."""


def codes_of(header) -> tuple[int, int] | None:
    """The qform and sform codes of a NIfTI file's ``header`` (nibabel's); None when both are set and place the voxels
    apart: ITK follows one of them, the written file holds that placement in both forms, and one code would be false of it."""
    codes = int(header["qform_code"]), int(header["sform_code"])
    if min(codes) > 0 and not np.allclose(_qform_as_itk_reads(header), header.get_sform(), atol=FORMS_APART_MM):
        return None
    return codes


def _qform_as_itk_reads(header) -> np.ndarray:
    """The qform affine of a NIfTI ``header`` as written (unchecked) with its qfac (pixdim[0]) read as ITK and NIfTI-1 read
    it: -1 when negative, else 1 (0 included, which nibabel refuses)."""
    as_read = header.copy()
    as_read["pixdim"][0] = -1.0 if as_read["pixdim"][0] < 0 else 1.0
    return as_read.get_qform()


def give_codes(path: Path, codes: tuple[int, int] | None) -> None:
    """Set the qform and sform codes of the NIfTI file ``path`` that ITK just wrote, changing no other byte of its
    content (a gzip file is compressed again, without a time, so one input gives one file). Nothing is done without
    codes, or with 0 for both: a file placed nowhere is read with ITK's own default placement, which the written file
    (with code 1) states."""
    import nibabel

    if codes is None or codes == (0, 0):
        return
    compressed = path.name.lower().endswith(".gz")
    with (gzip.open if compressed else open)(path, "rb") as handle:  # the header alone: most targets have ITK's codes
        header = nibabel.Nifti1Header(handle.read(HEADER_BYTES), check=False)
    if (int(header["qform_code"]), int(header["sform_code"])) == codes:
        return
    content = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    header["qform_code"], header["sform_code"] = codes
    content = header.binaryblock + content[HEADER_BYTES:]
    path.write_bytes(gzip.compress(content, compresslevel=6, mtime=0) if compressed else content)  # timeless, as ITK writes
