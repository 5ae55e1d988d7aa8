"""The target's vessel tree as pieces: skeleton branches between bifurcations and ends.

A *piece* is a connected run of skeleton pixels with no bifurcation inside; pieces meet at
junction pixels (skeleton pixels with three or more skeleton neighbours). ``networkx`` holds
which pieces touch which junctions, so a correction can walk along a vessel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), bool)


@dataclass
class VesselTree:
    """Skeleton pieces of a vessel mask.

    ``pieces``: int map, 0 off the skeleton and at junctions, piece number ``1..count`` elsewhere;
    ``junctions``: bool map of bifurcation pixels; ``graph``: networkx graph whose nodes are pieces
    (ints) and junction clusters (``("j", n)``), an edge wherever a piece touches a junction.
    """

    mask: np.ndarray
    skeleton: np.ndarray
    pieces: np.ndarray
    count: int
    junctions: np.ndarray
    graph: object

    def piece_at(self, row: int, col: int, radius: float = 6.0) -> int:
        """The piece nearest to (row, col) within ``radius`` pixels, else 0."""
        rows, cols = np.nonzero(self.pieces)
        if not rows.size:
            return 0
        distance = (rows - row) ** 2 + (cols - col) ** 2
        nearest = int(np.argmin(distance))
        return int(self.pieces[rows[nearest], cols[nearest]]) if distance[nearest] <= radius**2 else 0

    def lengths(self) -> np.ndarray:
        """Skeleton pixels per piece, indexed by piece number (index 0 unused)."""
        return np.bincount(self.pieces.ravel(), minlength=self.count + 1)


def vessel_tree(mask: np.ndarray) -> VesselTree:
    """Skeletonize ``mask`` (bool 2D) and cut the skeleton into pieces at its bifurcations."""
    import networkx as nx
    from skimage.morphology import skeletonize

    skeleton = skeletonize(mask)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), EIGHT.astype(np.uint8), mode="constant") - 1
    junctions = skeleton & (neighbours >= 3)
    pieces, count = ndimage.label(skeleton & ~junctions, structure=EIGHT)
    junction_labels, junction_count = ndimage.label(junctions, structure=EIGHT)
    graph = nx.Graph()
    graph.add_nodes_from(range(1, count + 1))
    grown = ndimage.grey_dilation(junction_labels, footprint=EIGHT)
    touching = (pieces > 0) & (grown > 0)
    for piece, junction in set(zip(pieces[touching].tolist(), grown[touching].tolist())):
        graph.add_edge(piece, ("j", junction))
    return VesselTree(mask, skeleton, pieces, count, junctions, graph)
