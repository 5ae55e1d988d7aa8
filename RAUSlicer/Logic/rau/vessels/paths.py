"""Minimal paths along the vessels, and painting a centreline out to the vessel width.

The cost of stepping on a pixel falls with its vesselness, so the cheapest path between two points
follows the vessel that joins them (:class:`skimage.graph.MCP_Geometric`). Both the engine (tracing
a warped reference segment on the target) and the two-click correction use it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

VESSEL_FLOOR = 0.02
"""Vesselness added before inverting to a cost: crossing background is expensive, not impossible."""
MIN_RADIUS = 1.5
MAX_RADIUS = 8.0
"""Painted half-widths (px) are the vessel mask's own half-width, clipped to this range, plus :data:`EDGE_PIXELS`."""
EDGE_PIXELS = 1.0
"""The vessel mask thresholds a smoothed second-derivative (ridge) response, which fades inside the
vessel's edge; the blurred edge that an outline of the vessel encloses lies about a pixel farther out."""


def cost_map(vesselness: np.ndarray, guide_distance: np.ndarray | None = None, guide_pixels: float = 10.0) -> np.ndarray:
    """Per-pixel cost: ``1 / (vesselness + floor)``, times ``1 + (d / guide_pixels)^2`` when a guide's distance map is given."""
    cost = 1.0 / (vesselness.astype(np.float64) + VESSEL_FLOOR)
    if guide_distance is not None:
        cost *= 1.0 + (guide_distance / guide_pixels) ** 2
    return cost


def minimal_path(cost: np.ndarray, start: tuple[int, int], end: tuple[int, int]) -> np.ndarray:
    """The cheapest 8-connected path from ``start`` to ``end`` (row, col) as an (N, 2) int array."""
    from skimage.graph import MCP_Geometric

    mcp = MCP_Geometric(cost, fully_connected=True)
    mcp.find_costs([tuple(start)], [tuple(end)])
    return np.asarray(mcp.traceback(tuple(end)), dtype=int)


def snap(vesselness: np.ndarray, point: tuple[int, int], radius: int = 5) -> tuple[int, int]:
    """The pixel of highest vesselness within ``radius`` of ``point`` (row, col); ties go to the first in raster order."""
    rows, cols = vesselness.shape
    r0, r1 = max(point[0] - radius, 0), min(point[0] + radius + 1, rows)
    c0, c1 = max(point[1] - radius, 0), min(point[1] + radius + 1, cols)
    window = vesselness[r0:r1, c0:c1]
    best = np.unravel_index(int(np.argmax(window)), window.shape)
    return int(r0 + best[0]), int(c0 + best[1])


def paint(centrelines: dict[int, np.ndarray], vessels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Label map: each pixel takes the value of its nearest centreline pixel when it lies within that
    pixel's vessel half-width (the distance to the edge of ``vessels`` there, clipped to
    [:data:`MIN_RADIUS`, :data:`MAX_RADIUS`], plus :data:`EDGE_PIXELS`). ``centrelines``: value -> (N, 2) (row, col) pixels."""
    named = np.zeros(shape, np.int32)
    for value, path in centrelines.items():
        if len(path):
            named[path[:, 0], path[:, 1]] = value
    if not named.any():
        return named
    box = _around_centrelines(named, vessels)
    painted = np.zeros(shape, np.int32)
    painted[box] = _paint_nearest(named[box], vessels[box])
    return painted


def _around_centrelines(named: np.ndarray, vessels: np.ndarray) -> tuple[slice, slice]:
    """The box of ``named``'s centreline pixels grown by the widest painted half-width and a pixel: nothing beyond it is
    painted, and inside it the half-widths come out as on the whole picture (a vessel edge nearer than
    :data:`MAX_RADIUS` lies inside it; the whole picture when the box holds no edge of ``vessels``)."""
    margin = int(np.ceil(MAX_RADIUS + EDGE_PIXELS)) + 1
    rows, cols = np.nonzero(named)
    box = (slice(max(rows.min() - margin, 0), rows.max() + margin + 1), slice(max(cols.min() - margin, 0), cols.max() + margin + 1))
    return box if not vessels[box].all() else (slice(None), slice(None))


def _paint_nearest(named: np.ndarray, vessels: np.ndarray) -> np.ndarray:
    """:func:`paint` of the centreline pixels already placed in ``named``."""
    radius = np.clip(ndimage.distance_transform_edt(vessels), MIN_RADIUS, MAX_RADIUS)
    distance, (rows, cols) = ndimage.distance_transform_edt(named == 0, return_indices=True)
    return np.where(distance <= radius[rows, cols] + EDGE_PIXELS, named[rows, cols], 0).astype(np.int32)
