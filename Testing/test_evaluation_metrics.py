"""Surface distances (HD95) computed on the masks' box give exactly the whole grid's, also for masks at its edges."""

import numpy as np
from scipy import ndimage

from rau.evaluation.metrics import hd95
from rau.image import Image


def whole_grid_hd95(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """HD95 over the whole grid, as it was computed before."""
    surface_a, surface_b = a & ~ndimage.binary_erosion(a), b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)[surface_a]
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]
    return float(np.percentile(np.concatenate([to_b, to_a]), 95))


def test_hd95_on_the_masks_box_equals_the_whole_grid_s_for_masks_inside_and_at_the_edges():
    rng = np.random.default_rng(3)
    spacing = (0.7, 0.9, 3.0)  # x, y, z
    for corner in ((10, 12, 8), (0, 0, 0), (24, 50, 54)):  # inside; at the first edges; at the last edges
        prediction, truth = np.zeros((32, 64, 64), bool), np.zeros((32, 64, 64), bool)
        z, y, x = corner
        prediction[z : z + 8, y : y + 14, x : x + 10] = True
        truth[max(z - 2, 0) : z + 7, y + 1 : y + 14, max(x - 3, 0) : x + 9] = True
        truth &= rng.random(truth.shape) > 0.1  # ragged surfaces, holes
        expected = whole_grid_hd95(prediction, truth, spacing[::-1])
        assert hd95(prediction, truth, Image(np.zeros(truth.shape, np.float32), spacing=spacing)) == expected, corner
    picture = np.zeros((1, 40, 50), bool), np.zeros((1, 40, 50), bool)
    picture[0][0, 0:9, 3:20], picture[1][0, 30:40, 40:50] = True, True
    expected = whole_grid_hd95(picture[0][0], picture[1][0], (0.5, 0.5))
    assert hd95(*picture, Image(np.zeros((1, 40, 50), np.float32), spacing=(0.5, 0.5, 1.0), ndim=2)) == expected
