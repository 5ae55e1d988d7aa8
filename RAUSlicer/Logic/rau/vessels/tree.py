"""The vessel tree as pieces: skeleton branches between bifurcations and ends.

A *piece* is a connected run of skeleton pixels with no bifurcation inside; pieces meet at
junction pixels (skeleton pixels with three or more skeleton neighbours). Corrections act on one
piece, so a rename or a removal stops at the next bifurcations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), bool)


@dataclass
class VesselTree:
    """Skeleton pieces of a vessel mask. ``pieces``: int map, 0 off the skeleton and at junctions,
    piece number ``1..count`` elsewhere."""

    mask: np.ndarray
    skeleton: np.ndarray
    pieces: np.ndarray
    count: int

    def piece_at(self, row: int, col: int, radius: float = 6.0) -> int:
        """The piece nearest to (row, col) within ``radius`` pixels, else 0."""
        rows, cols = np.nonzero(self.pieces)
        if not rows.size:
            return 0
        distance = (rows - row) ** 2 + (cols - col) ** 2
        nearest = int(np.argmin(distance))
        return int(self.pieces[rows[nearest], cols[nearest]]) if distance[nearest] <= radius**2 else 0


def vessel_tree(mask: np.ndarray) -> VesselTree:
    """Skeletonize ``mask`` (bool 2D) and cut the skeleton into pieces at its bifurcations."""
    from skimage.morphology import skeletonize

    skeleton = skeletonize(mask)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), EIGHT.astype(np.uint8), mode="constant") - 1
    junctions = skeleton & (neighbours >= 3)
    pieces, count = ndimage.label(skeleton & ~junctions, structure=EIGHT)
    return VesselTree(mask, skeleton, pieces, count)
