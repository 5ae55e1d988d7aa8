"""All structures of a run step through SAM2 as one batch per frame, with the results of transformers' per-object path."""


import numpy as np
import torch

from rau.engines.base import Reference, Request
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.sam2.cache import FeatureCache
from rau.sam2.segmenter import Sam2Segmenter
from rau.sam2.tracker import Tracker



class Video(dict):
    """Frame index -> (3, size, size) tensor, with the device and dtype a Tracker reads from its frames."""

    device, dtype = "cpu", torch.float32


def test_a_batched_step_equals_transformers_per_object_forward(tiny_sam2):
    from transformers import Sam2VideoModel
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    model = Sam2VideoModel.from_pretrained(tiny_sam2["random"]).eval()
    size = model.config.image_size
    video = Video(enumerate(torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(0))))
    masks = [torch.zeros(size, size) for _ in range(2)]
    masks[0][8:30, 10:40], masks[1][30:60, 20:50] = 1, 1
    box = {"point_coords": torch.tensor([[[[20.0, 30.0], [50.0, 60.0]]]]), "point_labels": torch.tensor([[[2, 3]]], dtype=torch.int32)}

    tracker = Tracker(model, video, FeatureCache(8), first_target_frame=1)
    tracker.add_structures({"a": [(0, masks[0])], "b": [(0, masks[1])]})
    first = tracker.step(["a", "b"], 1, False, {})
    second = tracker.step(["a", "b"], 2, False, {"b": box})

    session = Sam2VideoInferenceSession(video=torch.stack(list(video.values())), dtype=torch.float32)
    with torch.inference_mode():
        for obj, mask in enumerate(masks):
            session.obj_id_to_idx(obj)
            session.add_mask_inputs(obj, 0, mask[None, None])
        session.obj_with_new_inputs = [0, 1]
        model(session, frame_idx=0)
        expected_first = model(session, frame_idx=1)
        session.frames_tracked_per_obj[1][2] = {"reverse": False}  # a prompt combined with memory, as the tracker does
        session.add_point_inputs(1, 2, box)
        session.obj_with_new_inputs = [1]
        expected_second = model(session, frame_idx=2)
    for found, expected in ((first, expected_first), (second, expected_second)):
        for index, name in enumerate(["a", "b"]):
            torch.testing.assert_close(found[name][0], expected.pred_masks[index, 0], atol=1e-4, rtol=1e-4)
            assert abs(found[name][1] - float(expected.object_score_logits[index])) < 1e-4


def reference_with_20_structures(shape=(12, 40, 50)):
    """20 small squares on the same slices, so all structures share one reference frame and one start slice."""
    labels = np.zeros(shape, np.uint8)
    for value in range(1, 21):
        row, col = 8 * ((value - 1) // 5) + 2, 10 * ((value - 1) % 5) + 2
        labels[4:8, row : row + 6, col : col + 6] = value
    image = Image(np.random.default_rng(0).normal(size=shape).astype(np.float32), spacing=(1, 1, 2))
    label_set = LabelSet(tuple(Structure(f"s{v}", v) for v in range(1, 21)))
    return Reference(image, Segmentation.from_label_map(image.with_array(labels), label_set))


def test_20_structures_encode_each_frame_once_and_decode_each_frame_in_one_batch(tiny_sam2):
    reference = reference_with_20_structures()
    target = Image(np.random.default_rng(1).normal(size=(12, 40, 50)), spacing=(1, 1, 2))
    segmenter = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu")
    decoded, attended = [], []
    segmenter.model.mask_decoder.register_forward_hook(
        lambda module, args, kwargs, output: decoded.append(kwargs["image_embeddings"].shape[0]), with_kwargs=True
    )
    segmenter.model.memory_attention.register_forward_hook(
        lambda module, args, kwargs, output: attended.append(kwargs["current_vision_features"].shape[1]), with_kwargs=True
    )
    result = segmenter.segment(Request([reference], target), None)
    assert all(result.details["slices_visited"][f"s{v}"] == [0, 11] for v in range(1, 21))
    assert result.details["frames_encoded"] == 1 + 12  # one shared reference slice, each target slice once
    assert decoded == [1] * 20 + [20] * 12  # each reference mask once, then one batch of 20 per target slice
    assert attended == [8, 8, 4] * 12  # memory attention in passes of at most OBJECTS_PER_PASS structures
