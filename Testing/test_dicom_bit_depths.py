"""DICOM bit depths the reader (GDCM, in ITK) cannot read correctly are refused from the header, before the pixels are
read: 32 bits allocated with fewer stored (read as zeros or cut to their low bits), a MONOCHROME1 file of 32 bits
allocated (read as memory never written, differing from read to read), 8 allocated with fewer stored (GDCM refuses
them). Those it reads correctly (32 of 32, MONOCHROME2) are read as pydicom reads them."""

import numpy as np
import pydicom
import pytest
from dicom_files import xray_dicom

from rau.io import ImageReadError, read_image

DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"
SAVE_REMEDY = "save it as NRRD or NIfTI with a reader that handles it"


def _dicom(path, allocated, stored, photometric="MONOCHROME2", signed=0):
    """A DX file of 30 x 40 pixels 0 .. 1199 (wrapped to the bits stored), ``stored`` of ``allocated`` bits each."""
    pixels = (np.arange(30 * 40) % 2 ** min(stored, 31)).astype({8: np.uint8, 32: np.uint32}[allocated])
    return xray_dicom(path, "DX", DIGITAL_XRAY, pixels=pixels, ImagerPixelSpacing=[0.2, 0.2], PhotometricInterpretation=photometric,
                      PixelRepresentation=signed, BitsAllocated=allocated, BitsStored=stored, HighBit=stored - 1)


@pytest.mark.parametrize(("stored", "signed"), [(32, 0), (32, 1), (12, 0)])
def test_a_monochrome1_file_of_32_bits_allocated_is_refused_before_its_pixels_are_read(tmp_path, stored, signed):
    """Before: 32 of 32 read as memory never written, other values at each read (an unsigned one: 0 .. 2359237824)."""
    wide = _dicom(tmp_path / "wide.dcm", 32, stored, "MONOCHROME1", signed)
    with pytest.raises(ImageReadError, match=rf"wide.dcm: a MONOCHROME1 DICOM file of {stored} bits stored in 32 allocated, a bit depth "
                                             rf"the reader cannot read correctly; invert its greys \(the largest value minus each\) "
                                             rf"and {SAVE_REMEDY}$"):
        read_image(wide)


@pytest.mark.parametrize(("allocated", "stored"), [(32, 12), (32, 16), (32, 24), (32, 31), (8, 6), (8, 7)])
def test_8_or_32_bits_allocated_with_fewer_stored_are_refused(tmp_path, allocated, stored):
    """Before: 12 or 16 of 32 read as zeros, 24 of 32 as their low 8 bits (0 .. 255 of 0 .. 1199); 6 or 7 of 8 refused
    with GDCM's "PF.GetBitsAllocated() == PF.GetBitsStored()", told as damaged: "decompress it first"."""
    odd = _dicom(tmp_path / "odd.dcm", allocated, stored)
    with pytest.raises(ImageReadError, match=rf"odd.dcm: a MONOCHROME2 DICOM file of {stored} bits stored in {allocated} allocated, "
                                             rf"a bit depth the reader cannot read correctly; {SAVE_REMEDY}$") as refused:
        read_image(odd)
    assert "invert" not in str(refused.value) and "decompress" not in str(refused.value)


@pytest.mark.parametrize("signed", [0, 1])
def test_a_monochrome2_file_of_32_bits_stored_reads_as_pydicom_reads_it(tmp_path, signed):
    wide = _dicom(tmp_path / "wide.dcm", 32, 32, signed=signed)
    assert np.array_equal(np.asarray(read_image(wide).array).ravel(), pydicom.dcmread(wide).pixel_array.ravel())
