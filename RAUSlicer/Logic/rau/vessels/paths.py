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
    radius = np.clip(ndimage.distance_transform_edt(vessels), MIN_RADIUS, MAX_RADIUS)
    distance, (rows, cols) = ndimage.distance_transform_edt(named == 0, return_indices=True)
    return np.where(distance <= radius[rows, cols] + EDGE_PIXELS, named[rows, cols], 0).astype(np.int32)
