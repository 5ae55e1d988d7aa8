"""A NIfTI upload is sized as an NRRD one is (:func:`rau.serve.security.check_unpacked_size`): by what its header
promises once unpacked, its vox_offset (where its voxels begin) and its voxels, and a .nii.gz by what its gzip stream
unpacks to, unpacked no further than that promise and a small margin. Files written in ``tmp_path``, no server."""

from __future__ import annotations

import gzip

import nibabel
import numpy as np
import pytest

from rau.serve.security import GZIP_MARGIN, UnpackedTooLarge, check_unpacked_size

LIMIT = 1 << 20


def small_nifti(offset: int = 352) -> bytes:
    """A 4x4x4 uint8 NIfTI-1 file's bytes, its voxels (64 bytes of zeros) at ``offset`` (352 by default: right after
    its header, as nibabel and ITK write it)."""
    header = nibabel.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4)).header
    header.set_data_offset(offset)
    return header.binaryblock + bytes(offset - len(header.binaryblock)) + bytes(64)


@pytest.mark.parametrize("name", ["far.nii.gz", "far.nii"])
def test_a_nifti_whose_vox_offset_puts_its_voxels_past_the_limit_is_refused_by_its_header(tmp_path, name):
    """Before: only the voxels (64 bytes) were sized, and the readers unpacked the 2 MiB before them (a .nii.gz of 2 KiB
    behind it: about 1000 times its size)."""
    content = small_nifti(offset=2 << 20)
    path = tmp_path / name
    path.write_bytes(gzip.compress(content, compresslevel=1) if name.endswith(".gz") else content)
    with pytest.raises(UnpackedTooLarge, match=rf"^upload target \('{name}'\): its voxels and the 2097152 bytes before them "
                                               r"take 2.0 MiB once unpacked, more than the server's limit of 1.0 MiB "
                                               r"\(rau serve --max-image-mb\)$"):
        check_unpacked_size(path, f"upload target ({name!r})", LIMIT)


def test_a_nii_gz_whose_gzip_stream_goes_on_past_its_voxels_is_refused_unpacking_no_further(tmp_path):
    """Before: 8 MiB of zeros after the 416 bytes a 4x4x4 header promises passed the check."""
    path = tmp_path / "trailing.nii.gz"
    path.write_bytes(gzip.compress(small_nifti() + bytes(8 << 20), compresslevel=1))
    with pytest.raises(UnpackedTooLarge, match=r"^upload target \('trailing.nii.gz'\): its gzip data unpacks to more than the "
                                               r"416 bytes its header promises \(past 1.0 MiB more it was unpacked no further\)$"):
        check_unpacked_size(path, "upload target ('trailing.nii.gz')", 1 << 30)


def test_a_nifti_as_its_writers_write_it_and_a_little_padding_pass(tmp_path):
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((8, 8, 8), np.int16)), str(tmp_path / "itk.nii.gz"), True)
    nibabel.save(nibabel.Nifti1Image(np.zeros((8, 8, 8), np.float32), np.eye(4)), tmp_path / "nibabel.nii")
    (tmp_path / "offset.nii.gz").write_bytes(gzip.compress(small_nifti(offset=4096)))  # voxels after an extension's room
    (tmp_path / "padded.nii.gz").write_bytes(gzip.compress(small_nifti() + bytes(GZIP_MARGIN)))
    for name in ("itk.nii.gz", "nibabel.nii", "offset.nii.gz", "padded.nii.gz"):
        check_unpacked_size(tmp_path / name, f"upload target ({name!r})", LIMIT)
