"""Vessel-aware corrections of a label map, as pure functions (a new map out, the input unchanged).

* :func:`trace`: two (or more) clicks on a vessel -> the minimal vesselness path through them, in
  order, grown to the vessel width, becomes the segment (a SYNTAX segment runs between two
  landmarks, so the clicks redefine it);
* :func:`rename`: one click on a wrongly named piece -> the piece, up to the next bifurcations, takes
  the segment's value, and so does the vessel's wide part (a bulb) around the click, where the piece's width leaves it out;
* :func:`remove`: a click outside the segment on one of its pieces -> that piece loses the value, and so does the
  segment's wide part (a bulb) around the click, where the piece's width leaves it out.

Pixels of other segments are kept unless ``overwrite`` is true (rename only takes pixels that are
unnamed or carry the clicked piece's wrong name).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from rau.vessels.paths import cost_map, minimal_path, paint, snap
from rau.vessels.tree import EIGHT, VesselTree, vessel_tree

SNAP_RADIUS = 5
"""Clicks move to the highest vesselness within this many pixels (users click near, not on, a vessel)."""
CLICK_REACH = SNAP_RADIUS + 3
"""How far (px) from a vessel a click may land and still be on it."""


def trace(label_map: np.ndarray, vesselness: np.ndarray, vessels: np.ndarray, points, value: int, overwrite: bool = False) -> np.ndarray:
    """``label_map`` whose segment ``value`` is now the vessel through ``points`` ((row, col), in order; the session has
    refused a trace with no click on the vessels, :func:`on_vessel`). Clicks that all snap to one pixel mark no stretch
    of vessel: they act as one click, the first (:func:`one_stop`, :func:`rename`)."""
    if one_stop(vesselness, points):
        return rename(label_map, vessels, points[0], value, overwrite)
    stops = [snap(vesselness, point, SNAP_RADIUS) for point in points]
    cost = cost_map(vesselness)
    path = np.concatenate([minimal_path(cost, a, b) for a, b in zip(stops[:-1], stops[1:])])
    piece = paint({value: path}, vessels, label_map.shape) > 0
    cleared = np.where(label_map == value, 0, label_map)
    return _assign(cleared, piece, value, overwrite)


def one_stop(vesselness: np.ndarray, points) -> bool:
    """Whether the clicks at ``points`` ((row, col)) all snap to one pixel of the vessel (:func:`snap`): nothing to trace."""
    return len({snap(vesselness, point, SNAP_RADIUS) for point in points}) == 1


def rename(label_map: np.ndarray, vessels: np.ndarray, point, value: int, overwrite: bool = False) -> np.ndarray:
    """``label_map`` with the vessel piece at ``point`` (up to its bifurcations) named ``value``, and the vessel pixels
    around the click that the piece's width leaves out and that are named as the clicked pixel is (:func:`clicked_region`:
    the clicked spot of a wide bulb is named too)."""
    clicked = int(label_map[int(point[0]), int(point[1])])
    region = clicked_region(label_map, vessels, point, vessel_pixels(label_map, vessels) & (label_map == clicked))
    if not region.any():
        return label_map.copy()
    wrong = clicked or _majority(label_map[region])
    writable = (label_map == 0) | (label_map == wrong) | (label_map == value) | overwrite
    updated = label_map.copy()
    updated[region & writable] = value
    return updated


def remove(label_map: np.ndarray, vessels: np.ndarray, point, value: int) -> np.ndarray:
    """``label_map`` without ``value`` on the vessel piece at ``point`` and on the segment's pixels around the click that
    the piece's width leaves out (:func:`beyond_width`: the clicked spot of a wide bulb goes too); other values untouched."""
    region = clicked_region(label_map, vessels, point, label_map == value)
    updated = label_map.copy()
    updated[region & (label_map == value)] = 0
    return updated


def beyond_width(segment: np.ndarray, region: np.ndarray, cell: np.ndarray, point) -> np.ndarray:
    """The ``segment``'s pixels outside the piece's ``region`` that join the click at ``point`` (row, col), 8-connected,
    among those nearest the piece (its ``cell``): the wide part of the segment (ostium, bulb) the click lies on; empty
    when the click lies in the region or off the segment."""
    parts, _ = ndimage.label(segment & cell & ~region, structure=EIGHT)
    clicked = parts[int(point[0]), int(point[1])]
    return (parts == clicked) if clicked else np.zeros(segment.shape, bool)


def correction_tree(label_map: np.ndarray, vessels: np.ndarray) -> VesselTree:
    """The vessel tree of the vessel mask together with the painted segments (:func:`vessel_pixels`)."""
    return vessel_tree(vessel_pixels(label_map, vessels))


def vessel_pixels(label_map: np.ndarray, vessels: np.ndarray) -> np.ndarray:
    """Where the corrections see vessels: the engine's vessel mask and the segments (hand edits included)."""
    return vessels | (label_map > 0)


def on_vessel(label_map: np.ndarray, vessels: np.ndarray, point) -> bool:
    """Whether a click at ``point`` (row, col) is on a vessel: within reach of :func:`vessel_pixels`
    (a click in a shutter, the film's frame or the background between vessels is not)."""
    return near_vessel(vessel_pixels(label_map, vessels), point)


def near_vessel(vessels: np.ndarray, point) -> bool:
    """Whether a vessel pixel lies within the reach of a click (:data:`CLICK_REACH` px) of ``point`` (row, col)."""
    row, col = int(point[0]), int(point[1])
    rows, cols = np.ogrid[-CLICK_REACH : CLICK_REACH + 1, -CLICK_REACH : CLICK_REACH + 1]
    disk = rows**2 + cols**2 <= CLICK_REACH**2
    padded = np.pad(vessels, CLICK_REACH)
    return bool((padded[row : row + 2 * CLICK_REACH + 1, col : col + 2 * CLICK_REACH + 1] & disk).any())


def clicked_region(label_map: np.ndarray, vessels: np.ndarray, point, spot: np.ndarray) -> np.ndarray:
    """The pixels a click at ``point`` (row, col) acts on: the piece nearest it (:func:`piece_region` of the
    :func:`correction_tree`) and the pixels of ``spot`` beyond the piece's width that join the click (:func:`beyond_width`)."""
    tree = correction_tree(label_map, vessels)
    cell = piece_cell(tree, point)
    region = _painted(tree, cell)
    return region | beyond_width(spot, region, cell, point)


def piece_region(tree: VesselTree, point) -> np.ndarray:
    """The pixels of the piece nearest ``point`` (row, col), however far (a click the session accepted, :func:`on_vessel`,
    on a wide bulb may lie more than :data:`CLICK_REACH` px from every piece), with the skeleton of the bifurcations
    nearest to it, grown to the vessel width and kept where that piece is the nearest one (so a region stops at
    bifurcations); empty if the tree has no piece."""
    return _painted(tree, piece_cell(tree, point))


def _painted(tree: VesselTree, cell: np.ndarray) -> np.ndarray:
    """The skeleton inside a piece's ``cell`` (:func:`piece_cell`) grown to the vessel width, kept inside the cell and the
    vessel pixels the tree is made of: a rename then adds no vessel pixel, so the same click again finds the same tree
    and the same piece (painting's edge pixel, :data:`~rau.vessels.paths.EDGE_PIXELS`, widened the vessel each time)."""
    return (paint({1: np.argwhere(tree.skeleton & cell)}, tree.mask, tree.pieces.shape) > 0) & cell & tree.mask


def piece_cell(tree: VesselTree, point) -> np.ndarray:
    """The pixels whose nearest piece (:meth:`VesselTree.nearest_piece`) is the piece nearest ``point`` (row, col); empty if
    the tree has no piece."""
    if not tree.count:
        return np.zeros(tree.pieces.shape, bool)
    _, nearest = tree.nearest_piece()
    return nearest == nearest[int(point[0]), int(point[1])]


def _assign(label_map: np.ndarray, region: np.ndarray, value: int, overwrite: bool) -> np.ndarray:
    updated = label_map.copy()
    writable = region if overwrite else region & ((label_map == 0) | (label_map == value))
    updated[writable] = value
    return updated


def _majority(values: np.ndarray) -> int:
    values = values[values > 0]
    return int(np.bincount(values).argmax()) if values.size else 0
