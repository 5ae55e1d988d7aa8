"""Label sets and segmentations: label maps <-> masks, selection and matching by name or value."""

import numpy as np
import pytest

from rau.image import Image
from rau.errors import InputError
from rau.labels import LabelSet, Segmentation, Structure, UnknownStructureError, segment_values


def test_label_map_round_trip_keeps_values_and_names():
    array = np.zeros((2, 4, 4), np.uint8)
    array[0, :2] = 3
    array[1, 2:] = 7
    labels = LabelSet((Structure("liver", 3), Structure("Left Kidney", 7)))
    segmentation = Segmentation.from_label_map(Image(array), labels)
    assert segmentation.mask("left-kidney").sum() == 8
    np.testing.assert_array_equal(segmentation.to_label_map().array, array)


def test_a_table_of_thousands_of_structures_costs_no_mask_for_those_without_voxels():
    """A FreeSurfer colour table names ~1,400 values for a map holding ~40: each took a mask of the map's size (a 6 MB
    table killed the server on a picture; on a CT it would take tens of gigabytes)."""
    import tracemalloc

    array = np.zeros((50, 50, 50), np.uint8)
    array[10:20, 10:20, 10:20] = 3
    labels = LabelSet(tuple(Structure(f"structure {value}", value) for value in range(1, 2001)))
    tracemalloc.start()
    segmentation = Segmentation.from_label_map(Image(array), labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * array.nbytes  # before: 2,000 masks of 125 kB, 250 MB
    assert segmentation.mask("structure 3").sum() == 1000 and segmentation.present().names == ["structure 3"]
    assert not segmentation.mask("structure 4").any() and len(segmentation.labels) == 2000


def test_a_label_map_of_a_hundred_structures_holds_one_label_map_not_a_mask_each():
    """TotalSegmentator labels a CT with ~100 structures: a full-size mask each took 4.3 GB for 41 structures of a
    512 x 512 x 420 CT. Masks are now made when asked for, equal to the label map's voxels of that value."""
    import tracemalloc

    array = np.arange(40 * 40 * 40).reshape(40, 40, 40) % 101  # values 0..100, every one present
    tracemalloc.start()
    segmentation = Segmentation.from_label_map(Image(array.astype(np.uint16)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * array.size  # before: 100 masks of 64 kB, 6.4 MB
    assert len(segmentation.labels) == 100 and all(np.array_equal(segmentation.mask(f"label_{v}"), array == v) for v in (1, 57, 100))
    np.testing.assert_array_equal(segmentation.union(), array != 0)
    np.testing.assert_array_equal(segmentation.to_label_map().array, array)
    renamed = segmentation.named_like(LabelSet((Structure("LABEL 7", 7),)))
    assert np.array_equal(renamed.mask("LABEL 7"), array == 7) and "label_7" not in renamed.masks
    array[array == 7] = 0  # the caller's own array changed afterwards: the segmentation keeps what it was given
    assert segmentation.mask("label_7").sum() == (np.arange(40 ** 3) % 101 == 7).sum()


def test_values_missing_from_the_table_get_made_up_names():
    array = np.array([[[0, 1, 2]]], np.uint8)
    segmentation = Segmentation.from_label_map(Image(array), LabelSet((Structure("liver", 1),)))
    assert segmentation.labels.names == ["liver", "label_2"]


def test_intensity_image_is_not_accepted_as_label_map():
    with pytest.raises(ValueError, match="non-integer"):
        Segmentation.from_label_map(Image(np.array([[[0.5, 1.0]]])))


def test_select_unknown_name_lists_the_available_ones():
    labels = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    with pytest.raises(UnknownStructureError, match="available: 'liver' and 'spleen'"):
        labels.select(["kidney"])


def test_two_names_asked_for_one_structure_are_refused_naming_both():
    """Before: "the structure name 'liver' appears twice", which reads as if the reference's table had it twice."""
    labels = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    with pytest.raises(InputError, match=r"the structures asked for name 'liver' twice \('liver' and 'LIVER'\); ask for it once"):
        labels.select(["liver", "spleen", "LIVER"])


def test_match_uses_names_when_both_sides_have_them_else_values():
    named = LabelSet((Structure("liver", 1), Structure("spleen", 2)))
    renumbered = LabelSet((Structure("Spleen", 5), Structure("liver", 9)))
    assert [(a.value, b.value) for a, b in named.match(renumbered)] == [(1, 9), (2, 5)]
    unnamed = LabelSet.from_values([2, 3])
    assert [(a.name, b.name) for a, b in named.match(unnamed)] == [("spleen", "label_2")]


def test_names_match_whichever_unicode_form_spells_their_accents():
    """Before, a decomposed "Rückenmark" (u + combining diaeresis, as macOS may type it) lost its accent and did
    not match the composed spelling, so evaluation scored the structure as missed and found elsewhere."""
    composed, decomposed = "R\u00fcckenmark", "Ru\u0308ckenmark"
    labels = LabelSet((Structure(composed, 1),))
    assert labels.select([decomposed]).names == [composed]
    assert [(a.name, b.name) for a, b in labels.match(LabelSet((Structure(decomposed, 4),)))] == [(composed, decomposed)]
    with pytest.raises(InputError, match="one name to RAUSlicer"):
        LabelSet((Structure(composed, 1), Structure(decomposed, 2)))


def test_a_result_s_segments_keep_their_values_and_an_added_one_takes_a_free_one():
    """Before, a segment added to a result with a value a structure holds renumbered every segment 1, 2, ..."""
    assert segment_values([6, 7, 1000, 2, 6], first=[True, True, True, True, False]) == [6, 7, 1000, 2, 1]
    assert segment_values([6, 7, 1000, 2, 4], first=[True, True, True, True, False]) == [6, 7, 1000, 2, 4]
    assert segment_values([5, 52, 7]) == [5, 52, 7]  # distinct: kept (a label map imported in Slicer)
    assert segment_values([1, 1, 2]) == segment_values([None, None, None]) == [1, 2, 3]  # layers: segment order


def test_slicer_s_default_terminology_counts_as_none():
    tissue = ["SCT", "85756007", "Tissue"]
    assert Structure("a", 1, terminology={"category": tissue, "type": tissue}).terminology is None
    lung = {"category": tissue, "type": ["SCT", "39607008", "Lung"]}
    assert Structure("a", 1, terminology=lung).terminology == lung


def test_a_segmentation_leaves_the_callers_dict_as_given_and_a_progress_pickles():
    """Before: Segmentation(...) replaced the caller's uint8 masks in their dict by bool copies, and a mask given as a
    list was an AttributeError; Progress() could not be pickled (its default was a lambda)."""
    import pickle

    from rau.engines.base import Progress

    given = {"a": np.ones((1, 2, 2), np.uint8), "b": [[[0, 1], [1, 0]]]}
    segmentation = Segmentation(Image(np.zeros((1, 2, 2)), ndim=2), LabelSet([Structure("a", 1), Structure("b", 2)]), given)
    assert given["a"].dtype == np.uint8 and isinstance(given["b"], list)
    assert segmentation.masks["a"].dtype == bool and segmentation.masks["b"].sum() == 2
    assert pickle.loads(pickle.dumps(Progress())).is_cancelled() is False
