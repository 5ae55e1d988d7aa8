"""Reference rendering: deterministic, outlines in tag colors, tags drawn, target plain."""

import numpy as np
import pytest

from rau.render import BOX_COLOR, legend, render_boxed, render_overlay, render_plain, tag_color, to_uint8


def _slice_and_masks():
    rng = np.random.default_rng(1)
    image = rng.normal(100, 20, size=(90, 120))
    first = np.zeros(image.shape, bool)
    first[10:50, 10:60] = True
    second = np.zeros(image.shape, bool)
    second[60:85, 70:115] = True
    return image, [first, second]


def test_overlay_is_deterministic_and_outlines_each_structure_in_its_color():
    image, masks = _slice_and_masks()
    size = (240, 180)
    one = np.asarray(render_overlay(image, masks, size))
    two = np.asarray(render_overlay(image.copy(), [m.copy() for m in masks], size))
    assert one.shape == (180, 240, 3) and np.array_equal(one, two)
    # outline of structure 1 on its top edge (row 20 in model pixels), structure 2 on its left edge
    assert tuple(one[21, 60]) == tag_color(1)
    assert tuple(one[150, 141]) == tag_color(2)
    plain = np.asarray(render_plain(image, size))
    assert (plain[..., 0] == plain[..., 1]).all()  # the target stays gray
    changed = (one != plain).any(axis=2)
    assert changed[:100, :120].any() and changed[120:, 140:].any() and not changed[:, 125:135].any()


def test_tags_are_drawn_inside_their_structure_and_empty_masks_draw_nothing():
    image, masks = _slice_and_masks()
    size = (240, 180)
    plain = np.asarray(render_plain(image, size))
    drawn = np.asarray(render_overlay(image, [masks[0], np.zeros_like(masks[0])], size))
    inner = (drawn[24:96, 24:116] != plain[24:96, 24:116]).any(axis=2)
    assert inner.any(), "the tag of structure 1 is drawn inside it"
    assert np.array_equal(drawn[120:, 140:], plain[120:, 140:])
    assert (drawn == 0).all(axis=2).any(), "tags sit on a black plate"


def test_boxed_target_and_legend():
    image, _ = _slice_and_masks()
    boxed = np.asarray(render_boxed(image, (10, 10, 60, 50), (120, 90)))
    assert tuple(boxed[10, 30]) == BOX_COLOR and tuple(boxed[30, 10]) == BOX_COLOR
    assert tuple(boxed[30, 30]) != BOX_COLOR
    assert legend(["liver", "spleen"]) == "1: liver\n2: spleen"


def test_windowing_and_bad_input():
    assert to_uint8(np.full((4, 4), 7.0)).max() == 0  # a flat image does not divide by zero
    ramp = to_uint8(np.arange(16.0).reshape(4, 4), window=(0, 15))
    assert ramp[0, 0] == 0 and ramp[-1, -1] == 255
    image, masks = _slice_and_masks()
    with pytest.raises(ValueError, match="mask shape"):
        render_overlay(image, [masks[0][:-1]], (100, 100))
    with pytest.raises(ValueError, match="2D slice"):
        render_plain(image[None], (100, 100))
