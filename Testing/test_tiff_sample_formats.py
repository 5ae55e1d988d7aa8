"""TIFF pictures of every sample format ITK writes, read as ITK and Slicer read them (values and sign), or refused
in rau's words where rau cannot read them."""

import struct

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.io import ImageReadError, read_image

GREYS = np.array([[0, 1, 2, 3], [100, 127, 128, 129], [200, 250, 254, 255]], np.int64)


@pytest.mark.parametrize("dtype, scale, offset", [
    (np.int8, 1, -128), (np.uint8, 1, 0), (np.int16, 200, -25000), (np.uint16, 257, 0),
    (np.int32, 16_000_000, -2_000_000_000), (np.uint32, 16_000_000, 0), (np.float32, 0.5, -60),
])
def test_a_grey_tiff_reads_the_values_itk_reads(tmp_path, dtype, scale, offset):
    """Before: a signed 8-bit TIFF read as unsigned (-128 as 128), an unsigned 32-bit one as signed (values from 2**31
    negative), silently: a target read so segmented differently from the same picture as a PNG."""
    path = tmp_path / f"{np.dtype(dtype).name}.tif"
    sitk.WriteImage(sitk.GetImageFromArray((GREYS * scale + offset).astype(dtype)), str(path))
    itk = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    for label_map in (False, True) if np.issubdtype(dtype, np.integer) else (False,):
        read = read_image(path, 0.5, label_map=label_map).array[0]
        np.testing.assert_array_equal(read.astype(np.float64), itk.astype(np.float64))


def test_a_float_colour_tiff_is_refused_with_a_way_forward(tmp_path):
    """Before: "not a readable image (cannot identify image file ...)", Pillow's words, though ITK reads it."""
    path = tmp_path / "rgbf.tif"
    sitk.WriteImage(sitk.GetImageFromArray(np.full((3, 4, 3), 0.25, np.float32), isVector=True), str(path))
    assert sitk.ReadImage(str(path)).GetNumberOfComponentsPerPixel() == 3
    with pytest.raises(ImageReadError, match=r"rgbf.tif: a TIFF \(3 channels of 32-bit floating-point samples\) that rau cannot read; "
                                             r"save it as NRRD or NIfTI, or as one grey channel"):
        read_image(path, 0.5)


def test_a_tiff_cut_short_is_not_blamed_on_its_samples(tmp_path):
    """Before: a TIFF cut after its first tags was "a TIFF of 1 channel of 1-bit unsigned integer samples" (missing tags
    taken at Pillow's defaults); damage is Pillow's to say."""
    whole = tmp_path / "whole.tif"
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(12, dtype=np.uint32).reshape(3, 4) * 300_000_000), str(whole))
    (tmp_path / "cut.tif").write_bytes(whole.read_bytes()[:40])
    with pytest.raises(ImageReadError, match=r"cut.tif: not a readable image"):
        read_image(tmp_path / "cut.tif", 0.5)


def test_a_tiff_of_twenty_channels_itk_writes_is_refused_naming_its_samples(tmp_path):
    """A first bound on channels (16) took such a file for a damaged one, said in Pillow's bare words."""
    path = tmp_path / "bands.tif"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4, 20), np.uint16), isVector=True), str(path))
    with pytest.raises(ImageReadError, match=r"bands.tif: a TIFF \(20 channels of 16-bit unsigned integer samples\) that rau cannot read"):
        read_image(path, 0.5)


def test_a_grey_tiff_damaged_in_its_tags_is_not_blamed_on_its_samples(tmp_path):
    """Before: an 8-bit grey TIFF cut inside its tag directory, or one whose ImageDescription points past its end, was
    "a TIFF (1 channel of 8-bit unsigned integer samples) that rau cannot read", samples rau reads."""
    whole = tmp_path / "whole.tif"
    PILImage.fromarray(np.arange(4800, dtype=np.uint8).reshape(60, 80)).save(whole)
    damaged = {size: whole.read_bytes()[:size] for size in range(46, 80, 3)}
    described = tmp_path / "described.tif"
    PILImage.fromarray(np.zeros((60, 80), np.uint8)).save(described, tiffinfo={270: "x" * 100})
    stored = bytearray(described.read_bytes())
    at = stored.index(struct.pack("<HHI", 270, 2, 101))  # the ImageDescription entry: its text's offset, past the end
    damaged["described"] = bytes(stored[:at + 8]) + struct.pack("<I", 10**7) + bytes(stored[at + 12:])
    for name, stored in damaged.items():
        (tmp_path / f"t{name}.tif").write_bytes(stored)
        with pytest.raises(ImageReadError, match=rf"t{name}.tif: not a readable image \(no picture format could be identified"):
            read_image(tmp_path / f"t{name}.tif", 0.5)


def test_a_big_endian_unsigned_32_bit_tiff_is_refused_naming_its_samples(tmp_path):
    """Pillow reads unsigned 32-bit samples stored little-endian only: the byte order counts in what it reads."""
    values = np.arange(12, dtype=">u4").reshape(3, 4)
    tags = [(256, 3, 4), (257, 3, 3), (258, 3, 32), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1), (278, 3, 3),
            (279, 4, values.nbytes), (339, 3, 1)]
    directory = struct.pack(">H", len(tags)) + b"".join(
        struct.pack(">HHI", tag, kind, 1) + (struct.pack(">HH", value, 0) if kind == 3 else struct.pack(">I", value))
        for tag, kind, value in tags) + struct.pack(">I", 0)
    path = tmp_path / "big.tif"
    path.write_bytes(b"MM\0*" + struct.pack(">I", 8 + values.nbytes) + values.tobytes() + directory)
    with pytest.raises(ImageReadError, match=r"big.tif: a TIFF \(1 channel of 32-bit unsigned integer samples\) that rau cannot read"):
        read_image(path, 0.5)
