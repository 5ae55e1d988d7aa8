"""The SAM2 segmenter end to end with tiny random models loaded through the production loader.

Random weights give random masks, so placement is checked with a spy that wraps the real model and
replaces only its output logits by "inside the prompted box" (everything else runs for real).
"""

from dataclasses import replace

import numpy as np
import pytest
import torch

from rau.boxes import Box
from rau.engines.base import Localization, Prompt, Reference, Request
from rau.evaluation.clicks import simulate
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.sam2.segmenter import Sam2Segmenter

OBLIQUE = np.array([[0.8, -0.6, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])


class BoxSpy:
    """The real SAM2 model, except that its mask decoder answers each box-prompted object exactly its box
    (logit 100 - box width, at 4x the frame resolution) and every other target object -10.

    Reference frames go through the model's own decoder and keep their mask.
    """

    def __init__(self, model):
        self.model, self.points = model, None

    def __getattr__(self, name):
        return getattr(self.model, name)

    def prompt_encoder(self, input_points, input_labels, **kwargs):
        self.points = (input_points, input_labels)
        return self.model.prompt_encoder(input_points=input_points, input_labels=input_labels, **kwargs)

    def mask_decoder(self, **kwargs):
        masks, iou, tokens, scores = self.model.mask_decoder(**kwargs)
        size, fine = self.config.image_size, 4 * self.config.image_size
        centres = (torch.arange(fine, dtype=torch.float32) + 0.5) * size / fine
        logits = torch.full((masks.shape[0], 1, masks.shape[2], fine, fine), -10.0)
        coords, labels = self.points
        for index in range(masks.shape[0]):
            if labels[index, 0, 0] == 2:
                (x0, y0), (x1, y1) = coords[index, 0, :2].tolist()
                inside = ((centres >= y0) & (centres < y1))[:, None] & ((centres >= x0) & (centres < x1))[None, :]
                logits[index, 0, :, inside] = 100.0 - (x1 - x0)
        return logits, iou, tokens, scores


def make_reference(shape=(12, 30, 40), spacing=(0.9, 1.4, 3.0), direction=np.eye(3), structures=2):
    array = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    flat = shape[0] == 1
    labels[slice(0, 1) if flat else slice(4, 8), 5:15, 5:20] = 1
    if structures > 1:
        labels[slice(0, 1) if flat else slice(3, 9), 18:26, 22:35] = 2
    image = Image(array, spacing=spacing, direction=direction, ndim=3 if shape[0] > 1 else 2)
    names = {1: "liver", 2: "spleen"}
    label_set = LabelSet(tuple(Structure(names[v], v) for v in range(1, structures + 1)))
    return Reference(image, Segmentation.from_label_map(image.with_array(labels), label_set))


def segmenter(folder, **options):
    return Sam2Segmenter(str(folder), device="cpu", **options)


def spy_segmenter(folder, **options):
    result = segmenter(folder, **options)
    result._model = BoxSpy(result.model)
    return result


@pytest.mark.parametrize(
    "spacing, direction, axis",
    [((0.9, 1.4, 3.0), np.eye(3), None), ((3.0, 0.8, 0.8), OBLIQUE, None), ((1.0, 1.0, 1.0), OBLIQUE, "i")],
)
def test_box_prompts_land_on_their_voxels_for_anisotropic_and_oblique_volumes(tiny_sam2, spacing, direction, axis):
    reference = make_reference(spacing=spacing, direction=direction)
    target = Image(np.random.default_rng(1).normal(size=(12, 30, 40)), spacing=spacing, direction=direction)
    boxes = {k: Box((6 + k, 4, k), (21 + k, 16, k + 1)) for k in range(3, 8)}
    localization = Localization(reference.segmentation.labels.get("liver"), True, slice_boxes=boxes, source="test")
    result = spy_segmenter(tiny_sam2["always"], slice_axis=axis).segment(Request([reference], target, ["liver"]), {"liver": localization})
    expected = np.zeros(target.shape, bool)
    for box in boxes.values():
        expected[box.slices()] = True
    if axis == "i":  # boxes re-cut along i: each i-slice gets the bounding rectangle of its cross-section
        expected = np.zeros(target.shape, bool)
        for i in range(9, 28):
            ks = [k for k, b in boxes.items() if b.lower[0] <= i < b.upper[0]]
            expected[min(ks) : max(ks) + 1, 4:16, i] = True
    assert np.array_equal(result.get("liver").mask, expected)


def test_2d_box_lands_on_its_pixels_and_several_structures_share_each_frame(tiny_sam2):
    reference = make_reference(shape=(1, 30, 40), spacing=(0.5, 0.7, 1.0))
    target = Image(np.random.default_rng(2).normal(size=(1, 30, 40)), spacing=(0.5, 0.7, 1.0), ndim=2)
    liver, spleen = Box((5, 5, 0), (20, 12, 1)), Box((25, 20, 0), (36, 27, 1))
    labels = reference.segmentation.labels
    localizations = {"liver": Localization(labels.get("liver"), True, liver), "spleen": Localization(labels.get("spleen"), True, spleen)}
    result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target), localizations)
    for name, box in (("liver", liver), ("spleen", spleen)):
        expected = np.zeros(target.shape, bool)
        expected[box.slices()] = True
        assert np.array_equal(result.get(name).mask, expected)
    assert result.details["frames_encoded"] == 2  # the shared reference image and the target, once each


def test_a_picture_stored_as_one_slice_along_i_records_its_slices_along_the_file_s_i(tiny_sam2):
    """Before: "slice_axis": "k" in the result and its prompts (the picture's own axis), whichever file axis held the one slice."""
    reference = make_reference(shape=(1, 30, 40), spacing=(0.5, 0.7, 1.0))
    pixels = np.random.default_rng(2).normal(size=(1, 30, 40))
    along_i = Image.from_grid(np.ascontiguousarray(pixels.reshape(30, 40, 1)), (1.0, 0.7, 0.5), (0.0, 0.0, 0.0), np.eye(3))
    assert along_i.ndim == 2 and along_i.file_axis(0) == "i"
    box = Box((5, 5, 0), (20, 12, 1))
    result = segmenter(tiny_sam2["always"]).segment(Request([reference], along_i, ["liver"]), {"liver": Localization(reference.segmentation.labels.get("liver"), True, box)})
    assert result.details["slice_axis"] == "i" and result.get("liver").prompts["slice_axis"] == "i"


def test_frames_are_encoded_once_whatever_the_number_of_structures(tiny_sam2):
    target = Image(np.random.default_rng(3).normal(size=(12, 30, 40)), spacing=(0.9, 1.4, 3.0))
    one = segmenter(tiny_sam2["always"]).segment(Request([make_reference(structures=1)], target), None)
    two = segmenter(tiny_sam2["always"]).segment(Request([make_reference()], target), None)
    assert one.details["frames_encoded"] == 1 + 12
    assert two.details["frames_encoded"] == 2 + 12  # one more reference slice, target slices still once


def test_overlaps_go_to_the_highest_score_not_the_last_written(tiny_sam2):
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1))
    target = Image(np.zeros((1, 30, 40)), ndim=2)
    labels = reference.segmentation.labels
    wide, narrow = Box((2, 2, 0), (30, 20, 1)), Box((10, 5, 0), (16, 15, 1))  # the narrow box scores higher
    for order in (["liver", "spleen"], ["spleen", "liver"]):
        boxes = {"liver": narrow, "spleen": wide}
        localizations = {n: Localization(labels.get(n), True, boxes[n]) for n in order}
        result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target, order), localizations)
        assert result.get("liver").mask[narrow.slices()].all()
        assert not result.get("spleen").mask[narrow.slices()].any()
        assert result.get("spleen").mask.sum() == wide.volume - narrow.volume


def test_structures_starting_on_different_slices_do_not_overlap_where_one_is_tracked_forward_and_the_other_back(tiny_sam2):
    """Slices 2-7 lie between the two start slices: the liver reaches them forward, the spleen backward. Before, the
    backward pass wrote over the forward one's pixels there and both structures kept them (427 voxels)."""
    shape = (12, 30, 40)
    labels = np.zeros(shape, np.uint8)
    labels[1:4, 5:25, 5:30], labels[8:11, 5:25, 5:30] = 1, 2
    image = Image(np.random.default_rng(0).normal(size=shape).astype(np.float32), spacing=(1, 1, 2))
    reference = Reference(image, Segmentation.from_label_map(image.with_array(labels), LabelSet((Structure("liver", 1), Structure("spleen", 2)))))
    target = Image(np.random.default_rng(1).normal(size=shape), spacing=(1, 1, 2))
    result = segmenter(tiny_sam2["always"], slice_axis="k").segment(Request([reference], target), None)
    liver, spleen = result.get("liver"), result.get("spleen")
    assert liver.prompts["start_slice"] < spleen.prompts["start_slice"] and liver.found and spleen.found
    assert not (liver.mask & spleen.mask).any()


def test_a_structure_that_loses_every_pixel_to_a_neighbour_is_reported_covered(tiny_sam2):
    """Before: "SAM2 found no object (object score below zero)", though SAM2 had found it."""
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1))
    target = Image(np.zeros((1, 30, 40)), ndim=2)
    labels = reference.segmentation.labels
    same = Box((10, 5, 0), (16, 15, 1))  # a tie: the first structure keeps the pixels
    localizations = {n: Localization(labels.get(n), True, same) for n in ("liver", "spleen")}
    result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target), localizations)
    assert result.get("liver").mask[same.slices()].all()
    assert not result.get("spleen").found and result.get("spleen").message == "covered by neighbouring structures"
    alone = segmenter(tiny_sam2["never"]).segment(Request([reference], target, ["liver"]), {"liver": localizations["liver"]})
    assert alone.get("liver").message == "SAM2 found no object (object score below zero)"  # nothing covered it


def test_an_object_seen_with_an_empty_mask_is_not_reported_as_unseen(tiny_sam2):
    """Before: "object score below zero" beside an object score of +20 (confidence 1.0), on a picture too small for the mask."""
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1))
    result = segmenter(tiny_sam2["always"]).segment(Request([reference], Image(np.zeros((1, 8, 8)), ndim=2)), None)
    assert not result.get("liver").found and result.get("liver").message == "SAM2 saw the object but its mask is empty on the target"


def test_propagation_covers_the_volume_while_the_object_is_present(tiny_sam2):
    target = Image(np.random.default_rng(4).normal(size=(20, 24, 24)), spacing=(1, 1, 2))
    reference = make_reference(shape=(12, 24, 24), spacing=(1, 1, 2), structures=1)
    result = segmenter(tiny_sam2["always"]).segment(Request([reference], target), None)
    assert result.details["slices_visited"]["liver"] == [0, 19]
    assert result.get("liver").prompts["start_slice"] == 7  # centre of reference slice 4 of 12 -> slice 7 of 20


def test_propagation_stops_where_the_object_disappears(tiny_sam2):
    target = Image(np.random.default_rng(5).normal(size=(20, 24, 24)), spacing=(1, 1, 2))
    reference = make_reference(shape=(12, 24, 24), spacing=(1, 1, 2), structures=1)
    memory_only = segmenter(tiny_sam2["never"]).segment(Request([reference], target), None)
    assert memory_only.details["slices_visited"]["liver"] == [7, 7]
    assert not memory_only.get("liver").found and "object score" in memory_only.get("liver").message
    boxes = {k: Box((3, 3, k), (12, 12, k + 1)) for k in range(5, 9)}
    localization = Localization(reference.segmentation.labels.get("liver"), True, slice_boxes=boxes)
    prompted = segmenter(tiny_sam2["never"]).segment(Request([reference], target), {"liver": localization})
    assert prompted.details["slices_visited"]["liver"] == [4, 9]  # prompted slices 5-8, then one absent slice each way


def test_a_key_slice_box_is_followed_through_the_volume_and_an_extent_box_only_over_its_extent(tiny_sam2):
    """A VLM marks one key slice; before, SAM2 tracked the structure on that slice and --slice-margin around it only
    (a 5-slice slab of a liver). Registration boxes cover the extent, and tracking keeps to it plus the margin."""
    target = Image(np.random.default_rng(4).normal(size=(20, 24, 24)), spacing=(1, 1, 2))
    reference = make_reference(shape=(12, 24, 24), spacing=(1, 1, 2), structures=1)
    liver = reference.segmentation.labels.get("liver")
    key_slice = Localization(liver, True, slice_boxes={7: Box((3, 3, 7), (12, 12, 8))}, source="vlm", covers_extent=False)
    followed = segmenter(tiny_sam2["always"], slice_margin=2).segment(Request([reference], target), {"liver": key_slice})
    assert followed.details["slices_visited"]["liver"] == [0, 19]
    extent = Localization(liver, True, slice_boxes={k: Box((3, 3, k), (12, 12, k + 1)) for k in range(6, 9)}, source="registration")
    kept = segmenter(tiny_sam2["always"], slice_margin=2).segment(Request([reference], target), {"liver": extent})
    assert kept.details["slices_visited"]["liver"] == [4, 10]


def test_memory_stays_bounded_during_propagation(tiny_sam2):
    target = Image(np.random.default_rng(6).normal(size=(40, 16, 16)), spacing=(1, 1, 2))
    reference = make_reference(shape=(12, 16, 16), spacing=(1, 1, 2), structures=1)
    result = segmenter(tiny_sam2["always"], cache_bytes=0).segment(Request([reference], target), None)
    tracker = result.session.tracker
    outputs = tracker.outputs("liver")
    with_memory = [f for f, out in outputs.items() if "maskmem_features" in out]
    assert len(outputs) <= tracker.pointer_frames + tracker.memory_frames
    assert len(with_memory) <= 2 * tracker.memory_frames
    assert not any("high_res_masks" in out for out in outputs.values())
    assert len(tracker.cache._features) == 1  # a zero budget keeps the last frame only


def test_a_3d_correction_reads_only_the_memory_left_after_trimming(tiny_sam2):
    target = Image(np.random.default_rng(6).normal(size=(40, 16, 16)), spacing=(1, 1, 2))
    reference = make_reference(shape=(12, 16, 16), spacing=(1, 1, 2), structures=1)
    result = segmenter(tiny_sam2["always"]).segment(Request([reference], target), None)
    outputs = result.session.tracker.outputs("liver")
    assert any("maskmem_features" not in outputs[f] for f in range(result.session.first_target_frame + 7, result.session.first_target_frame + 10))
    corrected = result.session.reprompt("liver", Prompt(points=[(8, 8, 10)], labels=[1]))
    assert corrected.prompts["corrected_slices"] == [10]


def test_reprompting_one_structure_leaves_the_others_bit_identical(tiny_sam2):
    reference = make_reference()
    target = Image(np.random.default_rng(7).normal(size=(12, 30, 40)), spacing=(0.9, 1.4, 3.0))
    result = segmenter(tiny_sam2["random"]).segment(Request([reference], target), None)
    spleen_before, liver_before = result.get("spleen").mask, result.get("liver").mask
    spleen_before = None if spleen_before is None else spleen_before.copy()
    liver_before = np.zeros(target.shape, bool) if liver_before is None else liver_before.copy()
    corrected = result.session.reprompt("liver", Prompt(box=Box((5, 5, 6), (20, 15, 7))))
    others = [k for k in range(12) if k != 6]
    assert np.array_equal(corrected.mask[others] if corrected.found else np.zeros((11, 30, 40), bool), liver_before[others])
    assert corrected.prompts["corrected_slices"] == [6]
    repropagated = result.session.propagate("liver")
    assert repropagated.prompts["prompted_slices"] == [6]
    after = result.session.results["spleen"].mask
    assert (after is None and spleen_before is None) or np.array_equal(after, spleen_before)


def test_a_box_keeps_the_corrected_slice_inside_it(tiny_sam2):
    """Before: SAM2's answer to a box prompt was written as it came, reaching past the box (``--box`` promises
    "keep the structure inside this voxel box")."""
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1), structures=1)
    target = Image(np.random.default_rng(8).normal(size=(1, 30, 40)), ndim=2)
    result = segmenter(tiny_sam2["always"]).segment(Request([reference], target), None)
    box = Box((5, 5, 0), (20, 15, 1))
    corrected = result.session.reprompt("liver", Prompt(box=box)).mask
    assert corrected.any() and not (corrected & ~box.mask(target.shape)).any()
    propagated = result.session.propagate("liver").mask  # the memory made from the correction keeps to the box too
    assert propagated.any() and not (propagated & ~box.mask(target.shape)).any()
    clicked = result.session.reprompt("liver", Prompt(points=[(30, 25, 0), (10, 10, 0)], labels=[1, 0])).mask
    assert clicked.any() and not (clicked & ~box.mask(target.shape)).any()  # before: a later click let it out of the box
    result.session.undo("liver")
    reboxed = result.session.reprompt("liver", Prompt(box=Box((20, 10, 0), (35, 25, 1)))).mask  # a new box replaces it
    assert reboxed[0, 10:25, 20:35].any() and not reboxed[0, 5:10, 5:20].any()


def test_2d_reprompt_runs_only_the_prompt_encoder_and_mask_decoder(tiny_sam2):
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1))
    target = Image(np.random.default_rng(8).normal(size=(1, 30, 40)), ndim=2)
    result = segmenter(tiny_sam2["random"]).segment(Request([reference], target), None)
    model, encoded = result.session.tracker.model, result.session.tracker.cache.encoded
    calls = []
    for part in ("vision_encoder", "memory_attention", "memory_encoder", "prompt_encoder", "mask_decoder"):
        getattr(model, part).register_forward_hook(lambda module, args, output, part=part: calls.append(part))
    result.session.reprompt("spleen", Prompt(points=[(10, 12, 0), (30, 20, 0)], labels=[1, 0]))
    assert calls == ["prompt_encoder", "mask_decoder"]
    assert result.session.tracker.cache.encoded == encoded


@pytest.mark.parametrize(
    "prompt, message",
    [
        (Prompt(box=Box((50, 50, 0), (60, 60, 1))), "outside the target"),
        (Prompt(box=Box((5, 5, 0), (5, 15, 1))), "zero size"),
        (Prompt(points=[(5, 5, 3)], labels=[1]), "outside the target"),
        (Prompt(points=[(5, 5, 0)], labels=[2]), "label"),
        (Prompt(), "point or a box"),
    ],
)
def test_bad_prompts_raise_clear_errors(tiny_sam2, prompt, message):
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1), structures=1)
    result = segmenter(tiny_sam2["random"]).segment(Request([reference], Image(np.zeros((1, 30, 40)), ndim=2)), None)
    with pytest.raises(ValueError, match=message):
        result.session.reprompt("liver", prompt)


def test_unusable_localizations_and_empty_reference_masks_are_reported_per_structure(tiny_sam2):
    reference = make_reference(shape=(1, 30, 40), spacing=(1, 1, 1))
    drawn = reference.segmentation
    masks = {name: np.zeros_like(mask) if name == "spleen" else mask for name, mask in drawn.masks.items()}
    reference = replace(reference, segmentation=Segmentation(drawn.geometry, drawn.labels, masks))
    labels = reference.segmentation.labels
    target = Image(np.zeros((1, 30, 40)), ndim=2)
    outside = {"liver": Localization(labels.get("liver"), True, Box((100, 100, 0), (120, 120, 1)))}
    result = segmenter(tiny_sam2["random"]).segment(Request([reference], target, ["liver", "spleen"]), outside)
    assert not result.get("liver").found and "outside the target" in result.get("liver").message
    assert not result.get("spleen").found and result.get("spleen").message == "has no voxels in the reference"  # as every engine says it
    shifted = reference.image.array.copy()
    shifted.flat[0] += 1  # another image: the same one with the same liver would be refused as voting twice on it
    other = replace(reference, name="other", image=reference.image.with_array(shifted))
    two = segmenter(tiny_sam2["random"]).segment(Request([reference, other], target, ["spleen"]), {})
    assert two.get("spleen").message == "has no voxels in any reference"  # before: "empty in reference 'reference'", one of two
    with pytest.raises(ValueError, match="empty in every reference"):
        result.session.reprompt("spleen", Prompt(points=[(10, 10, 0)], labels=[1]))
    assert result.session.reprompt("liver", Prompt(points=[(10, 10, 0)], labels=[1])).prompts["corrected_slices"] == [0]


def test_a_structure_the_localizer_missed_is_added_by_a_correction_with_its_reference_in_memory(tiny_sam2):
    reference = make_reference()
    target = Image(np.random.default_rng(10).normal(size=(12, 30, 40)), spacing=(0.9, 1.4, 3.0))
    absent = {"liver": Localization(reference.segmentation.labels.get("liver"), False, source="vlm")}
    result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target), absent)
    session = result.session
    assert not session.results["liver"].found and "absent according to vlm" in session.results["liver"].message
    assert session.tracker.conditioning_frames("liver")  # the reference slice, as for a found structure
    box = Box((5, 5, 6), (20, 15, 7))
    expected = np.zeros(target.shape, bool)
    expected[box.slices()] = True
    assert len(simulate(session, "liver", expected, 2)) == 3  # the simulated user of rau evaluate --clicks
    assert np.array_equal(session.reprompt("liver", Prompt(box=box)).mask, expected)
    assert session.propagate("liver").found


def test_a_prompt_on_a_sagittal_slice_lands_on_that_slice(tiny_sam2):
    """SAM2 slices along i here; the session takes the slice from the points, not from k."""
    reference = make_reference(shape=(12, 16, 10), spacing=(1, 1, 1), structures=1)
    target = Image(np.random.default_rng(9).normal(size=(12, 16, 10)))
    result = segmenter(tiny_sam2["always"], slice_axis="i").segment(Request([reference], target), None)
    before = result.get("liver").mask.copy()
    corrected = result.session.reprompt("liver", Prompt(points=[(4, 8, 3), (4, 10, 7)], labels=[1, 0]))
    assert corrected.prompts["corrected_slices"] == [4]
    untouched = [i for i in range(10) if i != 4]
    assert np.array_equal(corrected.mask[:, :, untouched], before[:, :, untouched])
    with pytest.raises(ValueError, match="different slices along i"):
        result.session.reprompt("liver", Prompt(points=[(4, 8, 3), (5, 10, 7)], labels=[1, 0]))
    assert result.session.undo("liver") is not None and not result.session.can_undo("liver")
    assert np.array_equal(result.session.results["liver"].mask, before)


def test_a_box_drawn_flat_across_the_corrected_slices_is_refused_not_cut_to_one_row(tiny_sam2):
    """SAM2 slices along i: a box one voxel thick along k spans 6 of its slices. Before, its middle slice was cut to the
    box's one row there, erasing the structure on that slice."""
    reference = make_reference(shape=(12, 16, 10), spacing=(1, 1, 1), structures=1)
    target = Image(np.random.default_rng(9).normal(size=(12, 16, 10)))
    result = segmenter(tiny_sam2["always"], slice_axis="i").segment(Request([reference], target), None)
    before = result.get("liver").mask.copy()
    with pytest.raises(ValueError, match="one voxel thick along k but spans 6 slices along i"):
        result.session.reprompt("liver", Prompt(box=Box((2, 4, 3), (8, 12, 4))))
    with pytest.raises(ValueError, match="one voxel thick along j but spans 6 slices along i"):  # once cut to the target
        result.session.reprompt("liver", Prompt(box=Box((2, 15, 3), (8, 20, 9))))
    assert np.array_equal(result.session.results["liver"].mask, before)
    corrected = result.session.reprompt("liver", Prompt(box=Box((4, 4, 3), (5, 12, 8))))
    assert corrected.prompts["corrected_slices"] == [4] and corrected.prompts["start_slice"] == 4
