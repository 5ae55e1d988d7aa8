"""The warning of inside points a correction leaves out: a click a voxel off the answer counts as held (thin vessels)
only where no other structure holds the clicked voxel; where one does, the structure gave way there and the user is
told (with the overwrite hint), in ``rau correct`` as in the session, the server and the Slicer module."""

from __future__ import annotations

import numpy as np
from test_correction import noisy, on_grid

from rau.cli import main
from rau.engines.base import Prompt
from rau.io import read_segmentation, write_image
from rau.io.label_tables import write_label_table
from rau.labels import LabelSet, Structure
from rau.result import StructureResult
from rau.reprompt_notes import inside_points_warning


def two_neighbours(tmp_path, capsys):
    """``rau segment`` of one tissue split into "left" (label 1) and "right" (label 2) side by side: the run's
    result JSON and the masks it found."""
    labels = np.zeros((12, 40, 40), np.uint8)
    labels[2:10, 10:30, 6:20], labels[2:10, 10:30, 20:34] = 1, 2
    image = on_grid(noisy(labels > 0).astype(np.float32), (2.0, 1.0, 1.0))
    write_image(image, tmp_path / "image.nii.gz")
    write_image(image, tmp_path / "target.nii.gz")
    write_image(image.with_array(labels), tmp_path / "labels.nii.gz")
    write_label_table(LabelSet((Structure("left", 1), Structure("right", 2))), tmp_path / "table.csv")
    run = tmp_path / "out" / "run.nii.gz"
    assert main(["segment", "--reference", str(tmp_path / "image.nii.gz"), "--reference-labels", str(tmp_path / "labels.nii.gz"),
                 "--label-table", str(tmp_path / "table.csv"), "--target", str(tmp_path / "target.nii.gz"),
                 "--no-deformable", "--out", str(run)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return run.with_name("run.result.json"), read_segmentation(run).masks


def test_rau_correct_warns_of_an_inside_click_the_structure_gave_way_to_another_on(tmp_path, capsys):
    """Before: "left" held the voxel next to the click, so the click counted as held and nothing was said, though
    the clicked voxel stayed "right"'s."""
    saved, masks = two_neighbours(tmp_path, capsys)
    k, j = 6, 20
    i = int(np.argmax(masks["right"][k, j]))  # right's first voxel on this row, left's last just before it
    assert masks["right"][k, j, i] and masks["left"][k, j, i - 1]
    said = {}
    for flag in ([], ["--overwrite-others"]):
        out = tmp_path / "out" / f"fixed{len(flag)}.nii.gz"
        assert main(["correct", str(saved), "--structure", "left", "--inside", f"{i},{j},{k}", *flag, "--out", str(out)]) == 0
        said[bool(flag)] = (capsys.readouterr().err, read_segmentation(out).masks["left"][k, j, i])
    assert said[False] == ("warning: 'left' leaves out 1 of the 1 inside points given (its answer held them but gave way to 'right' "
                           "there; --overwrite-others to take them)\n", False)
    assert said[True] == ("", True)  # taking right's voxels, it holds the click


def test_a_click_a_voxel_off_an_answer_counts_as_held_unless_another_structure_holds_that_voxel():
    vessel = np.zeros((1, 9, 9), bool)
    vessel[0, 4, :] = True  # one voxel wide
    item = StructureResult(Structure("vessel", 1), vessel, 1.0, "vessels")
    off = Prompt(points=[(4, 5, 0)], labels=[1])  # (i, j, k): a voxel below the vessel
    nobody, other = np.zeros(vessel.shape, bool), np.zeros(vessel.shape, bool)
    other[0, 5, 4] = True
    assert inside_points_warning("vessel", off, item, nobody, "vessels", None) is None
    assert inside_points_warning("vessel", off, item, other, "vessels", None) == (
        "'vessel' leaves out 1 of the 1 inside points given (the engine's answer; add points)")
    on = Prompt(points=[(4, 4, 0)], labels=[1])
    assert inside_points_warning("vessel", on, item, vessel, "vessels", None) is None  # shared voxels (layers) are held
