"""A projection X-ray DICOM as Slicer shows it: ITK (and so Slicer) reads a DX or CR file's pixel size only from
ImagerPixelSpacing, so one giving PixelSpacing alone is shown at 1 mm while rau reads it at its PixelSpacing; a volume
written for it is warned of. And a file ITK cannot invert (signed 12-bit MONOCHROME1) is told as that, not as
compressed or damaged."""

import numpy as np
import pytest
from dicom_files import xray_dicom
from PIL import Image as PILImage

from conftest import REPO
from rau.cli import main
from rau.io import ImageReadError, read_image
from rau.io.images import overlay_problem

DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"
HC18 = REPO / "RAUSlicer" / "Logic" / "rau" / "sample_data" / "hc18"


def test_a_dx_with_pixel_spacing_alone_is_warned_of_naming_the_1_mm_slicer_shows(tmp_path):
    """Before: no warning; the label map was written at 0.2 mm, a fifth of the DICOM as Slicer shows it."""
    calibrated = xray_dicom(tmp_path / "chest.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[0.25, 0.2])
    problem = overlay_problem(calibrated, None, [tmp_path / "out.nii.gz"])
    assert problem.startswith(f"{calibrated}: Slicer shows it with 1 x 1 mm pixels (ITK, and so Slicer, reads it at that, while "
                              "rau reads the pixel size its tags give), but rau read it at 0.2 x 0.25 mm, so the segmentation "
                              "written for it as a volume file will not overlay it in Slicer")
    assert "Image Spacing to 0.2 x 0.25 mm" in problem and "--target-spacing" not in problem  # its header keeps its own size
    assert overlay_problem(calibrated, None, [tmp_path / "out.png"]) is None  # a .png keeps no pixel size
    detector = xray_dicom(tmp_path / "detector.dcm", "DX", DIGITAL_XRAY, ImagerPixelSpacing=[0.2, 0.2])
    assert overlay_problem(detector, None, [tmp_path / "out.nii.gz"]) is None  # Slicer shows what rau read
    one_mm = xray_dicom(tmp_path / "one_mm.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[1.0, 1.0])
    assert overlay_problem(one_mm, None, [tmp_path / "out.nii.gz"]) is None


def test_segmenting_a_dx_with_pixel_spacing_alone_warns_once(tmp_path, capsys):
    pixels = np.asarray(PILImage.open(HC18 / "001_HC.png").convert("L")).astype(np.uint16)
    target = xray_dicom(tmp_path / "target.dcm", "DX", DIGITAL_XRAY, PixelSpacing=[0.1, 0.1])
    import pydicom

    dataset = pydicom.dcmread(target)
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.PixelData = pixels.tobytes()
    dataset.save_as(target)
    assert main(["segment", "--reference", str(HC18 / "000_HC.png"), "--reference-labels", str(HC18 / "000_HC_mask.png"),
                 "--reference-spacing", "0.069135804", "--target", str(target), "--out", str(tmp_path / "out.nii.gz")]) == 0
    assert capsys.readouterr().err.count("Slicer shows it with 1 x 1 mm pixels (ITK, and so Slicer") == 1


INVERT_REMEDY = r"invert its greys \(the largest value minus each\) and save it as NRRD or NIfTI$"


def test_a_signed_12_bit_monochrome1_file_is_told_as_one_the_reader_cannot_invert(tmp_path):
    """Before: "... it may be damaged, cut short, or compressed ...; decompress it first", of an uncompressed file."""
    inverted = xray_dicom(tmp_path / "inverted.dcm", "DX", DIGITAL_XRAY, ImagerPixelSpacing=[0.2, 0.2],
                          PhotometricInterpretation="MONOCHROME1", PixelRepresentation=1)
    with pytest.raises(ImageReadError, match=r"inverted.dcm: a signed 12-bit MONOCHROME1 DICOM file \(transfer syntax "
                                             r"1.2.840.10008.1.2.1\), whose greys the reader cannot invert \(.*\); " + INVERT_REMEDY) as refused:
        read_image(inverted)
    assert "decompress" not in str(refused.value) and "damaged" not in str(refused.value) and "pydicom" not in str(refused.value)


def test_a_deflated_signed_12_bit_monochrome1_file_is_not_told_to_decompress(tmp_path):
    """Before: "a DICOM file the reader cannot decode ...; decompress it first", which would not mend it."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    inverted = xray_dicom(tmp_path / "deflated.dcm", "DX", DIGITAL_XRAY, syntax=DeflatedExplicitVRLittleEndian,
                          ImagerPixelSpacing=[0.2, 0.2], PhotometricInterpretation="MONOCHROME1", PixelRepresentation=1)
    with pytest.raises(ImageReadError, match=r"deflated.dcm: a signed 12-bit MONOCHROME1 DICOM file \(transfer syntax "
                                             r"1.2.840.10008.1.2.1.99\), whose greys the reader cannot invert .*; " + INVERT_REMEDY):
        read_image(inverted)

