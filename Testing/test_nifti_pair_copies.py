"""A NIfTI-1 pair is its header and its voxels: whether a label map is a copy of its image, or a reference a copy of
the target, is judged on both files (two images of one grid and data type have byte-identical .hdr files), and the
.hdr and .img of one pair are one image, whichever names it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nibabel
import numpy as np
from bad_input_cases import inputs, template  # noqa: F401  (fixtures)
from test_bad_input import segment_3d, snapshot


def _pair(folder, name: str, data: np.ndarray) -> None:
    """``data`` on the CT crop's grid as the NIfTI-1 pair ``name`` (.hdr) and its .img, placed by qform and sform."""
    affine = nibabel.load(str(folder / "ct.nii.gz")).affine
    image = nibabel.Nifti1Pair(data, affine)
    image.set_qform(affine, 1)
    image.set_sform(affine, 1)
    nibabel.save(image, str(folder / name))


def _pairs(folder) -> None:
    """ct.hdr (the CT crop), labels.hdr (its label map in the CT's data type) and other.hdr (another CT on its grid),
    whose .hdr files are byte-identical; labels.nii.gz (the label map as a single file)."""
    ct = np.asarray(nibabel.load(str(folder / "ct.nii.gz")).dataobj)
    labels = np.asarray(nibabel.load(str(folder / "ct_labels.nii.gz")).dataobj).astype(ct.dtype)
    _pair(folder, "ct.hdr", ct)
    _pair(folder, "labels.hdr", labels)
    _pair(folder, "other.hdr", np.roll(ct, 3, axis=0))
    shutil.copy(folder / "ct_labels.nii.gz", folder / "labels.nii.gz")
    headers = {(folder / name).read_bytes() for name in ("ct.hdr", "labels.hdr", "other.hdr")}
    assert len(headers) == 1  # as the defect needs: only the voxels tell them apart


def _rau(folder, *argv) -> subprocess.CompletedProcess:
    """``rau`` run in ``folder`` (a process of its own)."""
    return subprocess.run([sys.executable, "-m", "rau.cli", *argv], cwd=folder, capture_output=True, text=True, timeout=300)


def _evaluate(folder, reference: str, target: str) -> subprocess.CompletedProcess:
    """``rau evaluate`` of one case: ``reference`` and ``target`` with labels.nii.gz for both."""
    (folder / "pairs.csv").write_text("reference_image,reference_labels,target_image,target_labels\n"
                                      f"{reference},labels.nii.gz,{target},labels.nii.gz\n")
    return _rau(folder, "evaluate", "pairs.csv", "--no-deformable", "--json", "out/scores.json")


def test_a_label_map_pair_beside_its_image_pair_of_the_same_header_is_no_copy(inputs):
    """Before: ``labels.hdr: the labels are a copy of the image ct.hdr; give the label map or segmentation``."""
    _pairs(inputs)
    done = _rau(inputs, *segment_3d("--no-deformable", ref="ct.hdr", labels="labels.hdr", target="other.hdr"))
    assert done.returncode == 0, done.stderr
    assert (inputs / "out/result.nii.gz").is_file()


def test_a_reference_pair_of_another_subject_on_the_targets_grid_is_no_copy(inputs):
    """Before: ``...ct.hdr is a copy of the target other.hdr (the same bytes); a target cannot be its own reference``."""
    _pairs(inputs)
    done = _evaluate(inputs, "ct.hdr", "other.hdr")
    assert done.returncode == 0, done.stderr
    assert (inputs / "out/scores.json").is_file()


def test_a_copied_pair_is_still_a_copy(inputs):
    """A pair whose header and voxels are both copied is a copy: as labels of its image, and as the target's reference."""
    _pairs(inputs)
    for suffix in (".hdr", ".img"):
        shutil.copy(inputs / f"ct{suffix}", inputs / f"copy{suffix}")
    before = snapshot(inputs)
    labels = _rau(inputs, *segment_3d(ref="ct.hdr", labels="copy.hdr", target="other.hdr"))
    assert labels.returncode == 2
    assert labels.stderr == ("rau segment: error: copy.hdr: the labels are a copy of the image ct.hdr; "
                             "give the label map or segmentation\n")
    reference = _evaluate(inputs, "copy.hdr", "ct.hdr")
    assert reference.returncode == 2
    assert "copy.hdr is a copy of the target ct.hdr (the same bytes)" in reference.stderr
    assert snapshot(inputs) == {**before, "pairs.csv": snapshot(inputs)["pairs.csv"]}


def test_the_header_and_voxels_of_one_pair_are_one_image(inputs):
    """Before: ``--reference ct.hdr --target ct.img`` (one image named by its two files) was segmented, and its .img
    was taken as its own labels' image without a word."""
    _pairs(inputs)
    before = snapshot(inputs)
    reference = _rau(inputs, *segment_3d(ref="ct.hdr", target="ct.img"))
    assert reference.returncode == 2
    assert reference.stderr == ("rau segment: error: --reference ct.hdr is the target ct.img itself; a target cannot be its "
                                "own reference, leave it out\n")
    labels = _rau(inputs, *segment_3d(ref="ct.hdr", labels="ct.img", target="other.hdr"))
    assert labels.returncode == 2
    assert labels.stderr == ("rau segment: error: ct.img: the labels are the image file itself; give the label map or "
                             "segmentation\n")
    assert snapshot(inputs) == before
