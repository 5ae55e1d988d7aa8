"""Coordinate conventions: our resize rule equals the real processors', and boxes map back exactly."""

import pytest

from rau.image import GeometryError
from rau.vlm.families import QWEN2_5_VL, QWEN3_VL, family_for

SHAPES = [(800, 540), (512, 512), (37, 1200), (3000, 2000), (57, 57), (20, 300), (1024, 97), (281, 799)]


@pytest.mark.parametrize("width, height", SHAPES)
def test_model_size_is_what_the_real_processor_produces_and_keeps(width, height):
    from PIL import Image
    from transformers import Qwen2VLImageProcessor

    pytest.importorskip("torchvision")
    size = QWEN2_5_VL.model_size(width, height)
    assert size[0] % 28 == 0 and size[1] % 28 == 0
    processor = Qwen2VLImageProcessor(min_pixels=QWEN2_5_VL.min_pixels, max_pixels=QWEN2_5_VL.max_pixels)
    for shape in ((width, height), size):  # the source, and our pre-resized image (left unchanged)
        grid = processor(images=[Image.new("RGB", shape)], return_tensors="pt")["image_grid_thw"][0].tolist()
        assert (grid[2] * 14, grid[1] * 14) == size


@pytest.mark.parametrize("width, height", SHAPES)
def test_boxes_map_to_model_coordinates_and_back(width, height):
    box = (width * 0.1, height * 0.25, width * 0.6, height * 0.9)
    for family in (QWEN2_5_VL, QWEN3_VL):
        model_box = family.to_model(box, (width, height))
        back = family.from_model(model_box, (width, height))
        bound = family.bounds(family.model_size(width, height))
        assert 0 <= model_box[0] < model_box[2] <= bound[0] and 0 <= model_box[1] < model_box[3] <= bound[1]
        scale = (width / bound[0], height / bound[1])  # rounding to whole model units
        assert all(abs(a - b) <= 0.5 * scale[i % 2] + 1e-9 for i, (a, b) in enumerate(zip(box, back)))


def test_conventions_per_family():
    width, height = 800, 540
    full = (0, 0, width, height)
    assert QWEN2_5_VL.to_model(full, (width, height)) == [0, 0, *QWEN2_5_VL.model_size(width, height)]
    assert QWEN3_VL.to_model(full, (width, height)) == [0, 0, 1000, 1000]
    assert family_for("qwen2_5_vl") is QWEN2_5_VL and family_for("Qwen/Qwen3-VL-8B-Instruct") is QWEN3_VL
    with pytest.raises(ValueError, match="unknown vision-language model family"):
        family_for("llava-1.5")
    with pytest.raises(GeometryError, match="more than 200 times longer than wide"):  # before: a ValueError, an internal error
        QWEN2_5_VL.model_size(5000, 10)


@pytest.mark.parametrize("family, limits", [
    (QWEN3_VL, (4096, 65536)),  # a processor capped below the family's minimum: min = max = 65536
    (QWEN3_VL, (64 * 32 * 32, 80 * 32 * 32)),
    (QWEN2_5_VL, (4 * 28 * 28, 64 * 28 * 28)),
    (QWEN2_5_VL, (60 * 28 * 28, 64 * 28 * 28)),
])
def test_model_size_is_kept_by_a_processor_with_narrow_limits(family, limits):
    """The size RAU resizes a picture to is one the processor (same limits) leaves as it is; before, a 512x100 slice
    for a Qwen3-VL processor capped at 65536 pixels was sized 608x128 (77824 pixels), which the processor shrank again
    to 544x96, so boxes in pixels of RAU's size were misread."""
    from PIL import Image
    from transformers import Qwen2VLImageProcessor

    pytest.importorskip("torchvision")
    patch = family.factor // 2
    processor = Qwen2VLImageProcessor(patch_size=patch, merge_size=2, size={"shortest_edge": limits[0], "longest_edge": limits[1]})
    limited = family.with_pixel_limits(*limits)
    for width, height in [*SHAPES, (512, 100), (1, 150), (150, 1), (100, 512), (300, 2000), (64, 64), (2, 3)]:
        size = limited.model_size(width, height)
        assert limited.min_pixels <= size[0] * size[1] <= limited.max_pixels, (width, height, size)
        grid = processor(images=[Image.new("RGB", size)], return_tensors="pt")["image_grid_thw"][0].tolist()
        assert (grid[2] * patch, grid[1] * patch) == size, (width, height)
