"""How the VLM sees images: the reference with its annotation drawn on, the target plain.

Inference and training (:mod:`rau.train`) both call these functions, so a fine-tuned
model sees exactly the pictures it was trained on. The rendering is deterministic
(no fonts, no randomness) and is part of the model contract; change it only with a
new adapter version.

Public functions (``slice2d`` is one image slice ``array[k]``, rows = j, columns = i;
``size`` is the ``(width, height)`` the model sees, from
:meth:`rau.vlm.families.ModelFamily.model_size`):

* :func:`render_plain` (slice2d, size) -> RGB ``PIL.Image``: the target.
* :func:`render_overlay` (slice2d, masks, size) -> RGB ``PIL.Image``: the reference;
  ``masks[n - 1]`` is outlined in ``tag_color(n)`` with the number ``n`` drawn at its
  innermost pixel.
* :func:`render_boxed` (slice2d, box, size) -> RGB ``PIL.Image``: the target with one
  box outlined in :data:`BOX_COLOR` (the identity question).
* :func:`legend` (names) -> ``"1: liver\\n2: spleen"``, the text that names the tags.

Recipe: intensities are windowed to 8 bits (the slice's 0.5-99.5 percentiles), resized to
``size`` bilinearly (masks nearest-neighbour), outlines are the mask minus its erosion,
``line_width(size)`` pixels thick; tags are 3x5 pixel-font digits scaled by
``glyph_scale(size)``, colored, on a black plate.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

PALETTE = (
    (255, 0, 0), (0, 255, 0), (0, 128, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
    (255, 128, 0), (128, 0, 255), (128, 255, 0), (255, 0, 128), (0, 255, 128), (255, 160, 160),
)
"""Tag ``n`` is drawn in ``PALETTE[(n - 1) % 12]``."""

BOX_COLOR = (255, 255, 0)
"""Color of the box in :func:`render_boxed` (the prompts call it yellow)."""

_DIGITS = {  # 3x5 pixel font, rows top to bottom
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
}


def tag_color(tag: int) -> tuple[int, int, int]:
    """The RGB color of tag number ``tag`` (1-based)."""
    return PALETTE[(tag - 1) % len(PALETTE)]


def line_width(size: tuple[int, int]) -> int:
    """Outline thickness in model pixels: 2, plus 1 per 256 pixels of the shorter side beyond 512."""
    return 2 + max(0, min(size) - 512) // 256


def glyph_scale(size: tuple[int, int]) -> int:
    """Pixels per font dot: the shorter side / 100, at least 3 (digits about 5% of the image tall)."""
    return max(3, min(size) // 100)


def legend(names) -> str:
    """The legend naming each tag: ``"1: liver\\n2: spleen"``."""
    return "\n".join(f"{n}: {name}" for n, name in enumerate(names, start=1))


def to_uint8(slice2d: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """Window a 2D slice to 0..255 (``window`` = (low, high), else 0.5 and 99.5 percentiles)."""
    values = np.asarray(slice2d, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {values.shape}")
    low, high = window if window is not None else np.percentile(values, (0.5, 99.5))
    if high <= low:
        high = low + 1.0
    return np.rint(np.clip((values - low) / (high - low), 0.0, 1.0) * 255.0).astype(np.uint8)


def render_plain(slice2d: np.ndarray, size: tuple[int, int]) -> PILImage.Image:
    """The slice windowed, resized to ``size`` (width, height) and made RGB."""
    gray = PILImage.fromarray(to_uint8(slice2d), mode="L")
    return gray.resize(tuple(size), PILImage.BILINEAR).convert("RGB")


def render_overlay(slice2d: np.ndarray, masks, size: tuple[int, int]) -> PILImage.Image:
    """The reference: ``masks[n - 1]`` (same shape as the slice) outlined and tagged ``n``.

    Empty masks keep their number (tags follow the legend) but draw nothing.
    """
    canvas = np.asarray(render_plain(slice2d, size)).copy()
    resized = [_resize_mask(mask, slice2d.shape, size) for mask in masks]
    width = line_width(size)
    for tag, mask in enumerate(resized, start=1):
        if mask.any():
            canvas[mask & ~ndimage.binary_erosion(mask, iterations=width)] = tag_color(tag)
    for tag, mask in enumerate(resized, start=1):
        if mask.any():
            _draw_tag(canvas, tag, _innermost(mask), tag_color(tag), glyph_scale(size))
    return PILImage.fromarray(canvas, mode="RGB")


def render_boxed(slice2d: np.ndarray, box: tuple[float, float, float, float], size) -> PILImage.Image:
    """The target with ``box`` = (x0, y0, x1, y1) in slice pixel edges outlined in :data:`BOX_COLOR`."""
    canvas = np.asarray(render_plain(slice2d, size)).copy()
    rows, cols = np.asarray(slice2d).shape
    scale_x, scale_y = size[0] / cols, size[1] / rows
    x0, x1 = sorted((int(round(box[0] * scale_x)), int(round(box[2] * scale_x))))
    y0, y1 = sorted((int(round(box[1] * scale_y)), int(round(box[3] * scale_y))))
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(max(x1, x0 + 1), size[0]), min(max(y1, y0 + 1), size[1])
    filled = np.zeros((size[1], size[0]), dtype=bool)
    filled[y0:y1, x0:x1] = True
    canvas[filled & ~ndimage.binary_erosion(filled, iterations=line_width(size))] = BOX_COLOR
    return PILImage.fromarray(canvas, mode="RGB")


def _resize_mask(mask: np.ndarray, shape, size) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask shape {mask.shape} differs from the slice shape {tuple(shape)}")
    picture = PILImage.fromarray(mask.astype(np.uint8) * 255, mode="L").resize(tuple(size), PILImage.NEAREST)
    return np.asarray(picture) > 127


def _innermost(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the mask pixel farthest from its edge (first one in raster order on ties)."""
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(distance)), mask.shape)
    return int(row), int(col)


def _draw_tag(canvas: np.ndarray, tag: int, center: tuple[int, int], color, scale: int) -> None:
    """Draw the digits of ``tag`` centred on ``center`` on a black plate, kept inside the canvas."""
    text = str(tag)
    glyph_h, glyph_w = 5 * scale, (4 * len(text) - 1) * scale
    top = min(max(center[0] - glyph_h // 2, scale), canvas.shape[0] - glyph_h - scale)
    left = min(max(center[1] - glyph_w // 2, scale), canvas.shape[1] - glyph_w - scale)
    top, left = max(top, 0), max(left, 0)
    canvas[max(top - scale, 0): top + glyph_h + scale, max(left - scale, 0): left + glyph_w + scale] = 0
    for index, digit in enumerate(text):
        dots = np.array([[c == "1" for c in row] for row in _DIGITS[digit]])
        block = np.kron(dots, np.ones((scale, scale), dtype=bool))
        x = left + index * 4 * scale
        region = canvas[top: top + glyph_h, x: x + 3 * scale]
        region[block[: region.shape[0], : region.shape[1]]] = color
