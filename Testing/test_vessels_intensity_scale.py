"""The vessels engine answers alike whatever the target's grey levels: outlying pixels and the intensity scale do not
change the segments (ARCADE pair 350 -> 858, the target stored as float32 as a NIfTI export gives it)."""

from __future__ import annotations

import numpy as np
import pytest

from rau.engines import Request, create_engine
from rau.io import read_image
from rau.references import load_reference


@pytest.fixture(scope="module")
def pair(shared_data):
    folder = shared_data / "arcade_syntax_dev"
    reference = load_reference(folder / "arcade_train_350_img.png", folder / "arcade_train_350_lab.png", 1.0, folder / "labels.csv")
    target = read_image(folder / "arcade_train_858_img.png", 1.0)
    return reference, target.with_array(target.array.astype(np.float32))


@pytest.fixture(scope="module")
def answer(pair):
    return segments(*pair)


def segments(reference, target) -> list[tuple]:
    """Each segment's name, mask (None when not found), confidence and message."""
    result = create_engine("vessels", {"top_k": 1}).run(Request([reference], target))
    return [(item.structure.name, item.mask, item.confidence, item.message) for item in result.structures]


def assert_same(answer, again):
    assert [(name, confidence, message) for name, _, confidence, message in again] == [
        (name, confidence, message) for name, _, confidence, message in answer]
    for (name, mask, *_), (_, other, *_) in zip(answer, again):
        assert (mask is None and other is None) or np.array_equal(mask, other), name


def test_one_hot_pixel_leaves_the_segments_as_they_are(pair, answer):
    """Before, one pixel of 1e8 made the noise estimate (the mean of the residual) 5 times the grey range (robust
    percentiles, which the pixel leaves alone): every segment "not found (the target shows no vessels ...)"."""
    reference, target = pair
    hot = target.array.copy()
    hot[0, 5, 5] = 1e8
    assert sum(mask is not None for _, mask, _, _ in answer) >= 3
    assert_same(answer, segments(reference, target.with_array(hot)))


def test_a_target_scaled_to_tiny_grey_levels_gets_the_segments_of_the_original(pair, answer):
    """Before, the picture was scaled to its grey range with a floor of 1e-6 on that range: a picture of grey levels
    about 1e-30 became nearly black and every segment had "no support along the target's vessels". The factor is
    2^-100 (about 8e-31), a power of two, so the scaled picture holds exactly the original's values, scaled."""
    reference, target = pair
    tiny = target.array * np.float32(2.0 ** -100)
    assert_same(answer, segments(reference, target.with_array(tiny)))
