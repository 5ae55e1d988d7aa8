"""Point prompts for SAM2 along transferred centrelines: positive on the segment, negative on its neighbours.

A box is a poor prompt for a thin, curved vessel (most of it is background); points on the
centreline say where the vessel is, and points on the neighbouring segments where this one stops.
"""

from __future__ import annotations

import numpy as np

POSITIVE_POINTS = 5
NEGATIVE_POINTS = 2
"""Points per segment, and per neighbouring segment."""
NEIGHBOUR_PIXELS = 12.0
"""Segments whose centrelines come this close (px) are neighbours (they meet at a bifurcation)."""


def centreline_points(centrelines: dict[str, np.ndarray], name: str) -> tuple[list[tuple[int, int]], list[int]]:
    """(row, col) points and labels (1 on ``name``'s centreline, 0 on its neighbours').

    Positive points are spread evenly along the inner part of the centreline (its ends lie at
    bifurcations); negative points sit in the middle of each neighbouring centreline."""
    path = centrelines[name]
    points = [tuple(int(v) for v in p) for p in _spread(path, POSITIVE_POINTS, skip_ends=True)]
    labels = [1] * len(points)
    for other, other_path in sorted(centrelines.items()):
        if other == name or not len(other_path) or _gap(path, other_path) > NEIGHBOUR_PIXELS:
            continue
        negatives = [tuple(int(v) for v in p) for p in _spread(other_path, NEGATIVE_POINTS, skip_ends=True)]
        points += negatives
        labels += [0] * len(negatives)
    return points, labels


def _spread(path: np.ndarray, count: int, skip_ends: bool) -> np.ndarray:
    """``count`` points evenly spaced along ``path`` (by index), leaving out the two ends when asked."""
    if len(path) <= count:
        return path
    positions = np.linspace(0, len(path) - 1, count + 2 if skip_ends else count)
    positions = positions[1:-1] if skip_ends else positions
    return path[np.round(positions).astype(int)]


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.spatial.distance import cdist

    return float(cdist(a, b).min())
