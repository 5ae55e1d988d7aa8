"""The vessel engine's working grid: every angiogram is analysed with its longest side at
:data:`WORKING_PIXELS`, and answers go back to the picture's own grid.

The engine's pixel constants (Hessian scales, blurs, guide distances, widths) were chosen on ARCADE's
512 px angiograms. The same heart filmed at 1024 px has vessels twice as wide in pixels, which those
constants miss (ARCADE's 30 dev pairs with targets enlarged to 1024 px: Dice 0.089 instead of 0.232),
so a 1024 px picture is halved and a 300 px one enlarged. A 512 px picture is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORKING_PIXELS = 512
"""Longest side of the working grid (ARCADE's picture size)."""
MIN_SIDE_PIXELS = 64
"""Fewest pixels an angiogram may have along its shorter side, in the picture and on its working grid (there, a side
under an eighth of the longer one). Coronary segments are 3-10 px wide in ARCADE's 512 px angiograms: at 64 px (an
eighth) the widest, the left main, is about a pixel wide and most are under a pixel, so a smaller picture shows no tree
to name (a 3 x 3 px crop of background, enlarged to 512 px, gave the Hessian scales its blur to see as vessels, found
with confidence 0.97-1.00). On the working grid, the shutter and frame cuts take up to 12 + 24 px from each edge
(:data:`~rau.vessels.vesselness.SHUTTER_RADIUS`, :data:`~rau.vessels.vesselness.BORDER_BAND`). Clinical angiograms
are 512-1024 px; one downsampled to 128 px is still taken."""


@dataclass(frozen=True)
class WorkingGrid:
    """A picture of ``shape`` (rows, cols) and its working grid ``working``."""

    shape: tuple[int, int]
    working: tuple[int, int]

    @classmethod
    def of(cls, shape) -> "WorkingGrid":
        """The working grid of a picture of ``shape``: longest side :data:`WORKING_PIXELS`, aspect kept."""
        shape = (int(shape[0]), int(shape[1]))
        factor = WORKING_PIXELS / max(shape)
        return cls(shape, tuple(max(int(round(n * factor)), 1) for n in shape))

    def size_problem(self, what: str) -> str | None:
        """Why the picture (called ``what``) is too small, or too elongated, to show a coronary tree
        (:data:`MIN_SIDE_PIXELS`), else None."""
        if min(self.shape) >= MIN_SIDE_PIXELS and min(self.working) >= MIN_SIDE_PIXELS:
            return None
        rows, cols = self.shape
        fault = "too small" if min(self.shape) < MIN_SIDE_PIXELS else "too elongated"
        return (f"{what} is {cols} x {rows} pixels, {fault} to show a coronary tree: the vessels engine needs at least "
                f"{MIN_SIDE_PIXELS} pixels along each side, and its shorter side at least 1/{WORKING_PIXELS // MIN_SIDE_PIXELS} "
                f"of its longer (angiograms are 512-1024 px square)")

    @property
    def same(self) -> bool:
        """Whether the working grid is the picture's own (a 512 px film is used as it is)."""
        return self.shape == self.working

    def image(self, array: np.ndarray) -> np.ndarray:
        """Intensities on the working grid: the mean of each block of pixels when the picture is a whole number of
        times the working grid (a 1024 px film: 2 x 2 blocks, so a film enlarged by whole pixels is analysed as the
        original), else linear, smoothed first when shrinking, so thin vessels are not aliased."""
        from skimage.transform import downscale_local_mean, resize

        array = np.asarray(array, np.float32)
        if self.same:
            return array
        blocks = tuple(n // w for n, w in zip(self.shape, self.working))
        if all(b * w == n for b, w, n in zip(blocks, self.working, self.shape)):
            return downscale_local_mean(array, blocks).astype(np.float32)
        shrinking = self.working[0] < self.shape[0]
        return resize(array, self.working, order=1, anti_aliasing=shrinking, preserve_range=True).astype(np.float32)

    def labels(self, label_map: np.ndarray) -> np.ndarray:
        """Label values (or a bool mask) on the working grid, nearest neighbour."""
        return label_map if self.same else _nearest(label_map, self.working)

    def back(self, label_map: np.ndarray) -> np.ndarray:
        """A working-grid label map on the picture's grid, nearest neighbour."""
        return label_map if self.same else _nearest(label_map, self.shape)

    def to_working(self, row: int, col: int) -> tuple[int, int]:
        """A picture pixel (row, col) as the working-grid pixel that holds it."""
        return (min(int(row * self.working[0] / self.shape[0]), self.working[0] - 1),
                min(int(col * self.working[1] / self.shape[1]), self.working[1] - 1))

    def to_picture(self, points: np.ndarray) -> np.ndarray:
        """Working-grid (row, col) points ((N, 2)) as picture pixel positions (the pixel centres they fall on)."""
        if self.same:
            return points
        scale = np.array(self.shape, float) / np.array(self.working, float)
        return np.floor((np.asarray(points, float) + 0.5) * scale).astype(np.asarray(points).dtype)


def _nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``array`` sampled at the nearest pixel of each pixel centre of a grid of ``shape`` over the same picture."""
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * array.shape[0] / shape[0]).astype(int), array.shape[0] - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * array.shape[1] / shape[1]).astype(int), array.shape[1] - 1)
    return array[np.ix_(rows, cols)]
