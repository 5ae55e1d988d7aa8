"""NIfTI results keep the qform and sform codes of the NIfTI target they lie on (what space its coordinates are in)."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from rau.io import read_image, write_image, write_label_map
from rau.labels import LabelSet, Segmentation


def nifti_with_codes(path: Path, array: np.ndarray, codes: tuple[int, int]) -> Path:
    """``array`` (i, j, k order) saved as NIfTI with an oblique placement and these qform and sform codes."""
    import nibabel

    turn = np.deg2rad(20.0)
    placement = np.eye(4)
    placement[:3, :3] = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]]) @ np.diag([1.5, 1.2, 2.0])
    placement[:3, 3] = (30.0, -20.0, 5.0)
    nifti = nibabel.Nifti1Image(array, None)
    nifti.header.set_qform(placement, code=codes[0])
    nifti.header.set_sform(placement, code=codes[1])
    nibabel.save(nifti, str(path))
    return path


@pytest.mark.parametrize("codes", [(0, 4), (2, 2), (1, 0), (0, 2), (1, 1)])
@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("slices", [6, 1])  # a volume; a 2D image as a 1-slice volume
def test_a_label_map_written_on_a_nifti_keeps_its_qform_and_sform_codes(tmp_path, codes, suffix, slices):
    """The codes say what space the coordinates are in (4: MNI): ITK's writer wrote 1 (scanner) for every result,
    so AFNI, which goes by the code, put a result on an MNI target in another space. The voxels and their
    placement are the target's."""
    import nibabel

    rng = np.random.default_rng(0)
    target = read_image(nifti_with_codes(tmp_path / f"target{suffix}", rng.integers(0, 100, (7, 5, slices)).astype(np.int16), codes))
    labels = LabelSet.from_values([1, 2], {1: "a", 2: "b"})
    values = rng.integers(0, 3, target.shape)
    segmentation = Segmentation(target.with_array(np.zeros(target.shape, np.uint8)), labels, {"a": values == 1, "b": values == 2})
    written = write_label_map(segmentation, tmp_path / f"labels{suffix}")[0]
    header = nibabel.load(str(written)).header
    assert (int(header["qform_code"]), int(header["sform_code"])) == codes
    source, result = sitk.ReadImage(str(tmp_path / f"target{suffix}")), sitk.ReadImage(str(written))
    for placed in ("GetOrigin", "GetDirection", "GetSpacing"):  # a NIfTI holds single precision
        np.testing.assert_allclose(getattr(result, placed)(), getattr(source, placed)(), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(read_image(written).array, segmentation.to_label_map().array)


def test_a_nifti_placed_nowhere_gives_a_label_map_placed_as_itk_reads_it(tmp_path):
    """Codes 0 and 0: ITK reads the voxel sizes only; the written file says so with code 1, as before."""
    import nibabel

    target = read_image(nifti_with_codes(tmp_path / "target.nii.gz", np.ones((7, 5, 6), np.int16), (0, 0)))
    write_image(target.with_array(np.ones(target.shape, np.uint8)), tmp_path / "labels.nii.gz")
    header = nibabel.load(str(tmp_path / "labels.nii.gz")).header
    assert (int(header["qform_code"]), int(header["sform_code"])) == (1, 1)
    assert read_image(tmp_path / "labels.nii.gz").same_grid(target)


def test_a_nifti_whose_two_forms_place_it_apart_gives_a_result_with_itks_codes(tmp_path):
    """Scanner qform (code 1) and MNI sform (code 4) 10 mm apart: ITK places the voxels by the qform and the result
    holds that placement in both forms, so keeping code 4 would have declared the scanner placement MNI (nibabel,
    which follows the sform, put it 10 mm off). Its codes are ITK's, 1 and 1, as before."""
    import nibabel

    qform = np.diag([-1.5, -1.2, 2.0, 1.0])
    sform = qform.copy()
    sform[0, 3] = 10.0
    nifti = nibabel.Nifti1Image(np.ones((6, 5, 4), np.int16), None)
    nifti.header.set_qform(qform, code=1)
    nifti.header.set_sform(sform, code=4)
    nibabel.save(nifti, str(tmp_path / "apart.nii.gz"))
    target = read_image(tmp_path / "apart.nii.gz")
    write_image(target.with_array(np.ones(target.shape, np.uint8)), tmp_path / "labels.nii.gz")
    written = nibabel.load(str(tmp_path / "labels.nii.gz"))
    assert (int(written.header["qform_code"]), int(written.header["sform_code"])) == (1, 1)
    np.testing.assert_allclose(written.affine, qform, atol=1e-5)  # where ITK, Slicer and rau put the target's voxels


def test_a_gzip_label_map_given_the_targets_codes_is_the_same_bytes_at_any_time(tmp_path, monkeypatch):
    """Before, the file compressed again with the target's codes carried the time of writing in its gzip header:
    two runs on one target wrote different files (ITK's own gzip output is timeless)."""
    import time

    target = read_image(nifti_with_codes(tmp_path / "target.nii.gz", np.ones((7, 5, 6), np.int16), (0, 2)))
    written = []
    for clock in (1.0e9, 2.0e9):
        monkeypatch.setattr(time, "time", lambda clock=clock: clock)
        written.append(write_image(target.with_array(np.ones(target.shape, np.uint8)), tmp_path / f"labels_{clock:.0f}.nii.gz").read_bytes())
    assert written[0] == written[1]
