"""A reference re-saved in another voxel type (an 8-bit picture as a 16-bit PNG: the same grey values, the same
pixel size) is the same image: refused as a copy, as a re-save with other compression is."""

import numpy as np
from PIL import Image as PILImage

from test_reference_copy_structures import HC18, assert_refused_as_copy, reference_copy, segment


def test_a_copy_resaved_as_16_bit_is_refused(tmp_path, capsys):
    """Before: accepted (exit 0), an exact ranking tie: the image digest hashed the voxel type (uint8 vs uint16)."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    copy = reference_copy(tmp_path / "c", 255, "fetal head")
    grey = np.array(PILImage.open(HC18 / "000_HC.png"))
    assert grey.dtype == np.uint8
    PILImage.fromarray(grey.astype(np.uint16)).save(copy / "img.png")
    assert PILImage.open(copy / "img.png").mode == "I;16"
    assert_refused_as_copy(tmp_path, capsys, segment(tmp_path, copy / "mask.png"),
                           "reference 'c/img.png' (labels 'c/mask.png') is a copy of 'a/img.png' (labels 'a/mask.png') for 'fetal head'")


def test_a_16_bit_resave_with_other_grey_values_is_another_reference(tmp_path, capsys):
    """The same pixels stretched to 16 bits (values x 257) are other voxels: another image, accepted."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    other = reference_copy(tmp_path / "c", 255, "fetal head")
    grey = np.array(PILImage.open(HC18 / "000_HC.png"))
    PILImage.fromarray(grey.astype(np.uint16) * 257).save(other / "img.png")
    assert segment(tmp_path, other / "mask.png") == 0, capsys.readouterr().err
