"""Volumes not stored in LPS order: inference shows the pictures training shows, and boxes land on the right voxels.

CT subject A is stored with direction diag(-1, -1, 1) (columns run to the patient's right);
a copy with permuted axes stores the axial axis along i. Subject B (stored LPS) is the reference.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from rau.boxes import Box
from rau.engines.base import Progress, Reference, Request
from rau.engines.rau import RAUEngine
from rau.image import Image
from rau.result import Result
from rau.sam2.segmenter import slice_boxes_along
from rau.train.conversations import conversation
from rau.train.pairs import Question, View
from rau.train.slices import SliceStack
from rau.train.sources import read_subjects
from rau.vlm.backend import Backend, Reply
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.key_slices import axial_axis, orient_request_lps, plan_views
from rau.vlm.localizer import VLMLocalizer
from train_data import ct_manifest


@pytest.fixture(scope="module")
def subjects(shared_data, tmp_path_factory):
    """{name: (image, segmentation)} for CT subjects A and B."""
    manifest = ct_manifest(shared_data, tmp_path_factory.mktemp("ct"))
    return {s.name: s.load() for s in read_subjects(manifest)}


class TruthBackend(Backend):
    """Answers each view with the target's true boxes, as training writes them; keeps every conversation."""

    family = QWEN2_5_VL

    def __init__(self, answers: list[str]):
        self.answers, self.conversations = iter(answers), []

    def generate(self, messages, max_new_tokens):
        self.conversations.append(messages)
        return Reply(next(self.answers))


def training_questions(request: Request, reference: SliceStack, target: SliceStack):
    """Per inference view, the box question the training pair builder asks about the same slices."""
    seen = orient_request_lps(request)
    for view in plan_views(seen.references[0].segmentation, seen.references[0].image, seen.target, seen.labels().names):
        reference_view = View(reference.subject, view.reference_slice, *reference.cut(view.reference_slice))
        target_view = View(target.subject, view.target_slice, *target.cut(view.target_slice))
        legend = [s.name for s in reference_view.segmentation.labels if reference_view.pixels(s.name) > 0]
        truth = {n: {"present": target_view.box(n) is not None, "box": target_view.box(n)} for n in view.names}
        yield Question("box", reference_view, target_view, legend, view.names, truth)


def localize_with_truth(request: Request, subjects):
    """Localize ``request`` (reference B, target A stored any way) with perfect answers.

    Returns the localizations, the backend (what inference sent) and the training conversations.
    """
    stacks = {name: SliceStack.build(name, *subjects[name]) for name in ("subjA_ct", "subjB_ct")}
    expected = [conversation(question, QWEN2_5_VL) for question in training_questions(request, stacks["subjB_ct"], stacks["subjA_ct"])]
    backend = TruthBackend([c.answer for c in expected])
    return VLMLocalizer(backend).localize(request, Progress()), backend, expected


def permuted(image: Image) -> Image:
    """The same voxels stored with the axial axis along i (a sagittal-first file)."""
    return Image.from_sitk(sitk.PermuteAxes(image.to_sitk(), [2, 0, 1]))


def request_for(subjects, target: Image, names=None) -> Request:
    image, segmentation = subjects["subjB_ct"]
    return Request([Reference(image, segmentation)], target, names)


def test_inference_sends_the_training_conversation_for_a_volume_not_stored_in_lps(subjects):
    target, _ = subjects["subjA_ct"]
    assert np.allclose(target.direction, np.diag([-1, -1, 1]))
    _, backend, expected = localize_with_truth(request_for(subjects, target), subjects)
    assert len(expected) >= 2
    for sent, stored in zip(backend.conversations, expected, strict=True):
        sent_parts = [part for message in sent for part in message["content"]]
        stored_parts = [part for message in stored.messages for part in message["content"]]
        assert [p.get("text") for p in sent_parts] == [p.get("text") for p in stored_parts]
        pictures = [(np.asarray(a["image"]), np.asarray(b["image"])) for a, b in zip(sent_parts, stored_parts) if a["type"] == "image"]
        assert len(pictures) == 2 and all(np.array_equal(a, b) for a, b in pictures)


def _stored(image: Image, storage: str) -> Image:
    return image if storage == "flipped" else permuted(image)


@pytest.mark.parametrize("storage", ["flipped", "permuted"])
def test_a_true_box_maps_back_to_the_truth_voxels_of_the_stored_grid(subjects, storage):
    image, segmentation = subjects["subjA_ct"]
    target = _stored(image, storage)
    truth = _stored(segmentation.geometry.with_array(segmentation.mask("liver").astype(np.uint8)), storage).array > 0
    found = localize_with_truth(request_for(subjects, target), subjects)[0]["liver"]
    axis = axial_axis(target)  # array axis; the box's (i, j, k) coordinate along it is 2 - axis
    assert axis == (0 if storage == "flipped" else 2)
    assert found.present and found.box.upper[2 - axis] - found.box.lower[2 - axis] == 1
    plane = tuple(found.box.slices()[a] if a == axis else slice(None) for a in range(3))
    on_slice = np.zeros_like(truth)
    on_slice[plane] = truth[plane]
    assert on_slice.any() and on_slice[found.box.slices()].sum() == on_slice.sum()  # the box holds every truth voxel of its slice
    world, truth_world = (np.array(b.world_bounds(target)) for b in (found.box, Box.from_mask(on_slice)))
    assert np.abs(world - truth_world).max() <= 3.0  # same place in the patient, within one 3 mm voxel
    assert bool(found.slice_boxes) == (axis == 0)  # per-slice boxes are keyed by the stored k
    lower = [found.box.lower[2 - a] for a in range(3) if a != axis]
    upper = [found.box.upper[2 - a] for a in range(3) if a != axis]
    assert slice_boxes_along(found, target, axis) == {found.box.lower[2 - axis]: (lower[0], lower[1], upper[0], upper[1])}  # SAM2's prompt


class AxisSpy:
    """A segmenter that records the axis it was asked to slice along and the localizations it got."""

    slice_axis = None

    def segment(self, request, localizations, progress):
        self.axis, self.localizations = self.slice_axis, localizations
        return Result(request.target, [], "spy")


def test_rau_engine_slices_sam2_across_the_vlms_views(subjects):
    image, _ = subjects["subjA_ct"]
    for target, axis in ((image, "k"), (permuted(image), "i")):
        spy = AxisSpy()
        spy.slice_axis = "j"  # as --slice-axis j would set it: the rau engine does not use it (ignored with a warning)
        request = request_for(subjects, target, ["liver"])
        seen = orient_request_lps(request)
        [view] = plan_views(seen.references[0].segmentation, seen.references[0].image, seen.target, ["liver"])
        answer = json.dumps([{"label": "liver", "present": True, "bbox_2d": [10, 20, 40, 60]}])
        backend = TruthBackend([answer])
        RAUEngine(VLMLocalizer(backend), spy, "rau").run(request)
        assert spy.axis == axis
        localization = spy.localizations["liver"]
        along = 2 - "kji".index(axis)  # the box coordinate along the slice axis
        assert localization.box.upper[along] - localization.box.lower[along] == 1
        assert localization.answer["target_slice"] == view.target_slice
