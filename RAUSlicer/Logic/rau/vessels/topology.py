"""The reference's segments as a tree: which segments touch, where the tree starts, which must be present.

Read from the reference label map itself (no table of segment names): two segments are neighbours
when their masks touch, and the root is the end segment with the widest vessel. Blood reaches a
segment only through the segments between it and the root, so when a segment is found on the
target, those segments are present too, even where the alignment put their guide off the vessels
or out of the picture (:meth:`SegmentTree.implied`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

TOUCH_PIXELS = 3
"""Segments whose masks come this close (px) are neighbours: annotators draw consecutive segments
of one vessel as abutting pieces, sometimes with a pixel or two of gap between them."""


@dataclass
class SegmentTree:
    """``neighbours``: segment value -> touching segment values (sorted); ``parent``: value -> the
    neighbour one step nearer the ``root`` (breadth first; None for the root and for segments not
    connected to it)."""

    neighbours: dict[int, tuple[int, ...]]
    root: int
    parent: dict[int, int | None]

    def implied(self, found) -> list[int]:
        """Segments not in ``found`` that lie between the root and a found segment, deepest first
        (each is then next to a found segment or to one implied before it)."""
        found, implied = set(found), set()
        for value in found:
            step = self.parent.get(value)
            while step is not None and step not in found:
                implied.add(step)
                step = self.parent[step]
        return sorted(implied, key=lambda v: (-self.depth(v), v))

    def depth(self, value: int) -> int:
        """How many segments lie between segment ``value`` and the root (0 for the root)."""
        steps = 0
        while self.parent.get(value) is not None:
            value, steps = self.parent[value], steps + 1
        return steps


def segment_tree(label_map: np.ndarray, values: list[int]) -> SegmentTree:
    """The tree of ``values`` in ``label_map`` (2D ints, reference grid). Root: among the segments
    with at most one neighbour, the one whose vessel is widest (vessels taper away from the ostium);
    ties go to the lower value."""
    values = sorted(v for v in values if (label_map == v).any())
    neighbours = {}
    for value in values:
        near = ndimage.binary_dilation(label_map == value, iterations=TOUCH_PIXELS)
        neighbours[value] = tuple(v for v in values if v != value and (near & (label_map == v)).any())
    if not values:
        return SegmentTree({}, 0, {})
    radius = ndimage.distance_transform_edt(label_map > 0)
    ends = [v for v in values if len(neighbours[v]) <= 1] or values
    root = max(ends, key=lambda v: (radius[label_map == v].max(), -v))
    parent, queue = {root: None}, [root]
    for value in queue:
        for other in neighbours[value]:
            if other not in parent:
                parent[other] = value
                queue.append(other)
    return SegmentTree(neighbours, root, parent)
