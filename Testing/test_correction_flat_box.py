"""A box drawn flat on a slice view of a volume (one voxel thick) corrects its slice only, with the weight-free
corrector: in ``correct_mask`` and through ``rau correct --box`` (an ROI in a real scene: test_mrml_flat_box.py)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from test_correction import disk, noisy, on_grid

from rau.boxes import Box
from rau.cli import main
from rau.correction import correct_mask
from rau.correction.grow import Seeds
from rau.fusion import dice
from rau.io import read_segmentation, write_image
from rau.io.label_tables import write_label_table
from rau.labels import LabelSet, Structure


def cylinder(shape=(24, 48, 48), slices=(6, 18), spacing_kji=(1.0, 1.0, 1.0)):
    """A disk of radius 12 on slices ``slices`` of a volume, and the volume."""
    truth = np.zeros(shape, bool)
    truth[slice(*slices)] = disk(shape[1:], (shape[1] // 2, shape[2] // 2), 12)
    return truth, on_grid(noisy(truth).astype(np.float32), spacing_kji)


def test_a_flat_box_cuts_its_slice_and_leaves_the_other_slices_as_they_were():
    """Before, ``mask &= box`` over the whole volume removed the structure from every other slice (a liver on 9
    slices kept only the box's)."""
    truth, image = cylinder()
    box = Box((10, 16, 12), (30, 40, 13))  # the disk's left part on slice 12
    corrected = correct_mask(image, truth, Seeds([], []), Seeds([], []), box)
    others = np.ones(truth.shape[0], bool)
    others[12] = False
    assert np.array_equal(corrected[others], truth[others])
    assert np.array_equal(corrected[12], (truth & box.mask(truth.shape))[12]) and corrected[12].sum() < truth[12].sum()


def test_a_box_two_slices_thick_still_keeps_the_structure_inside_it_everywhere():
    truth, image = cylinder()
    box = Box((10, 16, 12), (30, 40, 14))
    corrected = correct_mask(image, truth, Seeds([], []), Seeds([], []), box)
    assert np.array_equal(corrected, truth & box.mask(truth.shape))


def test_a_flat_box_on_a_slice_the_structure_misses_finds_it_there_and_keeps_the_rest():
    """Before, the box found the structure on its slice and every other slice was emptied."""
    truth, image = cylinder()
    mask = truth.copy()
    mask[12] = False  # the engine missed one slice
    box = Box.from_mask(truth[12:13])
    box = Box((*box.lower[:2], 12), (*box.upper[:2], 13))
    corrected = correct_mask(image, mask, Seeds([], []), Seeds([], []), box)
    others = np.ones(truth.shape[0], bool)
    others[12] = False
    assert np.array_equal(corrected[others], mask[others])
    assert dice(corrected[12], truth[12]) > 0.9 and not (corrected[12] & ~box.mask(truth.shape)[12]).any()


def segmented_cylinder(tmp_path, capsys):
    """``rau segment`` of a disk on slices 4..11 of a 16-slice volume: the run's path and the disk it found."""
    truth, image = cylinder((16, 40, 40), (4, 12), (2.0, 1.0, 1.0))
    write_image(image, tmp_path / "ref.nii.gz")
    write_image(image.with_array(truth.astype(np.uint8)), tmp_path / "ref_labels.nii.gz")
    write_image(image, tmp_path / "target.nii.gz")
    write_label_table(LabelSet((Structure("disk", 1),)), tmp_path / "disk.labels.csv")
    run = tmp_path / "out" / "run.nii.gz"
    assert main(["segment", "--reference", str(tmp_path / "ref.nii.gz"), "--reference-labels", str(tmp_path / "ref_labels.nii.gz"),
                 "--label-table", str(tmp_path / "disk.labels.csv"), "--target", str(tmp_path / "target.nii.gz"),
                 "--no-deformable", "--out", str(run)]) == 0, capsys.readouterr().err
    return run, read_segmentation(run).masks["disk"]


def test_rau_correct_with_a_box_one_slice_thick_corrects_that_slice_only(tmp_path, capsys):
    run, before = segmented_cylinder(tmp_path, capsys)
    assert (before.sum(axis=(1, 2)) > 0).sum() > 4 and before[8, :, :20].any()
    fixed = tmp_path / "out" / "fixed.nii.gz"
    assert main(["correct", str(tmp_path / "out" / "run.result.json"), "--structure", "disk", "--box", "20,0,8,39,39,8",
                 "--out", str(fixed)]) == 0, capsys.readouterr().err
    after = sitk.GetArrayFromImage(sitk.ReadImage(str(fixed))) > 0
    others = np.ones(before.shape[0], bool)
    others[8] = False
    assert np.array_equal(after[others], before[others])
    assert np.array_equal(after[8, :, 20:], before[8, :, 20:]) and not after[8, :, :20].any()


def test_a_flat_box_on_a_slice_the_structure_misses_keeps_the_outside_clicks_given_with_it():
    """Before, the box's slice was found and the correction returned at once: an outside click on another slice,
    given in the same correction, was dropped (its slice kept all 441 voxels)."""
    truth, image = cylinder((40, 48, 48), (4, 36))
    mask = truth.copy()
    mask[8] = False  # the engine missed one slice
    box = Box.from_mask(truth[8:9])
    box = Box((*box.lower[:2], 8), (*box.upper[:2], 9))
    click = Seeds([(28, 24, 33)], [0])  # near the disk's edge on slice 28
    corrected = correct_mask(image, mask, click, click, box)
    alone = correct_mask(image, mask, click, click, None)
    assert alone[28].sum() < mask[28].sum()
    assert np.array_equal(corrected[28], alone[28])
    assert dice(corrected[8], truth[8]) > 0.9 and not (corrected[8] & ~box.mask(truth.shape)[8]).any()


def test_rau_correct_takes_an_inside_point_off_a_flat_box_slice_and_refuses_one_outside_the_box_on_it(tmp_path, capsys):
    """A flat box acts on its slice only, so an inside point on another slice is the clicks' to use; before, it was
    refused: "lies outside --box ..., given with it: a correction keeps the structure inside its box"."""
    run, before = segmented_cylinder(tmp_path, capsys)
    fixed = tmp_path / "out" / "fixed.nii.gz"
    correct = ["correct", str(run.with_name("run.result.json")), "--structure", "disk", "--box", "20,0,8,39,39,8", "--out", str(fixed)]
    assert main([*correct, "--inside", "20,20,12"]) == 0, capsys.readouterr().err
    after = sitk.GetArrayFromImage(sitk.ReadImage(str(fixed))) > 0
    assert after[12].sum() > before[12].sum() and not after[8, :, :20].any()
    fixed.unlink()
    assert main([*correct, "--inside", "5,20,8", "--overwrite"]) == 2
    assert "--inside '5,20,8' lies outside --box '20,0,8,39,39,8', given with it" in capsys.readouterr().err
