"""A VLM engine's result records ``prompts.vlm.reference_slice`` / ``target_slice`` as the files' own slice numbers:
before, they counted along the LPS-reordered k axis, so with a target and reference stored feet-first (k flipped) the
recorded slice was another slice of the file than the one the box lies on."""

import json

import numpy as np

from rau.engines.base import Progress, Reference, Request
from rau.image import Image
from rau.labels import Segmentation
from rau.vlm.key_slices import orient_request_lps, plan_views
from rau.vlm.localizer import VLMLocalizer
from test_vlm_orientation import TruthBackend, subjects  # noqa: F401  (fixture)


def k_flipped(image: Image) -> Image:
    """The same voxels stored with k running the other way (feet first)."""
    direction = image.direction.copy()
    direction[:, 2] *= -1
    last = image.to_world((0, 0, image.shape[0] - 1))
    return Image(image.array[::-1].copy(), image.spacing, tuple(last), direction)


def test_recorded_slices_are_the_files_own_on_k_flipped_files(subjects):  # noqa: F811
    image, _ = subjects["subjA_ct"]
    reference, segmentation = subjects["subjB_ct"]
    flipped = Segmentation(k_flipped(segmentation.geometry), segmentation.labels,
                           {name: mask[::-1].copy() for name, mask in segmentation.masks.items()})
    request = Request([Reference(k_flipped(reference), flipped)], k_flipped(image), ["liver"])
    seen = orient_request_lps(request)
    [view] = plan_views(seen.references[0].segmentation, seen.references[0].image, seen.target, ["liver"])
    answer = json.dumps([{"label": "liver", "present": True, "bbox_2d": [10, 20, 40, 60]}])
    found = VLMLocalizer(TruthBackend([answer])).localize(request, Progress())["liver"]
    assert found.box.upper[2] - found.box.lower[2] == 1
    assert found.answer["target_slice"] == found.box.lower[2] == image.shape[0] - 1 - view.target_slice
    assert found.answer["reference_slice"] == reference.shape[0] - 1 - view.reference_slice
    assert found.answer["target_slice"] != view.target_slice
