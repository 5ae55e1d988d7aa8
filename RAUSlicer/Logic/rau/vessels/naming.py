"""Name the target's vessels by the reference segments that land on or near them, along the vessel.

Each warped reference segment is a guide: its two ends are snapped onto the target's vessels and
joined by the minimal path through the target vesselness, with a cost that grows with the distance
from the guide (:mod:`rau.vessels.paths`). So a segment follows one target vessel from end to end,
and consecutive segments, whose warped ends touch, meet at the same bifurcation. The centrelines
are then grown to the vessel width. A segment's *support* is the share of its path that runs on
target vessel pixels; below :data:`MIN_SUPPORT` it is reported not found, unless the reference
tree implies it (:mod:`rau.vessels.topology`: it lies between the root and a found segment); then
it is traced from the ends of its found neighbours towards its guide, clipped into the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rau.vessels.paths import cost_map, minimal_path, paint, snap
from rau.vessels.topology import SegmentTree

GUIDE_PIXELS = 20.0
"""Distance (px) from the warped segment at which a path step costs twice as much. Of the order of
the alignment's residual: on design pairs 1-11 the true centreline of a segment lies a median 26 px
from its warped reference segment (per segment median; quartiles 2 and 92 px), so a path must be
free to run a couple of tens of pixels off the guide to reach the vessel it stands for."""
MARGIN = 40
"""The path is searched in the warped segment's bounding box grown by this many pixels."""
MIN_SUPPORT = 0.3
"""Share of a traced path that must run on target vessels for the segment to count as found.
Chosen by looking at dev pairs 1-10 only (the pairs used while designing; 11-30 are reported
apart): paths of segments absent from the target mostly still run on some vessel, so only a path
that is mostly off the vessels says "absent"."""
BEYOND_PIXELS = 128
"""How far (px) past the picture's edges the warped reference is kept: an implied segment that the
alignment put outside the picture is traced towards where it went, clipped onto the edge."""


@dataclass
class Naming:
    """Per segment value: its traced centreline (N, 2 rows/cols) and support; the painted label map;
    the segments found only because the reference tree implies them."""

    centrelines: dict[int, np.ndarray]
    support: dict[int, float]
    label_map: np.ndarray
    implied: tuple[int, ...] = ()

    def found(self, value: int) -> bool:
        """Whether the segment ``value`` counts as found: traced with support of at least :data:`MIN_SUPPORT`, or implied."""
        return self.support.get(value, 0.0) >= MIN_SUPPORT or value in self.implied


def name_segments(vesselness: np.ndarray, vessels: np.ndarray, warped: np.ndarray, values: list[int], tree: SegmentTree | None = None, margin: int = 0) -> Naming:
    """Trace each segment ``value`` of ``warped`` (reference labels on the target grid grown by
    ``margin`` px on each side) along the target's vessels; with ``tree``, also the segments it implies."""
    rows, cols = vesselness.shape
    inside = warped[margin : margin + rows, margin : margin + cols]
    centrelines, support = {}, {}
    for value in values:
        path = trace_guide(vesselness, inside == value)
        if path is None:
            support[value] = 0.0
            continue
        support[value] = on_vessels(vessels, path)
        if support[value] >= MIN_SUPPORT:
            centrelines[value] = path
    implied = []
    for value in [v for v in tree.implied(centrelines) if v in values] if tree is not None else []:
        neighbours = sorted(tree.neighbours[value], key=lambda n: n != tree.parent.get(value))  # towards the root first
        path = trace_from(vesselness, clipped_guide(warped, value, margin, vesselness.shape), [centrelines[n] for n in neighbours if n in centrelines])
        if path is not None:
            centrelines[value], support[value] = path, on_vessels(vessels, path)
            implied.append(value)
    return Naming(centrelines, support, paint(centrelines, vessels, vesselness.shape), tuple(implied))


def on_vessels(vessels: np.ndarray, path: np.ndarray) -> float:
    """A path's support: the share of its pixels on the target's vessel mask."""
    return float(vessels[path[:, 0], path[:, 1]].mean())


def trace_guide(vesselness: np.ndarray, guide: np.ndarray) -> np.ndarray | None:
    """The minimal vessel path between the two far ends of ``guide`` (bool), or None if it is empty."""
    ends = far_ends(guide)
    if ends is None:
        return None
    return guided_path(vesselness, guide, *(snap(vesselness, end) for end in ends))


def trace_from(vesselness: np.ndarray, guide: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray | None:
    """A segment continued from its neighbours' traced centrelines (``neighbours``, at least one):
    from the end of the first nearest to ``guide`` to the farthest such end of the others, or, with
    one neighbour, to the far end of ``guide``. None when ``guide`` is empty."""
    ends = far_ends(guide)
    if ends is None or not neighbours:
        return None
    distance = ndimage.distance_transform_edt(~guide)
    start, *others = [min((tuple(path[0]), tuple(path[-1])), key=lambda p: distance[p]) for path in neighbours]
    end = max(others or [snap(vesselness, e) for e in ends], key=lambda e: (e[0] - start[0]) ** 2 + (e[1] - start[1]) ** 2)
    return guided_path(vesselness, guide, start, end)


def guided_path(vesselness: np.ndarray, guide: np.ndarray, start: tuple[int, int], end: tuple[int, int]) -> np.ndarray:
    """The minimal vessel path from ``start`` to ``end``, kept near ``guide`` (cost grows with the
    distance from it, :data:`GUIDE_PIXELS`), searched in the box around all three grown by :data:`MARGIN`."""
    rows, cols = np.nonzero(guide)
    rows, cols = np.r_[rows, start[0], end[0]], np.r_[cols, start[1], end[1]]
    r0, r1 = max(rows.min() - MARGIN, 0), min(rows.max() + MARGIN + 1, guide.shape[0])
    c0, c1 = max(cols.min() - MARGIN, 0), min(cols.max() + MARGIN + 1, guide.shape[1])
    distance = ndimage.distance_transform_edt(~guide[r0:r1, c0:c1])
    path = minimal_path(cost_map(vesselness[r0:r1, c0:c1], distance, GUIDE_PIXELS), (start[0] - r0, start[1] - c0), (end[0] - r0, end[1] - c0))
    return path + np.array([r0, c0])


def clipped_guide(warped: np.ndarray, value: int, margin: int, shape: tuple[int, int]) -> np.ndarray:
    """Segment ``value`` of ``warped`` (target grid grown by ``margin``) with the pixels outside the
    picture moved onto its nearest edge (bool, ``shape``)."""
    points = np.argwhere(warped == value) - margin
    guide = np.zeros(shape, bool)
    guide[np.clip(points[:, 0], 0, shape[0] - 1), np.clip(points[:, 1], 0, shape[1] - 1)] = True
    return guide


def far_ends(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two ends of ``mask``'s centreline farthest apart (row, col), or None for an empty mask."""
    from skimage.morphology import skeletonize

    if not mask.any():
        return None
    skeleton = skeletonize(mask)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    points = np.argwhere(skeleton & (neighbours <= 1))
    if len(points) < 2:
        points = np.argwhere(skeleton) if skeleton.sum() >= 2 else np.argwhere(mask)
    if len(points) == 1:
        return tuple(points[0]), tuple(points[0])
    gaps = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    a, b = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
    return tuple(int(v) for v in points[a]), tuple(int(v) for v in points[b])
