"""A box edge the model gives on a pixel edge stays on that pixel edge once mapped back (no pixel gained by rounding)."""

import math

import numpy as np

from rau.io import read_image
from rau.vlm.families import QWEN2_5_VL, QWEN3_VL
from test_vlm_replies import _segment


def test_a_box_on_pixel_edges_masks_exactly_those_pixels(shared_data, tmp_path, capsys):
    """HC18 001 (800 x 540) is shown at 812 x 532: 609 * 800 / 812 = 600 and 399 * 540 / 532 = 405 exactly. Before,
    the mask took column 600 too (600.0000000000001 rounded outward)."""
    answer = '[{"label": "fetal head", "present": true, "bbox_2d": [203, 133, 609, 399]}]'
    code, result, _ = _segment(shared_data, tmp_path, answer)
    assert code == 0, capsys.readouterr().err
    assert result["structures"][0]["box"]["lower_ijk"] == [200, 135, 0] and result["structures"][0]["box"]["upper_ijk"] == [600, 405, 1]
    rows, columns = np.nonzero(read_image(tmp_path / "out" / "target.nii.gz", label_map=True).array[0])
    assert (columns.min(), columns.max(), rows.min(), rows.max()) == (200, 599, 135, 404)


def test_qwen3_vl_coordinates_on_pixel_edges_map_back_exactly():
    """0-1000 coordinates of widths 100..1099: before, 137 edges landing on a pixel edge were moved one pixel out."""
    assert QWEN2_5_VL.from_model((203, 133, 609, 399), (800, 540)) == (200, 135, 600, 405)
    moved = [(value, width) for width in range(100, 1100) for value in range(1, 1000) if value * width % 1000 == 0
             and math.ceil(QWEN3_VL.from_model((0, 0, value, value), (width, width))[2]) != value * width // 1000]
    assert moved == []

