"""Which slices the VLM looks at in 3D: reference key slices and their matching target slices.

Volumes are first turned to LPS voxel order (:func:`rau.image.orient_lps`), as the
training pair builder does, and cut along that order's k axis: axial slices in the
radiological view whatever the file's voxel order. Each structure's key slice is
where its cross-section is largest; to keep one VLM call per target where possible,
structures share a slice when it shows at least ``share`` of their largest
cross-section (greedy cover: the slice showing most structures first). The matching
target slice maximizes thumbnail correlation with the reference slice, minus a penalty
for a different relative position in the volume. A 2D pair is one view of slice 0.
Boxes found on the oriented target go back to the stored target with :func:`same_voxels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

from rau.boxes import Box
from rau.engines.base import Reference, Request
from rau.image import Image, orient_lps, orient_lps_mask
from rau.labels import Segmentation
from rau.render import to_uint8

THUMBNAIL = 32
POSITION_PENALTY = 0.5


@dataclass
class View:
    """One VLM look: reference slice ``reference_slice`` against target slice ``target_slice``, asking ``names``."""

    reference_slice: int
    target_slice: int
    names: list[str]


def plan_views(segmentation: Segmentation, reference: Image, target: Image, names: list[str], share: float = 0.5) -> list[View]:
    """Views covering every structure of ``names`` that has voxels in the reference."""
    if target.ndim == 2:
        shown = [n for n in names if segmentation.mask(n).any()]
        return [View(0, 0, shown)] if shown else []
    return [View(k, matching_slice(reference, k, target), group) for k, group in key_slices(segmentation, names, share)]


def key_slices(segmentation: Segmentation, names: list[str], share: float = 0.5) -> list[tuple[int, list[str]]]:
    """(reference slice, structures) groups, greedily covering the structures with voxels."""
    areas = {n: segmentation.mask(n).sum(axis=(1, 2)).astype(float) for n in names}
    remaining = [n for n in names if areas[n].max() > 0]
    groups = []
    while remaining:
        relative = np.stack([areas[n] / areas[n].max() for n in remaining])  # structures x slices
        shown = relative >= share
        score = shown.sum(axis=0) + relative.sum(axis=0) / (len(remaining) + 1)
        k = int(np.argmax(score))
        group = [n for n, row in zip(remaining, shown) if row[k]]
        groups.append((k, group))
        remaining = [n for n in remaining if n not in group]
    return groups


def matching_slice(reference: Image, k: int, target: Image) -> int:
    """The target slice that looks most like reference slice ``k`` (see module doc)."""
    wanted = _thumbnail(reference.array[k])
    position = k / max(reference.shape[0] - 1, 1)
    scores = []
    for index in range(target.shape[0]):
        similarity = float(np.mean(wanted * _thumbnail(target.array[index])))
        offset = abs(index / max(target.shape[0] - 1, 1) - position)
        scores.append(similarity - POSITION_PENALTY * offset)
    return int(np.argmax(scores))


def _thumbnail(slice2d: np.ndarray) -> np.ndarray:
    """A zero-mean, unit-variance THUMBNAIL x THUMBNAIL version of a slice (correlation by mean product)."""
    small = np.asarray(PILImage.fromarray(to_uint8(slice2d)).resize((THUMBNAIL, THUMBNAIL), PILImage.BILINEAR), float)
    spread = small.std()
    return (small - small.mean()) / spread if spread > 0 else np.zeros_like(small)


def orient_segmentation_lps(segmentation: Segmentation, names: list[str] | None = None) -> Segmentation:
    """The masks of ``names`` (default: all) reordered as :func:`rau.image.orient_lps` reorders their image."""
    labels = segmentation.labels.select(names)
    geometry = segmentation.geometry
    masks = {s.name: orient_lps_mask(geometry, segmentation.masks[s.name]) for s in labels}
    return Segmentation(orient_lps(geometry), labels, masks)


def orient_request_lps(request: Request, names: list[str] | None = None, reference: Reference | None = None) -> Request:
    """The request as the VLM sees it: ``reference`` (default: the first) and target in LPS voxel order, only the masks
    of ``names`` (default: the requested structures)."""
    reference = reference or request.references[0]
    names = names if names is not None else request.labels().names
    oriented = Reference(orient_lps(reference.image), orient_segmentation_lps(reference.segmentation, names), reference.name)
    return Request([oriented], orient_lps(request.target), names, target_name=request.target_name)


def same_voxels(box: Box, grid: Image, other: Image) -> Box:
    """``box`` on ``grid`` as a box on ``other``, a reordering of the same voxels (such as ``orient_lps`` makes)."""
    edges = other.to_index(box.world_corners(grid)) + 0.5  # voxel edges: index -0.5 is the lower edge of voxel 0
    return Box(np.rint(edges.min(axis=0)).astype(int), np.rint(edges.max(axis=0)).astype(int))


def file_slice(index: int, seen: Image, image: Image) -> int:
    """Slice ``index`` along k of ``seen`` (``image`` in LPS voxel order, :func:`orient_lps`: a reordering, so one slice
    of the file) as that slice's index along the stored axis it lies across (:func:`axial_axis`)."""
    if image.ndim == 2:
        return index
    return int(np.rint(image.to_index(seen.to_world((0, 0, index)))[2 - axial_axis(image)]))


def axial_axis(image: Image) -> int:
    """The stored array axis of ``image`` that ``orient_lps`` makes its k axis (0 for 2D).

    Views are cut across it, so a segmenter following the VLM's boxes slices along it too.
    """
    if image.ndim == 2:
        return 0
    probe = orient_lps(Image(np.zeros((1, 1, 1)), direction=image.direction))  # orientation depends on direction only
    superior = probe.direction[:, 2]
    return int(np.argmax([abs(image.direction[:, 2 - axis] @ superior) for axis in range(3)]))
