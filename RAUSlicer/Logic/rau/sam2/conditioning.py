"""Which reference slices enter SAM2's memory as conditioning frames, per structure.

For each structure the ``top_k`` best-ranked references that contain it contribute their largest
cross-section, and long structures one more slice per :data:`SLICES_PER_EXTRA_FRAME` slices of
extent (each the largest cross-section of its part of the structure), at most
:data:`MAX_FRAMES_PER_REFERENCE`. The ranking itself is :func:`rau.engines.registration.rank`.
"""

from __future__ import annotations

import numpy as np

from rau.engines.base import Localization, Request
from rau.sam2.frames import shown_slices

SLICES_PER_EXTRA_FRAME = 24
MAX_FRAMES_PER_REFERENCE = 3


def conditioning_slices(mask: np.ndarray, axis: int, order: list[int] | None = None) -> list[int]:
    """Slices of ``mask`` along ``axis`` to condition on: the largest cross-section first, then the others in
    ``order`` (the slices as SAM2 is shown them, :func:`rau.sam2.frames.shown_slices`; default the file's), which
    also settles ties, so one volume stored in any voxel order gives the same slices."""
    order = list(range(mask.shape[axis])) if order is None else list(order)
    areas = mask.sum(axis=tuple(a for a in range(mask.ndim) if a != axis))[order]
    present = np.flatnonzero(areas)
    if not present.size:
        return []
    largest = int(np.argmax(areas))
    low, high = int(present[0]), int(present[-1]) + 1
    count = min(MAX_FRAMES_PER_REFERENCE, 1 + (high - low) // SLICES_PER_EXTRA_FRAME)
    edges = np.linspace(low, high, count + 1).round().astype(int)
    parts = [int(a + np.argmax(areas[a:b])) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return [order[p] for p in [largest] + sorted(set(parts) - {largest})]


def ranked_references(request: Request, localization: Localization | None) -> list[int]:
    """Indices into ``request.references``, best first: the localization's ranking when it has one, else request order."""
    order = list(range(len(request.references)))
    if localization is not None and localization.references:
        position = {name: rank for rank, name in enumerate(localization.references)}
        known = [i for i in order if request.references[i].name in position]
        return sorted(known, key=lambda i: position[request.references[i].name]) or order
    return order


def choose(request: Request, name: str, localization: Localization | None, top_k: int, axes: list[int]) -> list[tuple[int, int]]:
    """``(reference index, slice)`` conditioning frames of structure ``name``: the first ``top_k`` ranked references
    whose mask of it is not empty, each with its :func:`conditioning_slices` (``axes``: each reference's slicing axis).
    """
    frames = []
    used = 0
    for index in ranked_references(request, localization):
        if used == top_k:
            break
        mask = request.references[index].segmentation.masks.get(name)
        image = request.references[index].image
        slices = conditioning_slices(mask, axes[index], shown_slices(image, axes[index])) if mask is not None else []
        if slices:
            frames += [(index, s) for s in slices]
            used += 1
    return frames
