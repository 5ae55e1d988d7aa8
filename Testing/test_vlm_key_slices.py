"""3D: key slices per structure, shared when possible, matched to the target; boxes land on the target slice."""

import json

import numpy as np

from chat_server import ChatServer
from rau.engines import Request, create_engine
from rau.engines.base import Reference
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.vlm.key_slices import key_slices, matching_slice, plan_views


def _volume(shift=0):
    """20 slices of 64x64: a disc growing then shrinking along k ("a") and a small square late ("b")."""
    rng = np.random.default_rng(0)
    k, j, i = np.mgrid[0:20, 0:64, 0:64]
    a = (j - 32) ** 2 + (i - 24) ** 2 < (12 - abs(k - 6)) ** 2 * 1.5
    b = (k >= 13) & (k <= 16) & (abs(j - 40) < 6) & (abs(i - 48) < 6) & ((k != 13) | (i < 46))
    array = rng.normal(0, 5, a.shape) + 60 * a + 90 * b + 3 * k
    array = np.roll(array, shift, axis=0)
    image = Image(array, (1.0, 1.0, 3.0), ndim=3)
    labels = LabelSet((Structure("a", 1), Structure("b", 2), Structure("c", 3)))
    zeros = image.with_array(np.zeros(image.shape, np.uint8))
    return image, Segmentation(zeros, labels, {"a": np.roll(a, shift, 0), "b": np.roll(b, shift, 0), "c": np.zeros_like(a)})


def test_key_slices_take_the_largest_cross_section_and_share_when_they_can():
    _, segmentation = _volume()
    assert key_slices(segmentation, ["a"]) == [(6, ["a"])]
    assert key_slices(segmentation, ["b"])[0][0] in (14, 15, 16)
    groups = key_slices(segmentation, ["a", "b", "c"])
    assert sorted(n for _, names in groups for n in names) == ["a", "b"]  # "c" has no voxels


def test_matching_slice_finds_the_same_anatomy_in_a_shifted_target():
    image, _ = _volume()
    shifted, _ = _volume(shift=2)
    assert matching_slice(image, 6, shifted) == 8
    assert matching_slice(image, 10, shifted) == 12
    assert matching_slice(image, 15, shifted) in (16, 17, 18)  # slices 14-16 show the same square


def test_3d_localization_puts_boxes_on_the_matched_target_slice():
    image, segmentation = _volume()
    target, _ = _volume(shift=2)
    views = plan_views(segmentation, image, target, ["a", "b"])
    answer = json.dumps([{"label": n, "present": True, "bbox_2d": [10, 20, 30, 40]} for n in ("a", "b")])
    with ChatServer(lambda body: answer) as server:
        engine = create_engine("vlm-box", {"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-3B-Instruct"})
        result = engine.run(Request([Reference(image, segmentation)], target, ["a", "b", "c"]))
    assert len(server.requests) == len(views) == 2
    for view in views:
        for name in view.names:
            item = result.get(name)
            assert item.found and item.box.lower[2] == view.target_slice and item.box.upper[2] == view.target_slice + 1
            assert item.prompts["vlm"]["target_slice"] == view.target_slice
    assert not result.get("c").found
