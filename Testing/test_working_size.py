"""``working_size`` says, from the header alone, the grid ``working_image`` makes: the registration decides which
coarse levels to keep by it before making any working copy."""

from __future__ import annotations

import numpy as np
import pytest

from rau.image import Image
from rau.working_images import working_image, working_size


@pytest.mark.parametrize("shape, spacing", [
    ((1, 540, 800), (1.0, 0.15, 0.15)),   # a picture (2D)
    ((1, 40, 30), (1.0, 0.2, 0.2)),       # a small picture: kept as it is at 128
    ((20, 96, 80), (2.0, 0.8, 0.8)),      # a CT slab
    ((5, 64, 64), (5.0, 1.0, 1.0)),       # few thick slices
])
@pytest.mark.parametrize("voxels", [32, 64, 128])
def test_working_size_is_the_size_working_image_makes(shape, spacing, voxels):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 200, shape).astype(np.int16)
    image = Image.from_grid(array, spacing[::-1], (0.0, 0.0, 0.0), np.eye(3))  # 2D for a single slice
    assert image.ndim == (2 if shape[0] == 1 else 3)
    assert working_size(image, voxels, 1.5) == working_image(image, voxels, 1.5).GetSize()
