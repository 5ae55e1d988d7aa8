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
