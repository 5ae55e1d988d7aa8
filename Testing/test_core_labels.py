"""Label sets and segmentations: label maps <-> masks, selection and matching by name or value."""

import numpy as np
import pytest

from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure, UnknownStructureError


def test_label_map_round_trip_keeps_values_and_names():
    array = np.zeros((2, 4, 4), np.uint8)
    array[0, :2] = 3
    array[1, 2:] = 7
    labels = LabelSet((Structure("liver", 3), Structure("Left Kidney", 7)))
    segmentation = Segmentation.from_label_map(Image(array), labels)
    assert segmentation.mask("left-kidney").sum() == 8
    np.testing.assert_array_equal(segmentation.to_label_map().array, array)


def test_values_missing_from_the_table_get_made_up_names():
    array = np.array([[[0, 1, 2]]], np.uint8)
    segmentation = Segmentation.from_label_map(Image(array), LabelSet((Structure("liver", 1),)))
    assert segmentation.labels.names == ["liver", "label_2"]


def test_intensity_image_is_not_accepted_as_label_map():
    with pytest.raises(ValueError, match="non-integer"):
        Segmentation.from_label_map(Image(np.array([[[0.5, 1.0]]])))


def test_select_unknown_name_lists_the_available_ones():
    labels = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    with pytest.raises(UnknownStructureError, match="available: liver, spleen"):
        labels.select(["kidney"])


def test_match_uses_names_when_both_sides_have_them_else_values():
    named = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    renumbered = LabelSet((Structure("Spleen", 5), Structure("liver", 9)))
    assert [(a.value, b.value) for a, b in named.match(renumbered)] == [(1, 9), (2, 5)]
    unnamed = LabelSet.from_values([2, 3])
    assert [(a.name, b.name) for a, b in named.match(unnamed)] == [("spleen", "label_2")]
