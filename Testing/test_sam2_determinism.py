"""Same input, same output through SAM2: masks are bit-identical whatever torch's thread count."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import REPO
from rau.errors import OptionError
from rau.models.inference import THREADS_VARIABLE, inference_threads
from rau.sam2.segmenter import Sam2Segmenter

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_sam2 import case, save_model  # noqa: E402  (the real sam2.1-hiera-tiny architecture, random weights)



@pytest.fixture
def restore_torch_threads():
    import torch

    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_masks_are_bit_identical_across_torch_thread_counts(tmp_path, monkeypatch, restore_torch_threads):
    import torch

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    folder = save_model("tiny", 128, tmp_path)  # at this size the masks changed with the thread count (tiny test models do not)
    masks = []
    for threads in (1, 2, 4):
        torch.set_num_threads(threads)
        result = Sam2Segmenter(str(folder), device="cpu", top_k=1).segment(case(1, 2, size=128), None)
        masks.append(np.stack([item.mask for item in result.structures]))
        assert torch.get_num_threads() == threads, "the caller's thread setting is restored"
    assert masks[0].any()
    for other in masks[1:]:
        np.testing.assert_array_equal(other, masks[0])


def test_the_thread_count_comes_from_the_environment_and_a_bad_value_names_it(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert inference_threads() == 3
    monkeypatch.setenv(THREADS_VARIABLE, "two")
    with pytest.raises(OptionError, match=THREADS_VARIABLE):
        inference_threads()
    for value, problem in (("99999999999", "must be at most 2147483647"),  # before: accepted, then torch's OverflowError mid-run
                           ("\u00b2", "must be a whole number")):  # before: a bare ValueError ('²'.isdigit())
        monkeypatch.setenv(THREADS_VARIABLE, value)
        with pytest.raises(OptionError, match=f"{THREADS_VARIABLE} {problem}"):
            inference_threads()
    # and before any work, for every engine that runs a model (before, a registration ran first and evaluate failed
    # every case); the registration engine, which runs none, does not care
    from rau.engines.checks import check_models
    from rau.options import EngineOptions

    check_models("registration", EngineOptions())
    with pytest.raises(OptionError, match=f"{THREADS_VARIABLE} must be a whole number"):
        check_models("registration+sam2", EngineOptions())


def stored_as(image, order: str):
    """``image`` as a file stored in voxel ``order`` would hold it (the same voxels in physical space)."""
    import SimpleITK as sitk

    from rau.image import Image

    return Image.from_sitk(sitk.DICOMOrient(image.to_sitk(), order))


def test_one_answer_whatever_the_voxel_order_of_the_target_or_the_reference(tiny_sam2):
    """Before, the frames followed the file's rows, columns and slice order: the same CT stored RAS was shown to SAM2
    mirrored, and stored PIR or ASL turned and in another slice order (here 60 to 653 voxels of answers of 62 to 344
    voxels differed from the LPS files' answer). A click at one place, and the propagation after it, also give one answer."""
    from rau.engines.base import Prompt, Reference, Request
    from rau.image import orient_lps_mask
    from rau.labels import Segmentation
    from test_sam2_memory import LABELS, reference, target

    first, image = reference(1), target()
    labels = first.segmentation.to_label_map()
    click = image.to_world((6, 15, 4))  # on the spleen's side of the target, in millimetres
    answers = []
    for target_order, reference_order in (("LPS", "LPS"), ("RAS", "PIR"), ("PIR", "ASL"), ("ASL", "RAS"), ("ILP", "LPS")):
        stored = stored_as(image, target_order)
        segmentation = Segmentation.from_label_map(stored_as(labels, reference_order), LABELS)
        request = Request([Reference(stored_as(first.image, reference_order), segmentation, name="ref1")], stored)
        result = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu", top_k=1).segment(request, None)
        found = {item.structure.name: orient_lps_mask(stored, item.mask) for item in result.structures}
        point = tuple(float(v) for v in np.rint(stored.to_index(click)))
        result.session.reprompt("spleen", Prompt([point], [1]))
        clicked = orient_lps_mask(stored, result.session.results["spleen"].mask)
        propagated = orient_lps_mask(stored, result.session.propagate("spleen").mask)
        answers.append((found, clicked, propagated))
    (found, clicked, propagated), others = answers[0], answers[1:]
    assert all(mask.any() for mask in found.values()) and (clicked != found["spleen"]).any()
    for other_found, other_clicked, other_propagated in others:
        for name in found:
            np.testing.assert_array_equal(other_found[name], found[name], err_msg=name)
        np.testing.assert_array_equal(other_clicked, clicked)
        np.testing.assert_array_equal(other_propagated, propagated)


def test_registration_boxes_and_a_box_correction_give_one_answer_whatever_the_voxel_order(tiny_sam2):
    """Before, the registration localizer boxed the structure on every slice k of the file, which SAM2, cutting
    the volume along another file axis (a CT stored PIR), filled in and cut again: other boxes, another answer. And a
    box two slices thick prompted the lower of its middle slices in the file's order: another slice of the body for a
    volume stored the other way round."""
    from rau.boxes import Box
    from rau.engines import create_engine
    from rau.engines.base import Prompt, Reference, Request
    from rau.image import orient_lps_mask
    from rau.labels import Segmentation
    from test_sam2_memory import LABELS, reference, target

    first, image = reference(1), target()
    labels = first.segmentation.to_label_map()
    corners = image.to_world(np.array([(4, 6, 3), (14, 16, 4)], float))  # a box two slices thick (k 3 and 4), in millimetres
    engine = create_engine("registration+sam2", {"sam2_model": str(tiny_sam2["always"]), "device": "cpu", "top_k": 1, "deformable": False})
    answers = []
    for target_order, reference_order in (("LPS", "LPS"), ("PIR", "LPS"), ("RAI", "ASL")):
        stored = stored_as(image, target_order)
        segmentation = Segmentation.from_label_map(stored_as(labels, reference_order), LABELS)
        result = engine.run(Request([Reference(stored_as(first.image, reference_order), segmentation, name="ref1")], stored))
        found = {item.structure.name: orient_lps_mask(stored, item.mask) for item in result.structures}
        index = np.rint(stored.to_index(corners)).astype(int)
        boxed = result.session.reprompt("liver", Prompt(box=Box(tuple(index.min(axis=0)), tuple(index.max(axis=0) + 1))))
        answers.append((found, orient_lps_mask(stored, boxed.mask)))
    (found, boxed), others = answers[0], answers[1:]
    assert all(mask.any() for mask in found.values()) and (boxed != found["liver"]).any()
    for other_found, other_boxed in others:
        for name in found:
            np.testing.assert_array_equal(other_found[name], found[name], err_msg=name)
        np.testing.assert_array_equal(other_boxed, boxed)
