"""A volume target with part of the body replaced by air: the registration engine draws the references' whole anatomy,
and flags the structures it draws mostly on the air (:mod:`rau.body`)."""

import numpy as np
import pytest

from rau.body import body_mask, share_inside
from rau.engines import Request, create_engine
from rau.references import load_reference

ON_AIR = ["label_1", "label_3", "label_11"]  # spleen, left kidney, left lower lung lobe
ON_BODY = ["label_2", "label_5", "label_14"]  # right kidney, liver, right lower lung lobe


@pytest.fixture(scope="module")
def ct_a(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")


def test_the_body_holds_the_lungs_and_not_the_air_around_it(ct_a):
    """The lungs are dark as air, and lie inside the body: the holes of each axial slice are filled."""
    body = body_mask(ct_a.image)
    for name in ("label_11", "label_14"):
        assert share_inside(ct_a.segmentation.mask(name), body) == 1.0
    assert not body[:, 0, 0].any() and body.mean() < 0.8


def test_structures_drawn_on_the_air_of_a_half_target_are_flagged_and_the_others_not(ct_a):
    """CT A onto itself with its left half (i < 61; it runs to the patient's right) set to -1024 HU: the spleen, left
    kidney and left lung lobe were drawn on the air and reported found with the registration's full confidence and no
    message. They keep their voxels, with a message and their confidence times the share inside the body; the right
    kidney, liver and right lung lobe (dark, but inside the body) are untouched."""
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
        assert f"{1 - inside:.1%} of its voxels lie outside the target's body" in item.message
        assert item.confidence == pytest.approx(similarity * inside) and item.confidence < 0.5 * similarity
    for name in ON_BODY:
        item = result.get(name)
        assert item.found and item.message == "" and item.confidence == similarity, name
