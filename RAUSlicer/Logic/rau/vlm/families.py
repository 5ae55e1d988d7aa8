"""Coordinate conventions, one place per model family.

The images a model sees are resized by RAU itself to :meth:`ModelFamily.model_size`
(sides multiples of ``factor``, pixel count within bounds, the same rule as the
model's own processor), so the processor and any server leave them as they are and
the model's coordinates refer to a size we know.

* Qwen2.5-VL answers boxes in **absolute pixels of that resized image**.
* Qwen3-VL (and Qwen2-VL) answer boxes **normalized to 0-1000**.

Boxes outside this module are ``(x0, y0, x1, y1)`` pixel *edges* of the source slice
(x = column i, y = row j; a pixel ``i`` spans ``[i, i + 1)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rau.errors import OptionError
from rau.image import GeometryError


@dataclass(frozen=True)
class ModelFamily:
    """Image size rule and box coordinate convention of one model family."""

    name: str
    factor: int
    min_pixels: int
    max_pixels: int
    normalized_to: int | None = None
    """None: absolute pixels of the resized image; else coordinates scaled to 0..normalized_to."""

    def model_size(self, width: int, height: int, source: str = "the image") -> tuple[int, int]:
        """(width, height) of the image the model sees for a ``width`` x ``height`` source, which errors name
        (``source``: e.g. ``reference 'ref.png'``): the processor's own rule (transformers' ``smart_resize``), or, where
        that rule leaves the pixel limits, the closest size within them (:meth:`_within_limits`), so the processor keeps it."""
        if min(width, height) < 1:
            raise GeometryError(f"{source}: image size must be positive, got {width}x{height}")
        if max(width, height) / min(width, height) > 200:
            raise GeometryError(f"{source}: a {width}x{height} image (or slice) is more than 200 times longer than wide, which Qwen-VL refuses")
        factor = self.factor
        h_bar = round(height / factor) * factor
        w_bar = round(width / factor) * factor
        if h_bar * w_bar > self.max_pixels:
            beta = math.sqrt(height * width / self.max_pixels)
            h_bar = max(factor, math.floor(height / beta / factor) * factor)
            w_bar = max(factor, math.floor(width / beta / factor) * factor)
        elif h_bar * w_bar < self.min_pixels:
            beta = math.sqrt(self.min_pixels / (height * width))
            h_bar = math.ceil(height * beta / factor) * factor
            w_bar = math.ceil(width * beta / factor) * factor
        if not self.min_pixels <= w_bar * h_bar <= self.max_pixels:
            return self._within_limits(width, height) or (w_bar, h_bar)
        return w_bar, h_bar

    def _within_limits(self, width: int, height: int) -> tuple[int, int] | None:
        """The (width, height) in multiples of ``factor`` within the pixel limits (which the processor keeps as it is)
        nearest the ``width`` x ``height`` shape's aspect (of each width, the height that rounds to it), the larger on a
        tie; for limits the processor's own rule overshoots
        (a narrow range, or a side kept at one ``factor``). None when no such size exists."""
        unit = self.factor * self.factor
        low, high = math.ceil(self.min_pixels / unit), self.max_pixels // unit
        best, best_key = None, None
        for columns in range(1, high + 1):
            rows_low, rows_high = max(1, math.ceil(low / columns)), high // columns
            if rows_low > rows_high:
                continue
            rows = min(max(round(columns * height / width), rows_low), rows_high)
            key = (abs(math.log(columns * height / (rows * width))), -columns * rows)
            if max(columns, rows) / min(columns, rows) <= 200 and (best_key is None or key < best_key):
                best, best_key = (columns * self.factor, rows * self.factor), key
        return best

    def bounds(self, model_size: tuple[int, int]) -> tuple[int, int]:
        """The largest x and y the model may answer for an image of ``model_size``."""
        if self.normalized_to is None:
            return model_size
        return self.normalized_to, self.normalized_to

    def to_model(self, box, source_size: tuple[int, int]) -> list[int]:
        """A source-pixel-edge box (x0, y0, x1, y1) in the model's coordinates (rounded; at least one unit wide and
        high: a 1-pixel vessel of a 2000-pixel picture the model sees at 500 would have no width, and no answer a
        parser takes could match it)."""
        (width, height), (model_width, model_height) = source_size, self._model_bounds(source_size)
        x0, x1 = _one_unit_at_least(_rescaled(box[0], model_width, width), _rescaled(box[2], model_width, width), model_width)
        y0, y1 = _one_unit_at_least(_rescaled(box[1], model_height, height), _rescaled(box[3], model_height, height), model_height)
        return [x0, y0, x1, y1]

    def from_model(self, box, source_size: tuple[int, int]) -> tuple[float, float, float, float]:
        """A box in the model's coordinates back in source pixel edges; an edge that falls exactly on a pixel edge stays
        exactly on it (:func:`_rescaled`)."""
        (width, height), (model_width, model_height) = source_size, self._model_bounds(source_size)
        return (_rescaled(box[0], width, model_width), _rescaled(box[1], height, model_height),
                _rescaled(box[2], width, model_width), _rescaled(box[3], height, model_height))

    def coordinate_phrase(self, model_size: tuple[int, int]) -> str:
        """How the prompt tells the model which coordinates to use."""
        if self.normalized_to is None:
            return f"in pixels of image 2 (width {model_size[0]}, height {model_size[1]})"
        return f"as coordinates normalized to 0-{self.normalized_to} (0 = left/top edge, {self.normalized_to} = right/bottom edge of image 2)"

    def describe(self) -> str:
        """The family's name, image size rule and box coordinates, in words (for messages)."""
        boxes = f"boxes on 0-{self.normalized_to}" if self.normalized_to else "boxes in pixels"
        return f"{self.name} (image sides multiples of {self.factor}, {self.min_pixels} to {self.max_pixels} pixels, {boxes})"

    def with_pixel_limits(self, min_pixels: int | None, max_pixels: int | None) -> "ModelFamily":
        """This family within a processor's own limits (so the processor never resizes again)."""
        low = max(self.min_pixels, min_pixels or 0)
        high = min(self.max_pixels, max_pixels or self.max_pixels)
        return replace(self, min_pixels=min(low, high), max_pixels=high)

    def _model_bounds(self, source_size: tuple[int, int]) -> tuple[int, int]:
        """The model's coordinate range (:meth:`bounds`) for a ``source_size`` (width, height) image."""
        return self.bounds(self.model_size(*source_size))


def _rescaled(value: float, to: int, of: int) -> float:
    """``value`` * ``to`` / ``of``, multiplied first: a float scale (``to / of``) made 609 * 800 / 812 = 600
    into 600.0000000000001, one pixel more once rounded outward."""
    return value * to / of


def _one_unit_at_least(low: float, high: float, end: int) -> tuple[int, int]:
    """``low`` and ``high`` rounded, at least one apart within 0..``end``."""
    low, high = int(round(low)), int(round(high))
    if high > low:
        return low, high
    high = min(low + 1, end)
    return high - 1, high


QWEN2_5_VL = ModelFamily("qwen2.5-vl", factor=28, min_pixels=4 * 28 * 28, max_pixels=1024 * 28 * 28)
QWEN3_VL = ModelFamily("qwen3-vl", factor=32, min_pixels=64 * 32 * 32, max_pixels=1024 * 32 * 32, normalized_to=1000)
QWEN2_VL = ModelFamily("qwen2-vl", factor=28, min_pixels=4 * 28 * 28, max_pixels=1024 * 28 * 28, normalized_to=1000)

FAMILY_NAMES = tuple(family.name for family in (QWEN2_5_VL, QWEN3_VL, QWEN2_VL))
"""The families by name, as ``--vlm-family`` and ``rau train --family`` take them (the first is the default)."""

SUPPORTED = "supported: Qwen2.5-VL, Qwen3-VL, Qwen2-VL"
"""The families RAU reads, in words (for messages)."""

FAMILIES = {"qwen2_5_vl": QWEN2_5_VL, "qwen3_vl": QWEN3_VL, "qwen3_vl_moe": QWEN3_VL, "qwen2_vl": QWEN2_VL}


def family_for(model_type_or_name: str, option: str | None = None) -> ModelFamily:
    """The family of a ``config.model_type`` (``qwen2_5_vl``) or a model name (``Qwen/Qwen3-VL-8B``); ``option``:
    the command-line option that gave it, named if it is unknown."""
    key = model_type_or_name.lower().replace("-", "_").replace(".", "_")
    if key in FAMILIES:
        return FAMILIES[key]
    for marker, family in (("qwen3_vl", QWEN3_VL), ("qwen2_5_vl", QWEN2_5_VL), ("qwen2_vl", QWEN2_VL)):
        if marker in key:
            return family
    if option:
        raise OptionError(f"{option} {model_type_or_name!r}: unknown vision-language model family; {SUPPORTED}")
    raise OptionError(f"unknown vision-language model family for {model_type_or_name!r}; {SUPPORTED}; name a model of one of "
                      "them, or --vlm-family")  # worded for rau.options.in_words to drop the flag where it cannot be set
