"""Names that fit file systems (255 bytes) but whose companions (a label table beside a label map or a result, a NIfTI
pair's other file) would not: a companion whose name no file system holds is not there, and is never asked after in
the system's words."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nibabel
from bad_input_cases import inputs, template  # noqa: F401  (fixtures)
from test_bad_input import segment_3d

MAX_NAME_BYTES = 255


def _rau(folder, *argv) -> subprocess.CompletedProcess:
    """``rau`` run in ``folder`` (a process of its own)."""
    return subprocess.run([sys.executable, "-m", "rau.cli", *argv], cwd=folder, capture_output=True, text=True, timeout=300)


def test_a_result_whose_outputs_fit_file_systems_is_written(inputs):
    """Before: ``rau segment: error: aaa….nii.labels.csv: file name too long`` (a table looked for beside the result)."""
    stem = "a" * (MAX_NAME_BYTES - len(".result.json"))
    written = [f"{stem}.nii", f"{stem}.labels.csv", f"{stem}.result.json"]
    assert max(len(name) for name in written) == MAX_NAME_BYTES
    done = _rau(inputs, *segment_3d("--no-deformable", out=f"{stem}.nii"))
    assert done.returncode == 0, done.stderr
    assert all((inputs / name).is_file() for name in written)


def test_a_label_map_whose_name_fits_file_systems_is_read(inputs):
    """Before: ``rau segment: error: lll….nii.gz.labels.csv: file name too long`` (a table looked for beside it)."""
    labels = "l" * (MAX_NAME_BYTES - len("lab.nii.gz")) + ".nii.gz"
    shutil.copy(inputs / "ct_labels.nii.gz", inputs / labels)
    done = _rau(inputs, *segment_3d("--no-deformable", labels=labels))
    assert done.returncode == 0, done.stderr
    assert (inputs / "out/result.nii.gz").is_file()


def test_a_pair_header_of_the_longest_name_without_its_voxels_is_refused_in_rau_words(inputs):
    """Its voxels (the .img, else the .img.gz, whose name no file system holds) are not there: before, rau said
    ``hhh….img.gz: file name too long`` of the .img.gz looked for."""
    header = "h" * (MAX_NAME_BYTES - len(".hdr")) + ".hdr"
    ct = nibabel.load(str(inputs / "ct.nii.gz"))
    nibabel.save(nibabel.Nifti1Pair(ct.dataobj, ct.affine), str(inputs / header))
    (inputs / header).with_suffix(".img").unlink()
    done = _rau(inputs, *segment_3d(target=header))
    assert done.returncode == 2
    assert done.stderr == f"rau segment: error: {header}: a NIfTI pair without its voxels: no {header[:-4]}.img (gzipped or not) beside it\n"
