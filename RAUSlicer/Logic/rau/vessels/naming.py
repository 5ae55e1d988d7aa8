"""Name the target's vessels by the reference segments that land on or near them, along the vessel.

Each warped reference segment is a guide: its two ends are snapped onto the target's vessels and
joined by the minimal path through the target vesselness, with a cost that grows with the distance
from the guide (:mod:`rau.vessels.paths`). So a segment follows one target vessel from end to end,
and consecutive segments, whose warped ends touch, meet at the same bifurcation. The centrelines
are then grown to the vessel width. A segment's *support* is the share of its path that runs on
target vessel pixels; below :data:`MIN_SUPPORT` it is reported not found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rau.vessels.paths import cost_map, minimal_path, paint, snap

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


@dataclass
class Naming:
    """Per segment value: its traced centreline (N, 2 rows/cols) and support; the painted label map."""

    centrelines: dict[int, np.ndarray]
    support: dict[int, float]
    label_map: np.ndarray

    def found(self, value: int) -> bool:
        return self.support.get(value, 0.0) >= MIN_SUPPORT


def name_segments(vesselness: np.ndarray, vessels: np.ndarray, warped: np.ndarray, values: list[int]) -> Naming:
    """Trace each segment ``value`` of ``warped`` (reference labels on the target grid) along the target's vessels."""
    centrelines, support = {}, {}
    for value in values:
        path = trace_guide(vesselness, warped == value)
        if path is None:
            support[value] = 0.0
            continue
        support[value] = float(vessels[path[:, 0], path[:, 1]].mean())
        if support[value] >= MIN_SUPPORT:
            centrelines[value] = path
    return Naming(centrelines, support, paint(centrelines, vessels, vesselness.shape))


def trace_guide(vesselness: np.ndarray, guide: np.ndarray) -> np.ndarray | None:
    """The minimal vessel path between the two far ends of ``guide`` (bool), or None if it is empty."""
    ends = far_ends(guide)
    if ends is None:
        return None
    rows, cols = np.nonzero(guide)
    r0, r1 = max(rows.min() - MARGIN, 0), min(rows.max() + MARGIN + 1, guide.shape[0])
    c0, c1 = max(cols.min() - MARGIN, 0), min(cols.max() + MARGIN + 1, guide.shape[1])
    window = vesselness[r0:r1, c0:c1]
    distance = ndimage.distance_transform_edt(~guide[r0:r1, c0:c1])
    start, end = (snap(window, (r - r0, c - c0)) for r, c in ends)
    path = minimal_path(cost_map(window, distance, GUIDE_PIXELS), start, end)
    return path + np.array([r0, c0])


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
