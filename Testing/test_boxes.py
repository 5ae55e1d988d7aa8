"""One rule for boxes (:func:`rau.boxes.check_corners`): an inverted or zero-size box gets the same message
from the Python API and the server (``rau correct --box``: Testing/test_cli_correct.py); box corners follow
the rule of points (:func:`rau.session.prompt_point`)."""

import numpy as np
import pytest

from rau.boxes import Box
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.image import Image
from rau.serve.wire import prompt_from_json
from rau.session import check_prompt

TARGET = Image(np.zeros((1, 50, 50)), ndim=2)


@pytest.mark.parametrize("lower, upper, problem", [
    ((30, 10, 0), (10, 40, 1), "is inverted: its lower corner lies above its upper one along i"),
    ((40, 40, 1), (10, 10, 0), "is inverted: its lower corner lies above its upper one along i, j, k"),
], ids=["along i", "along every axis"])
def test_an_inverted_box_is_refused_by_one_rule_in_the_python_api_and_the_server(lower, upper, problem):
    """The server names the box as its client sent it (lists), the Python API by its corners (tuples)."""
    with pytest.raises(InputError) as made:
        Box(lower, upper)
    with pytest.raises(InputError) as sent:
        prompt_from_json({"box": {"lower": list(lower), "upper": list(upper)}}, TARGET)
    assert str(made.value) == f"the box {lower}..{upper} {problem}"
    assert str(sent.value) == f"the box {list(lower)}..{list(upper)} {problem}"


def test_a_zero_size_box_is_a_box_but_no_prompt():
    box = Box((10, 10, 0), (10, 40, 1))
    assert box.empty  # boxes may be empty (clipping makes them); a prompt may not
    for checked, problem in ((lambda: check_prompt(Prompt(box=box), TARGET), "the box (10, 10, 0)..(10, 40, 1) has zero size"),
                             (lambda: prompt_from_json({"box": {"lower": [10, 10], "upper": [10, 40]}}, TARGET),
                              "the box [10, 10]..[10, 40] has zero size")):  # as sent: before, with a k it was not sent
        with pytest.raises(InputError) as refused:
            checked()
        assert str(refused.value) == problem


def test_box_corners_follow_the_rule_of_points():
    """[i, j] corners on a 2D target span its one slice, as [i, j] points lie on it (:func:`rau.session.prompt_point`);
    a 3D target needs i, j, k for both."""
    two, three = ({"box": {"lower": lower, "upper": upper}} for lower, upper in (([10, 10], [20, 30]), ([10, 10, 0], [20, 30, 1])))
    assert prompt_from_json(two, TARGET).box == prompt_from_json(three, TARGET).box == Box((10, 10, 0), (20, 30, 1))
    with pytest.raises(InputError) as refused:
        prompt_from_json(two, Image(np.zeros((4, 50, 50))))
    assert str(refused.value) == "the box [10, 10]..[20, 30]: give both corners as i,j,k (i0,j0,k0,i1,j1,k1) for this 3D target"


def test_the_server_takes_i_j_k_of_a_1_slice_volume_s_own_file_as_rau_correct_does(tmp_path):
    """Before, the server read [i, j, k] in the image's own order: a volume stored along j needed [i, k, 0], and a
    result's own box (reported in the file's indices) was refused when sent back."""
    import SimpleITK as sitk
    from single_slice import one_slice_volume

    from rau.io import read_image
    from rau.serve.wire import prompt_to_json

    sitk.WriteImage(one_slice_volume(np.zeros((20, 30), np.float32), 0.5, axis="j"), str(tmp_path / "coronal.nii.gz"))
    target = read_image(tmp_path / "coronal.nii.gz")
    sent = {"points": [[12, 0, 5]], "labels": [1], "box": {"lower": [10, 0, 3], "upper": [20, 1, 9]}}
    prompt = prompt_from_json(sent, target)
    assert prompt.points == [(12, 5, 0)] and prompt.box == Box((10, 3, 0), (20, 9, 1))
    assert prompt_to_json(prompt, target) == {**sent, "points": [[12.0, 0.0, 5.0]], "names": []}  # the remote engine sends the file's indices; unnamed points stay unnamed, as in a local run
    with pytest.raises(InputError, match=r"the point \[12, 3, 5\]: outside the target \(voxels 0..29, 0..0, 0..19 along i, j, k\)"):
        prompt_from_json({"points": [[12, 3, 5]], "labels": [1]}, target)


def test_a_box_past_the_edge_is_cut_to_the_image_and_a_voxel_cannot_be_inside_and_outside():
    """Before, a box reaching past the edge kept its uncut centre, which an engine dropped as outside (or, SAM2,
    crashed on); and a voxel both inside and outside was taken."""
    from rau.labels import Structure
    from rau.result import StructureResult
    from rau.session import Session

    class Recording(Session):
        def _reprompt(self, name, prompt, progress):
            self.seen = prompt
            return self.results[name]

    session = Recording(TARGET, {"head": StructureResult(Structure("head", 1), None, 0.0, "test")})
    session.reprompt("head", Prompt(box=Box((-30, 40, 0), (20, 90, 1))))
    assert session.seen.box == Box((0, 40, 0), (20, 50, 1))
    with pytest.raises(InputError, match=r"the voxel \(3, 4, 0\) \(i, j, k\) is given as both inside and outside"):
        check_prompt(Prompt(points=[(3, 4, 0), (3.2, 4, 0)], labels=[1, 0]), TARGET)
    named = Prompt(points=[(3, 4, 0), (9, 9, 0), (3.2, 4, 0)], labels=[1, 1, 0], names=["--inside '3,4'", "--inside '9,9'", "--outside '3.2,4'"])
    with pytest.raises(InputError, match=r"is given as both inside and outside \(--inside '3,4'; --outside '3.2,4'\); keep one"):
        check_prompt(named, TARGET)  # named as the user gave them (before, by the voxel alone)


def test_a_box_acts_on_its_slice_only_where_it_is_one_voxel_thick_across_a_volume_s_slices():
    volume = Image(np.zeros((6, 8, 10)))
    flat = Box((2, 3, 4), (7, 6, 5)).acts_on(volume)
    assert flat[4].all() and flat.sum() == 8 * 10  # drawn flat on an axial slice view: that slice
    assert Box((2, 3, 4), (7, 4, 5)).acts_on(volume).sum() == 10  # one voxel thick along j and k: its row
    assert Box((2, 3, 4), (7, 6, 6)).acts_on(volume).all()  # two slices thick: the whole volume
    assert Box((2, 3, 0), (7, 4, 1)).acts_on(TARGET).all()  # a picture's one-pixel-tall box: the whole picture
    assert Box((2, 3, 0), (7, 6, 1)).acts_on(Image(np.zeros((1, 8, 10)))).all()  # a volume of one slice: all of it


def test_the_box_of_a_mask_is_the_tightest_around_its_voxels():
    """Box.from_mask reads the whole mask once, then only within its (i, j) box: the same box as its voxels' extremes."""
    rng = np.random.default_rng(3)
    for shape in ((1, 9, 7), (6, 1, 5), (8, 10, 12)):
        for fraction in (0.0, 0.002, 0.3):
            mask = rng.random(shape) < fraction
            box = Box.from_mask(mask)
            if not mask.any():
                assert box is None
                continue
            k, j, i = np.nonzero(mask)
            assert (box.lower, box.upper) == ((i.min(), j.min(), k.min()), (i.max() + 1, j.max() + 1, k.max() + 1))


def test_counts_and_overlaps_within_a_mask_s_box_are_those_of_the_whole_mask():
    """Box.around: every voxel of the mask lies in its box, so counting, overlapping and marking there (as
    hidden_in_label_map, to_label_map and share_inside do) gives what the whole volume gives; an empty mask has none."""
    rng = np.random.default_rng(3)
    corners = np.zeros((6, 7, 8), bool)
    corners[0, 0, 0] = corners[-1, -1, -1] = True  # touching the volume's edges
    masks = [np.zeros((6, 7, 8), bool), np.ones((6, 7, 8), bool), corners, rng.random((1, 9, 5)) < 0.3]
    for _ in range(20):
        mask = np.zeros((6, 7, 8), bool)
        low = rng.integers(0, (6, 7, 8))
        high = [int(rng.integers(a, n)) + 1 for a, n in zip(low, (6, 7, 8))]
        mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]] = rng.random([h - l for l, h in zip(low, high)]) < 0.6
        masks.append(mask)
    for mask in masks:
        boxed = Box.around(mask)
        if not mask.any():
            assert boxed is None
            continue
        box, inside = boxed
        other = rng.random(mask.shape) < 0.5
        assert box == Box.from_mask(mask)
        assert np.count_nonzero(inside) == np.count_nonzero(mask)
        assert np.count_nonzero(inside & other[box.slices()]) == np.count_nonzero(mask & other)
        marked = other.copy()
        marked[box.slices()] |= inside
        assert np.array_equal(marked, other | mask)
