"""Headers that cannot place their voxels: a singular direction matrix or a zero axis (NRRD, MetaImage), a NaN or
infinite sform or qform, a negative pixel size (NIfTI). Each is refused in one line of rau's words naming the file,
exit 2, nothing written, no line of ITK's, VNL's or nibabel's own on the console."""

from __future__ import annotations

import re
import struct
import subprocess
import sys

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from bad_input_cases import inputs, template  # noqa: F401  (fixtures)
from test_bad_input import REF_SPACING, segment, segment_3d, snapshot

SINGULAR = ("direction matrix {} is singular (determinant 0): some of its axes point along one line or plane "
            "(axes must be perpendicular unit vectors)")
SROW_X_OFFSET, QOFFSET_X_OFFSET, QUATERN_B_OFFSET, PIXDIM_1_OFFSET = 292, 268, 256, 80
"""Byte offsets of NIfTI-1 header fields: srow_x[3], qoffset_x, quatern_b, pixdim[1]."""


def _edit_nrrd_header(source, target, pattern, replacement) -> None:
    """``target``: the NRRD ``source`` with one line of its header rewritten (its data as they are)."""
    header, _, data = source.read_bytes().partition(b"\n\n")
    edited = re.sub(pattern, replacement, header, flags=re.M)
    assert edited != header
    target.write_bytes(edited + b"\n\n" + data)


def _patched_nifti(folder, name, offset, value, qform_only=False) -> None:
    """``name``: the CT crop as an uncompressed NIfTI (sform code 2; with ``qform_only`` qform code 1, sform code 0)
    with the 32-bit float at ``offset`` of its header set to ``value``."""
    ct = nibabel.load(str(folder / "ct.nii.gz"))
    image = nibabel.Nifti1Image(np.asarray(ct.dataobj), ct.affine)
    if qform_only:
        image.set_sform(ct.affine, 0)
        image.set_qform(ct.affine, 1)
    nibabel.save(image, str(folder / name))
    content = bytearray((folder / name).read_bytes())
    content[offset : offset + 4] = struct.pack("<f", value)
    (folder / name).write_bytes(bytes(content))


def _hostile_headers(folder) -> None:
    """The headers of this table, written beside the table's inputs."""
    _edit_nrrd_header(folder / "ct.nrrd", folder / "singular.nrrd", rb"^(space directions: (\([^)]*\)) )\([^)]*\)", rb"\1\2")
    _edit_nrrd_header(folder / "ct.nrrd", folder / "zero_axis.nrrd", rb"^(space directions: .*) \([^)]*\)$", rb"\1 (0,0,0)")
    (folder / "singular.mha").write_bytes(re.sub(rb"(?m)^TransformMatrix = .*$", b"TransformMatrix = 1 0 0 1 0 0 0 0 1",
                                                 (folder / "ct.mha").read_bytes()))
    picture = sitk.ReadImage(str(folder / "tgt.png"))
    picture.SetSpacing((0.5, 0.5))
    sitk.WriteImage(picture, str(folder / "picture.nrrd"))
    _edit_nrrd_header(folder / "picture.nrrd", folder / "singular_2d.nrrd", rb"^space directions: .*$", b"space directions: (0.5,0) (0.5,0)")
    _patched_nifti(folder, "sform_nan.nii", SROW_X_OFFSET, float("nan"))
    _patched_nifti(folder, "qform_nan.nii", QOFFSET_X_OFFSET, float("nan"), qform_only=True)
    _patched_nifti(folder, "qform_nan_b.nii", QUATERN_B_OFFSET, float("nan"), qform_only=True)
    _patched_nifti(folder, "negative_pixdim.nii", PIXDIM_1_OFFSET, -3.0, qform_only=True)


CASES = {  # before: "not a readable image (0 0 1)", ITK's last line, a row of the matrix
    "singular NRRD": (segment_3d(target="singular.nrrd"),
                      "singular.nrrd: " + SINGULAR.format("[[-1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]")),
    "singular MetaImage": (segment_3d(target="singular.mha"),
                           "singular.mha: " + SINGULAR.format("[[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]")),
    "singular 2D NRRD": (segment("--reference-spacing", REF_SPACING, target="singular_2d.nrrd", spacing=False),
                         "singular_2d.nrrd: " + SINGULAR.format("[[1.0, 1.0], [0.0, 0.0]]")),  # before: "(0 0)"
    # before: ITK's "Refusing to change spacing from [1, 1, 1] to [3, 3, 0]"
    "NRRD axis of length 0": (segment_3d(target="zero_axis.nrrd"), "zero_axis.nrrd: pixel size (3.0, 3.0, 0.0) must be positive"),
    # before: 14 lines of VNL's matrix solver, then "its sform is not a rotation and scaling ... up to nan mm"
    "NaN in the sform": (segment_3d(target="sform_nan.nii"),
                         "sform_nan.nii: its sform (code 2, which places the voxels) holds a number that is not finite "
                         "(srow_x = [3.0, 0.0, 0.0, nan]); save it with a finite sform"),
    # before: read silently with the origin at 0 along x
    "NaN in the qform offset": (segment_3d(target="qform_nan.nii"),
                                "qform_nan.nii: its qform (code 1, which places the voxels) holds a number that is not finite "
                                "(qoffset_x = nan); save it with a finite qform"),
    "NaN in the qform quaternion": (segment_3d(target="qform_nan_b.nii"),
                                  "qform_nan_b.nii: its qform (code 1, which places the voxels) holds a number that is not finite "
                                  "(quatern_b = nan); save it with a finite qform"),
    # before: nibabel's "pixdim[1,2,3] should be positive; setting to abs of pixdim values" first
    "negative pixdim": (segment_3d(target="negative_pixdim.nii"),
                        "negative_pixdim.nii: header gives pixel size [-3.0, 3.0, 3.0]; every pixel size must be positive"),
}


@pytest.mark.parametrize("argv, message", CASES.values(), ids=CASES.keys())
def test_a_header_that_cannot_place_its_voxels_is_refused_in_one_line(inputs, argv, message):
    """Run as a process of its own: nibabel's logger writes to the stderr of the moment it was imported."""
    _hostile_headers(inputs)
    before = snapshot(inputs)
    done = subprocess.run([sys.executable, "-m", "rau.cli", *argv], cwd=inputs, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr == f"rau segment: error: {message}\n"
    assert snapshot(inputs) == before
