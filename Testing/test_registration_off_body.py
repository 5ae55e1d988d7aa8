"""A volume target with part of the body replaced by air: the registration engine draws the references' whole anatomy,
and flags the structures it draws mostly on the air (:mod:`rau.body`)."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import slicerio

from rau.body import body_mask, share_inside
from rau.engines import Request, create_engine
from rau.fusion import dice
from rau.image import Image
from rau.io import read_image
from rau.references import load_reference

ON_AIR = ["label_1", "label_3", "label_11"]  # spleen, left kidney, left lower lung lobe
ON_BODY = ["label_2", "label_5", "label_14"]  # right kidney, liver, right lower lung lobe
MR_INSIDE = ["label_5", "label_4", "label_1"]  # liver, gallbladder, spleen in TotalSegmentator's MR table


@pytest.fixture(scope="module")
def ct_a(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")


def test_the_body_holds_the_lungs_and_not_the_air_around_it(ct_a):
    """The lungs are dark as air, and lie inside the body: between tissue along the rows or columns of their slices."""
    body = body_mask(ct_a.image)
    for name in ("label_11", "label_14"):
        assert share_inside(ct_a.segmentation.mask(name), body) == 1.0
    assert not body[:, 0, 0].any() and body.mean() < 0.8


def test_the_air_inside_a_scanners_field_of_view_is_no_body():
    """slicerio's chest CT, filled with -3024 HU outside the scan circle (a fifth of its voxels): chosen among all
    voxels, the Otsu threshold fell between the fill and the air, and the body was the whole circle (Dice 0.70 to its
    segments, which cover the body: tissue, bones, lungs); the air is left out now."""
    data = Path(slicerio.__file__).parent / "data"
    reference = load_reference(data / "CTChest4.nrrd", data / "Segmentation.seg.nrrd")
    body = body_mask(reference.image)
    assert dice(body, reference.segmentation.union()) > 0.88
    for name in reference.segmentation.labels.names:
        assert share_inside(reference.segmentation.mask(name), body) > 0.99, name


def test_the_body_of_a_volume_stored_in_8_bits():
    """A volume of uint8 (an MR stored in 8 bits): compared in SimpleITK, the floor of -1100 became 196 and no voxel
    of this one counted."""
    array = np.zeros((3, 20, 20), np.uint8)
    array[:, 5:15, 5:15], array[:, 8:12, 8:12] = 100, 3
    body = body_mask(Image(array))
    assert body.sum() == 300 and body[:, 5:15, 5:15].all()


def test_a_lung_cut_open_by_the_edge_of_the_body_lies_inside_it():
    """slicerio's chest CT with its left half (i < 64; it runs to the patient's right) set to -1024 HU: the right lung
    opens onto that air in most of its slices, and filling each slice's holes left 97 % of it outside the body."""
    data = Path(slicerio.__file__).parent / "data"
    reference = load_reference(data / "CTChest4.nrrd", data / "Segmentation.seg.nrrd")
    array = reference.image.array.copy()
    array[:, :, :64] = -1024
    body = body_mask(reference.image.with_array(array))
    assert share_inside(reference.segmentation.mask("right lung"), body) > 0.95  # 0.976; filled holes: 0.031
    assert not body[:, :, :64].any()


def test_structures_drawn_on_the_air_of_a_half_target_are_flagged_and_the_others_not(ct_a):
    """CT A onto itself with its left half (i < 61; it runs to the patient's right) set to -1024 HU: the spleen, left
    kidney and left lung lobe were drawn on the air and reported found with the registration's full confidence and no
    message. They keep their voxels, with a message (of the one reference, not "the references") and their confidence
    times the share inside the body; the right kidney, liver and right lung lobe (dark, but inside the body) are
    untouched."""
    array = ct_a.image.array.copy()
    array[:, :, :61] = -1024
    target = ct_a.image.with_array(array)
    for name in ON_AIR:
        assert (np.nonzero(ct_a.segmentation.mask(name))[2] < 61).all(), "fixture: a structure of the left half"
    result = create_engine("registration", {"deformable": False}).run(Request([ct_a], target, ON_AIR + ON_BODY))
    similarity = max(result.get(name).confidence for name in ON_BODY + ON_AIR)  # one reference: the confidence of all
    body = body_mask(target)
    for name in ON_AIR:
        item = result.get(name)
        inside = share_inside(item.mask, body)
        assert item.found and inside < 0.5, (name, inside)
        assert f"{1 - inside:.1%} of its voxels lie outside the target's body, on air, where the reference draws it" in item.message
        assert item.confidence == pytest.approx(similarity * inside) and item.confidence < 0.5 * similarity
    for name in ON_BODY:
        item = result.get(name)
        assert item.found and item.message == "" and item.confidence == similarity, name


@pytest.fixture(scope="module")
def mr_c(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjC_mr"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg_mr.nii.gz")


@pytest.fixture(scope="module")
def mr_c_inside(shared_data, tmp_path_factory):
    """MR C cropped to x 20:100, y 25:75, all slices: a field of view inside the body, no air in it."""
    whole = sitk.ReadImage(str(shared_data / "totalseg_test_fixtures/subjC_mr/image.nii.gz"))
    path = tmp_path_factory.mktemp("mr_inside") / "crop.nii.gz"
    sitk.WriteImage(whole[20:100, 25:75, :], str(path))
    return read_image(path)


def test_a_field_of_view_inside_the_body_is_body_whole(mr_c, mr_c_inside):
    """With no air to split off, Otsu's threshold fell between the MR's tissues and 16 % of the crop was "outside",
    darker organs cut open at its edges; the whole MR still shows the air around its body."""
    assert body_mask(mr_c_inside).all()
    whole = body_mask(mr_c.image)
    assert not whole[:, 0, 0].any() and 0.5 < whole.mean() < 0.9


def test_a_volume_of_one_value_shows_no_air():
    """Nothing lies above Otsu's threshold in it: no body bounds any air, and nothing on it is flagged (the body was
    empty, every structure "on air")."""
    assert body_mask(Image(np.full((3, 10, 10), 40.0))).all()


def test_structures_of_a_field_of_view_inside_the_body_are_not_flagged(mr_c, mr_c_inside):
    """The whole MR onto the crop of it: liver and gallbladder, placed exactly, were 85 % and 77 % "on air" with their
    confidence cut to 0.15 and 0.23, while the spleen kept the registration's; all three keep it now, with no message."""
    engine = create_engine("registration", {"deformable": False})
    result = engine.run(Request([mr_c], mr_c_inside, MR_INSIDE))
    confidences = {name: result.get(name).confidence for name in MR_INSIDE}
    for name in MR_INSIDE:
        item = result.get(name)
        assert item.found and item.message == "", (name, item.message)
    assert len(set(confidences.values())) == 1 and confidences["label_1"] > 0.9, confidences
