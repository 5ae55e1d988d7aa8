"""A DICOM file is called one without an image only when it holds none: not a file whose pixel data is of another
kind (float), written big endian, or cut short (before or inside its pixels), which keeps "damaged, cut short"."""

import numpy as np
import pytest
from dicom_files import xray_dicom
from pydicom import dcmread
from pydicom.uid import ExplicitVRBigEndian

from rau.io import ImageReadError, read_image

CT = "1.2.840.10008.5.1.4.1.1.2"


def test_a_parametric_map_of_float_pixels_is_not_called_imageless(tmp_path):
    """Before: "a DICOM file that holds no image (Parametric Map Storage ...)": its (7FE0,0008) was not looked for."""
    path = xray_dicom(tmp_path / "map.dcm", "MR", "1.2.840.10008.5.1.4.1.1.30")
    dataset = dcmread(path)
    del dataset.PixelData
    dataset.BitsAllocated, dataset.Rows, dataset.Columns = 32, 8, 8
    dataset.FloatPixelData = np.arange(64, dtype=np.float32).tobytes()
    dataset.save_as(path)
    with pytest.raises(ImageReadError) as refused:
        read_image(path)
    assert "holds no image" not in str(refused.value)


@pytest.mark.parametrize("cut", ["inside its big-endian pixels", "before its pixels"])
def test_a_ct_slice_cut_short_is_said_to_be_damaged(tmp_path, cut):
    """Before: "a DICOM file that holds no image (CT Image Storage ...)": the little-endian bytes of (7FE0,0010) were
    searched for, missing a big-endian file's and a file cut before them."""
    syntax = ExplicitVRBigEndian if "big" in cut else None
    path = xray_dicom(tmp_path / "ct.dcm", "CT", CT, syntax=syntax, PixelSpacing=[0.5, 0.5])
    data = path.read_bytes()
    path.write_bytes(data[:-1000] if "big" in cut else data[: data.index(b"\xe0\x7f\x10\x00")])
    with pytest.raises(ImageReadError, match=r"ct.dcm: a DICOM file the reader cannot decode .* it may be damaged, cut short"):
        read_image(path)
