"""Warping reference labels onto a target grid (``rau.label_transfer``): nothing is lost on the way."""

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from rau.image import Image
from rau.label_transfer import warp_structures
from rau.labels import LabelSet, Segmentation


@pytest.mark.parametrize("ndim", [2, 3])
def test_structures_thinner_than_the_coarse_pass_arrive_whole(ndim):
    """A one-voxel plate, a rod and a 2-voxel blob between the coarse pass's samples, on a target that is the
    reference grid shifted in its header by a known translation: every voxel lands (Dice 1), as for a big structure."""
    shape = (1, 48, 40) if ndim == 2 else (24, 48, 40)
    masks = {name: np.zeros(shape, bool) for name in ("plate", "rod", "blob", "big")}
    masks["plate"][..., 21, 3:37] = True
    masks["rod"][..., 5:40, 30] = True
    masks["blob"][..., 10:12, 9:11] = True
    masks["big"][..., 20:40, 5:25] = True
    if ndim == 3:
        masks["plate"][:3] = masks["rod"][:3] = masks["blob"][:9] = False
    spacing = (0.8, 0.7, 2.0)
    reference = Image(np.zeros(shape, np.uint8), spacing, ndim=ndim)
    labels = LabelSet.from_values([1, 2, 3, 4], {1: "plate", 2: "rod", 3: "blob", 4: "big"})
    segmentation = Segmentation(reference, labels, masks)
    shift = np.array([6 * 0.8, -3 * 0.7, 2 * 2.0])[:ndim]  # target point + shift = reference point
    target = Image(np.zeros(shape, np.uint8), spacing, ndim=ndim)
    warped = warp_structures(segmentation, labels.names, target, sitk.TranslationTransform(ndim, shift.tolist()))
    for name, mask in masks.items():  # the target's voxel (k, j, i) is the reference's (k + 2, j - 3, i + 6)
        expected = ndimage.shift(mask.astype(np.uint8), (-2 if ndim == 3 else 0, 3, -6), order=0) > 0
        assert expected.sum() > 0 and np.array_equal(warped[name].inside(shape), expected), name
