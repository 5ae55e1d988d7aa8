"""Fusing labels transferred from several references: majority vote or STAPLE, with agreement."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from rau.errors import OptionError
from rau.label_transfer import SoftMask

FUSION_METHODS = ("vote", "staple")


def union_region(masks: list[SoftMask]) -> tuple[slice, ...]:
    """The smallest box holding every mask's region."""
    return tuple(slice(min(m.region[a].start for m in masks), max(m.region[a].stop for m in masks)) for a in range(3))


def fuse(masks: list[SoftMask], method: str = "vote") -> tuple[SoftMask, float]:
    """One soft mask from several references' soft masks, and their agreement (mean Dice to the fused mask).

    ``vote``: the fraction of references whose mask covers each voxel (majority at > 0.5);
    ``staple``: SimpleITK's STAPLE probability of each voxel being inside.
    """
    if method not in FUSION_METHODS:
        raise OptionError(f"unknown fusion {method!r}; choose one of: {', '.join(FUSION_METHODS)}")
    if len(masks) == 1:
        return masks[0], 1.0
    region = union_region(masks)
    shape = tuple(r.stop - r.start for r in region)
    binary = []
    for mask in masks:
        local = np.zeros(shape, np.uint8)
        inner = tuple(slice(m.start - r.start, m.stop - r.start) for m, r in zip(mask.region, region))
        local[inner] = mask.values > 0.5
        binary.append(local)
    if method == "vote":
        probability = np.mean(binary, axis=0, dtype=np.float32)
    else:
        probability = sitk.GetArrayFromImage(sitk.STAPLE([sitk.GetImageFromArray(b) for b in binary], 1.0)).astype(np.float32)
    fused = probability > 0.5
    agreement = float(np.mean([dice(b > 0, fused) for b in binary]))
    return SoftMask(region, probability), agreement


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean arrays (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int(np.logical_and(a, b).sum()) / total if total else 1.0
