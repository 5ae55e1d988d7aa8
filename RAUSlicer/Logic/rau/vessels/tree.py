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

    def nearest_piece(self) -> tuple[np.ndarray, np.ndarray]:
        """For every pixel, the distance to the nearest piece pixel and that piece's number: the one rule
        for which piece a click or a pixel belongs to (junction pixels belong to none)."""
        if not self.pieces.any():
            return np.full(self.pieces.shape, np.inf), np.zeros_like(self.pieces)
        distance, (rows, cols) = ndimage.distance_transform_edt(self.pieces == 0, return_indices=True)
        return distance, self.pieces[rows, cols]


def vessel_tree(mask: np.ndarray) -> VesselTree:
    """Skeletonize ``mask`` (bool 2D) and cut the skeleton into pieces at its bifurcations."""
    from skimage.morphology import skeletonize

    skeleton = skeletonize(mask)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), EIGHT.astype(np.uint8), mode="constant") - 1
    junctions = skeleton & (neighbours >= 3)
    pieces, count = ndimage.label(skeleton & ~junctions, structure=EIGHT)
    return VesselTree(mask, skeleton, pieces, count)
