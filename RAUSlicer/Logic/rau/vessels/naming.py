"""Name the target's vessels by the reference segments that land on or near them, along the vessel.

Each warped reference segment is a guide: its two ends are snapped onto the target's vessels and
joined by the minimal path through the target vesselness, with a cost that grows with the distance
from the guide (:mod:`rau.vessels.paths`). So a segment follows one target vessel from end to end,
and consecutive segments, whose warped ends touch, meet at the same bifurcation. The centrelines
are then grown to the vessel width. A segment's *support* is the share of its path that runs on
target vessel pixels; below :data:`MIN_SUPPORT` it is reported not found. Its *contrast* is the
mean vesselness along the path; below :data:`MIN_CONTRAST` the path joins the ends over faint
ridges, not along a visible vessel, and the segment is reported not found as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rau.vessels.paths import cost_map, minimal_path, paint, snap

GUIDE_PIXELS = 10.0
"""Distance (px) from the warped segment at which a path step costs twice as much."""
MARGIN = 40
"""The path is searched in the warped segment's bounding box grown by this many pixels."""
MIN_SUPPORT = 0.3
"""Share of a traced path that must run on target vessels for the segment to count as found.
Chosen by looking at dev pairs 1-10 only (the pairs used while designing; 11-30 are reported
apart): paths of segments absent from the target mostly still run on some vessel, so only a path
that is mostly off the vessels says "absent"."""
MIN_CONTRAST = 0.4
"""Mean vesselness (0..1, 1 = the image's strongest vessels) a traced path must reach to count as found.
The hysteresis mask behind :data:`MIN_SUPPORT` reaches far into faint ridges, so absent segments
still find "vessel" pixels; their paths are faint on average. Chosen on dev pairs 1-11 only (the
design pairs): the traced paths of absent segments there had means 0.27-0.43, those of present
segments with any overlap with the truth 0.45 and up."""


@dataclass
class Naming:
    """Per segment value: its traced centreline (N, 2 rows/cols), support and contrast; the painted label map."""

    centrelines: dict[int, np.ndarray]
    support: dict[int, float]
    contrast: dict[int, float]
    label_map: np.ndarray

    def found(self, value: int) -> bool:
        return supported(self.support.get(value, 0.0), self.contrast.get(value, 0.0))


def supported(support: float, contrast: float) -> bool:
    """Whether a traced path says the segment is there (see :data:`MIN_SUPPORT`, :data:`MIN_CONTRAST`)."""
    return support >= MIN_SUPPORT and contrast >= MIN_CONTRAST


def name_segments(vesselness: np.ndarray, vessels: np.ndarray, warped: np.ndarray, values: list[int]) -> Naming:
    """Trace each segment ``value`` of ``warped`` (reference labels on the target grid) along the target's vessels."""
    centrelines, support, contrast = {}, {}, {}
    for value in values:
        path = trace_guide(vesselness, warped == value)
        if path is None:
            support[value] = contrast[value] = 0.0
            continue
        support[value] = float(vessels[path[:, 0], path[:, 1]].mean())
        contrast[value] = float(vesselness[path[:, 0], path[:, 1]].mean())
        if supported(support[value], contrast[value]):
            centrelines[value] = path
    return Naming(centrelines, support, contrast, paint(centrelines, vessels, vesselness.shape))


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
