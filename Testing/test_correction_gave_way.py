"""A correction whose answer gave way to other structures (no --overwrite-others) is told so, naming them and the
option that takes their voxels: not as "this prompt changes nothing", nor as inside points the engine's answer left out."""

from __future__ import annotations

import numpy as np
from test_correction import disk, noisy
from test_inside_points_left_out import two_neighbours

from rau.cli import main
from rau.correction import CorrectorSession
from rau.engines.base import Prompt
from rau.image import Image
from rau.io import read_segmentation
from rau.labels import Structure
from rau.reprompt_notes import inside_points_warning, unchanged_reason
from rau.result import Result, StructureResult

GAVE_WAY = "its answer gave way to 'right', which holds those voxels; --overwrite-others to take them"


def test_rau_correct_says_a_correction_that_gave_way_everywhere_gave_way_not_that_it_changes_nothing(tmp_path, capsys):
    """Before: "left: 2240 voxels (unchanged: this prompt changes nothing)", and the click on right's voxel was
    blamed on the engine's answer, though with --overwrite-others the same prompt gives left 3685 voxels."""
    saved, masks = two_neighbours(tmp_path, capsys)
    prompt = ["--structure", "left", "--inside", "27,20,6", "--box", "6,10,2,33,29,9"]  # the click on right, the box around both
    out = tmp_path / "out" / "fixed.nii.gz"
    assert main(["correct", str(saved), *prompt, "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert np.array_equal(read_segmentation(out).masks["left"], masks["left"])  # written as it was: it gave way everywhere
    assert f"left: {masks['left'].sum()} voxels (unchanged: {GAVE_WAY});" in said.out, said.out
    assert said.err == ("warning: 'left' leaves out 1 of the 1 inside points given (its answer held them but gave way to 'right' "
                        "there; --overwrite-others to take them)\n")
    taken = tmp_path / "out" / "taken.nii.gz"
    assert main(["correct", str(saved), *prompt, "--overwrite-others", "--out", str(taken)]) == 0
    assert "unchanged" not in capsys.readouterr().out and read_segmentation(taken).masks["left"].sum() > masks["left"].sum()


def test_the_session_says_a_structure_not_found_whose_answer_gave_way_everywhere_gave_way():
    """Before: "this prompt changes nothing" (the written mask, empty, was compared with the empty one before)."""
    image = Image(noisy(disk((1, 64, 64), (0, 32, 32), 20)), spacing=(1.0, 1.0, 1.0), ndim=2)
    result = Result(image, [StructureResult(Structure("missing", 1), None, 0.0, "t"),
                            StructureResult(Structure("other", 2), np.ones(image.shape, bool), 0.9, "t")], "t")
    session, prompt = CorrectorSession(result), Prompt(points=[(30, 30, 0)], labels=[1])
    written = result.put_correction(session.reprompt("missing", prompt), session)
    assert not written.found
    option = "tick 'Overwrite other segments under the new mask'"
    assert unchanged_reason(session, None, written, option) == f"its answer gave way to 'other', which holds those voxels; {option} to take them"
    assert inside_points_warning("missing", prompt, written, result.held_by_others("missing"), "t", option, session=session) == (
        f"'missing' leaves out 1 of the 1 inside points given (its answer held them but gave way to 'other' there; {option} to take them)")
    assert unchanged_reason(session, written.mask, session.reprompt("missing", Prompt(points=[(30, 30, 0)], labels=[0])), option) == (
        "this prompt changes nothing")  # an outside click on nothing: the engine's answer is as before


def test_the_structures_it_gave_way_to_are_named_each_in_quotes():
    """Before: "gave way to a|b, comma, and "quoted" and tilde~, which hold those voxels": no one could tell where a name
    ended; each name is now quoted as Python writes it, as the overlap warning names structures."""
    image = Image(noisy(disk((1, 64, 64), (0, 32, 32), 20)), spacing=(1.0, 1.0, 1.0), ndim=2)
    holders = ("a|b", "comma, and", '"quoted"', "it's")
    result = Result(image, [StructureResult(Structure("missing", 1), None, 0.0, "t")]
                    + [StructureResult(Structure(name, value), np.ones(image.shape, bool), 0.9, "t")
                       for value, name in enumerate(holders, start=2)], "t")
    session = CorrectorSession(result)
    written = result.put_correction(session.reprompt("missing", Prompt(points=[(30, 30, 0)], labels=[1])), session)
    assert unchanged_reason(session, None, written, None) == (
        """its answer gave way to 'a|b', 'comma, and', '"quoted"' and "it's", which hold those voxels""")
