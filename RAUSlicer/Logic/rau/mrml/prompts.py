"""Markups on the target -> a :class:`rau.engines.base.Prompt` in the target's voxel indices.

Points come from two fiducial lists (positive = inside, negative = outside), a box from a
ROI node. World positions include parent transforms; points go to the nearest voxel
(:func:`rau.image.nearest_voxel`); box corners are re-sorted so an ROI along the target's axes, whichever way round, gives a valid box (one
turned against them is refused: a box prompt is a box along the image's axes). The prompt names no
slice: sessions that work slice by slice take it from the points or box, whatever view they were
placed on.
"""

from __future__ import annotations

import numpy as np
from slicer.util import arrayFromVTKMatrix

from rau.boxes import Box
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.image import Image, nearest_voxel
from rau.mrml.geometry import ras_to_lps


class PromptError(InputError):
    """A markup lies outside the target (the prompt itself is checked by :func:`rau.session.check_prompt`)."""


def voxel_of(target: Image, ras, point: str = "the point") -> tuple[int, int, int]:
    """The nearest voxel (i, j, k) of a world RAS point (:func:`rau.image.nearest_voxel`: one midway between two goes
    to the same voxel in space whatever the storage order); raises when it lies outside the target (naming ``point``)."""
    ijk = np.array(nearest_voxel(target, target.volume().to_index(ras_to_lps(ras))))
    if np.any(ijk < 0) or np.any(ijk >= np.asarray(target.size)):
        raise PromptError(f"{placed(point, ras)} lies outside the target image")
    return tuple(int(v) for v in ijk)


def placed(point: str, ras) -> str:
    """How errors name ``point`` placed at the world RAS position ``ras``."""
    return f"{point} at RAS {np.round(ras, 1).tolist()}"


def points_of(node) -> list[tuple[str, list[float]]]:
    """A markups node's placed control points: each as its name in errors (``point 'F-2' of 'inside points'``)
    and its world RAS position."""
    points = []
    for n in range(node.GetNumberOfControlPoints()):
        if node.GetNthControlPointPositionStatus(n) == node.PositionDefined:
            position = [0.0, 0.0, 0.0]
            node.GetNthControlPointPositionWorld(n, position)
            points.append((f"point {node.GetNthControlPointLabel(n)!r} of {node.GetName()!r}", position))
    return points


def box_from_roi(target: Image, roi) -> Box:
    """The target voxels whose centres lie inside the ROI: the voxel box around the ROI's eight corners
    (in the ROI's own, possibly turned frame, so an ROI aligned with an oblique target gives exactly its voxels).

    A box is taken along the target's axes: an ROI turned against them (an edge drifting half a voxel or more
    off them, :func:`check_along_axes`) is refused. A flat ROI (0 thick, as drawn on a slice view) that lies
    between voxel centres takes the nearest ones (the slice it was drawn on); a thicker one holding no voxel centre
    along an axis is refused, naming the axis.
    """
    bounds = [0.0] * 6
    roi.GetObjectBounds(bounds)
    corners = np.array([[x, y, z, 1.0] for x in bounds[0:2] for y in bounds[2:4] for z in bounds[4:6]])
    world = (arrayFromVTKMatrix(roi.GetObjectToWorldMatrix()) @ corners.T).T[:, :3]
    volume = target.volume()
    ijk = volume.to_index(ras_to_lps(world))
    low, high, size = ijk.min(axis=0), ijk.max(axis=0), np.asarray(volume.size)
    if np.any(high < -0.5) or np.any(low > size - 0.5):  # the image's voxels reach half a voxel beyond their centres
        raise PromptError(f"the box {roi.GetName()!r} does not overlap the target image")
    check_along_axes(roi.GetName(), ijk, size)
    lower = np.clip(np.ceil(low - 1e-3), 0, size)  # a face on a voxel centre keeps it
    upper = np.clip(np.floor(high + 1e-3) + 1, 0, size)
    missed = lower >= upper  # no voxel centre between its faces along these axes
    if missed.any() and min(roi.GetSize()) > 1e-3:
        axes = ", ".join(axis for axis, miss in zip("ijk", missed) if miss)
        spacing = ", ".join(f"{gap:g} mm" for gap, miss in zip(volume.spacing, missed) if miss)
        raise PromptError(f"the box {roi.GetName()!r} holds no voxel centre along the target's axis {axes} (centres "
                          f"{spacing} apart); make it thicker, or place it on a slice (a 0-thick box takes the nearest slice)")
    nearest = np.clip(np.floor((low + high) / 2 + 0.5), 0, size - 1)  # halfway between two slices: the upper one
    return Box(np.where(missed, nearest, lower), np.where(missed, nearest + 1, upper))


def check_along_axes(name: str, corners, size) -> None:
    """Refuse the box ``name`` whose edges, from its eight ``corners`` in the target's voxel indices (ordered as
    :func:`box_from_roi` makes them), drift half a voxel or more off the target's axes: a box prompt is a box along
    the image's axes, so one turned against them (drawn on an axial view over an oblique image) would take voxels
    far outside it. Drift along an axis on which the target (of ``size`` voxels along i, j, k) has one voxel does
    not count: the box is clipped to that voxel (a flat ROI over a tilted 2D picture)."""
    edges = np.abs([corners[4] - corners[0], corners[2] - corners[0], corners[1] - corners[0]])  # a 0-long edge drifts 0
    off_axis = edges.copy()
    off_axis[np.arange(3), edges.argmax(axis=1)] = 0.0  # each edge's components but its largest
    off_axis[:, np.asarray(size) == 1] = 0.0
    edge, axis = np.unravel_index(np.argmax(off_axis), off_axis.shape)
    if off_axis[edge, axis] >= 0.5:
        raise PromptError(f"the box {name!r} is turned against the target's axes (an edge drifts {off_axis[edge, axis]:.1f} voxels "
                          f"off them, along axis {'ijk'[axis]}); boxes are taken along the image's axes: choose 'Rotate to volume "
                          "plane' in the slice view's menu and draw the box there again (points work in any view)")


def prompt_from_markups(target: Image, positive=None, negative=None, roi=None) -> Prompt:
    """Points (label 1 from ``positive``, 0 from ``negative``) and an optional ROI box as one prompt (none placed:
    an empty prompt, which the session refuses); errors name each point with its RAS position (:func:`placed`)."""
    points, labels, names = [], [], []
    for node, label in ((positive, 1), (negative, 0)):
        for point, ras in points_of(node) if node is not None else []:
            points.append(voxel_of(target, ras, point))
            labels.append(label)
            names.append(placed(point, ras))
    box = box_from_roi(target, roi) if roi is not None else None
    return Prompt(points=points, labels=labels, box=box, names=names, box_name=f"the box {roi.GetName()!r}" if roi is not None else "")
