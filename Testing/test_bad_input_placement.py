"""Headers that cannot place their voxels: a singular direction matrix or a zero axis (NRRD, MetaImage), a NaN or
infinite sform or qform that places them, a negative pixel size (NIfTI). Each is refused in one line of rau's words
naming the file, exit 2, nothing written, no line of ITK's, VNL's or nibabel's own on the console. A NIfTI that ITK
places all the same (a NaN in the qform it does not follow, qfac 0) is read as ITK reads it."""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
import sys

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from bad_input_cases import copy_inputs, inputs, template  # noqa: F401  (fixtures)
from rau.io.images import header_grid
from test_bad_input import REF_SPACING, segment, segment_3d, snapshot

SINGULAR = ("direction matrix {} is singular (determinant 0): some of its axes point along one line or plane "
            "(axes must be perpendicular unit vectors)")
SROW_X_OFFSET, QOFFSET_X_OFFSET, QUATERN_B_OFFSET, PIXDIM_1_OFFSET, QFAC_OFFSET, SFORM_CODE_OFFSET = 292, 268, 256, 80, 76, 254
"""Byte offsets of NIfTI-1 header fields: srow_x[3], qoffset_x, quatern_b, pixdim[1], pixdim[0] (qfac), sform_code."""


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


def _itk_nifti(folder, name, *patches) -> None:
    """``name``: the CT crop as ITK wrote it (sform and qform code 1, uncompressed), with each ``(offset, format, value)``
    of ``patches`` packed into its header."""
    content = bytearray(gzip.decompress((folder / "ct.nii.gz").read_bytes()))
    for offset, layout, value in patches:
        struct.pack_into(layout, content, offset, value)
    (folder / name).write_bytes(bytes(content))


def _not_finite(name, transform, code, value) -> str:
    """rau's refusal of the NIfTI ``name`` whose ``transform`` (``sform`` or ``qform``, its code ``code``), which
    places the voxels, holds ``value`` (a field and its numbers)."""
    return (f"{name}: its {transform} (code {code}, which places the voxels) holds a number that is not finite ({value}); "
            f"save it with a finite {transform}")


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
    _itk_nifti(folder, "aligned_sform_qform_nan.nii", (SFORM_CODE_OFFSET, "<h", 2), (QUATERN_B_OFFSET, "<f", float("nan")))
    _itk_nifti(folder, "aligned_sform_nan.nii", (SFORM_CODE_OFFSET, "<h", 2), (SROW_X_OFFSET, "<f", float("nan")))


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
    "NaN in the sform": (segment_3d(target="sform_nan.nii"), _not_finite("sform_nan.nii", "sform", 2, "srow_x = [3.0, 0.0, 0.0, nan]")),
    # before: read silently with the origin at 0 along x
    "NaN in the qform offset": (segment_3d(target="qform_nan.nii"), _not_finite("qform_nan.nii", "qform", 1, "qoffset_x = nan")),
    "NaN in the qform quaternion": (segment_3d(target="qform_nan_b.nii"), _not_finite("qform_nan_b.nii", "qform", 1, "quatern_b = nan")),
    # both set, an aligned sform (code 2): ITK follows the qform (taking its NaN as 0), and a NaN sform (which passes
    # ITK's comparisons with the qform)
    "NaN in the qform beside an aligned sform": (segment_3d(target="aligned_sform_qform_nan.nii"),
                                                 _not_finite("aligned_sform_qform_nan.nii", "qform", 1, "quatern_b = nan")),
    "NaN in an aligned sform beside a qform": (segment_3d(target="aligned_sform_nan.nii"),
                                               _not_finite("aligned_sform_nan.nii", "sform", 2, "srow_x = [3.0, 0.0, 0.0, nan]")),
    # before: nibabel's "pixdim[1,2,3] should be positive; setting to abs of pixdim values" first
    "negative pixdim": (segment_3d(target="negative_pixdim.nii"),
                        "negative_pixdim.nii: header gives pixel size [-3.0, 3.0, 3.0]; every pixel size must be positive: "
                        "save the file again with positive pixel sizes (pixdim) and any flip in its sform or qform, the "
                        "affine that places the voxels (ITK reads a negative size as positive, flipping its direction)"),
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


PLACED_AS_ITK_READS = {  # the CT crop with a header field that ITK (so Slicer, and rau) does not place its voxels by
    # before: refused, "its qform (code 1, which places the voxels) holds a number that is not finite (quatern_b = nan)"
    "NaN in the qform beside a scanner sform": ((QUATERN_B_OFFSET, "<f", float("nan")), (QOFFSET_X_OFFSET, "<f", float("nan"))),
    # before: "rau segment: internal error (HeaderDataError: qfac (pixdim[0]) should be 1 or -1)", exit 70
    "qfac 0 (NIfTI-1: read as 1)": ((QFAC_OFFSET, "<f", 0.0),),
}


def _segmented(folder, name) -> str:
    """``rau segment`` of the CT crop ``name``.nii in ``folder`` into ``out_<name>``, without the deformable stage (the
    placement is the point here, and the rigid and affine stages are the ones it reaches): what it said on stderr, the
    name said as ``<target>``."""
    done = subprocess.run([sys.executable, "-m", "rau.cli", *segment_3d("--no-deformable", target=f"{name}.nii", out=f"out_{name}/result.nii.gz")],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr.replace(name, "<target>")


@pytest.fixture(scope="module")
def clean_run(template, tmp_path_factory):
    """The clean ITK-written CT crop segmented once in this module: its folder (``clean.nii``, ``out_clean``) and what
    rau said (:func:`_segmented`)."""
    folder = copy_inputs(template, tmp_path_factory.mktemp("clean") / "case")
    _itk_nifti(folder, "clean.nii")
    return folder, _segmented(folder, "clean")


@pytest.mark.parametrize("patches", PLACED_AS_ITK_READS.values(), ids=PLACED_AS_ITK_READS.keys())
def test_a_nifti_that_itk_places_is_segmented_as_the_file_without_the_odd_field(inputs, patches, clean_run):
    """Placed by its scanner sform (code 1), as ITK, Slicer, nibabel and FSL place it: the result is the clean file's,
    voxel for voxel and placed alike, and the input is left as it was; its header's grid (the Slicer module's, rau
    serve's) is the clean file's too."""
    clean_folder, said_clean = clean_run
    _itk_nifti(inputs, "clean.nii")
    _itk_nifti(inputs, "odd.nii", *patches)
    assert (inputs / "clean.nii").read_bytes() == (clean_folder / "clean.nii").read_bytes()  # the file the module's run read
    before = snapshot(inputs)
    assert _segmented(inputs, "odd") == said_clean  # no warning of its own: ITK does not use the odd field
    assert header_grid(inputs / "odd.nii").same_grid(header_grid(inputs / "clean.nii"))
    clean, odd = (sitk.ReadImage(str(folder / f"out_{name}/result.nii.gz")) for folder, name in ((clean_folder, "clean"), (inputs, "odd")))
    for placed in ("GetOrigin", "GetDirection", "GetSpacing"):
        assert getattr(odd, placed)() == getattr(clean, placed)()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(odd), sitk.GetArrayFromImage(clean))
    assert {name: digest for name, digest in snapshot(inputs).items() if name in before} == before
