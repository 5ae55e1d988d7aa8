"""Fusing labels transferred from several references: majority vote, STAPLE or local evidence, with agreement."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from rau.label_transfer import SoftMask
from rau.options import DEFAULT_FUSION, checked_option

WINDOW_FRACTION = 0.15
"""Local-similarity window: this share of the fused region's longest side (at least 2 voxels) each side of a voxel."""


def union_region(masks: list[SoftMask]) -> tuple[slice, ...]:
    """The smallest box holding every mask's region."""
    return tuple(slice(min(m.region[a].start for m in masks), max(m.region[a].stop for m in masks)) for a in range(3))


def fuse(masks: list[SoftMask], method: str = DEFAULT_FUSION, target: np.ndarray | None = None, warped: list[np.ndarray] | None = None) -> tuple[SoftMask, float]:
    """One soft mask from several references' soft masks, and their agreement: the mean Dice of each to the fused
    mask; of two references, their Dice to each other (the fused mask is mostly the first's: with it, two that share
    no voxel agreed 0.5, as much as the flag level for review).

    ``vote``: the fraction of references whose mask covers each voxel (majority at > 0.5; where an even number split
    in half, the first, best-ranked reference decides: two references' vote is not their intersection);
    ``staple``: SimpleITK's STAPLE probability of each voxel being inside (from three references: two cannot tell
    which of them is right where they differ, and STAPLE took about their intersection, worse than either alone:
    two are voted);
    ``local``: each reference votes per voxel with the weight of its local similarity to the
    target there (:func:`local_weights`); needs ``target`` (the target's intensities) and
    ``warped`` (each reference image warped onto the target), both on the whole target grid.
    Whatever the method, a voxel at exactly one half goes the way of the first, best-ranked reference.
    """
    checked_option("fusion", method)
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
    votes = np.mean(binary, axis=0, dtype=np.float32)
    if method == "vote" or (method == "staple" and len(masks) == 2):
        probability = votes
    elif method == "local":
        if target is None or warped is None:
            raise ValueError("local fusion needs the target image and the warped reference images")
        weights = local_weights(target[region], [w[region] for w in warped])
        probability = (np.sum(weights * np.array(binary, np.float32), axis=0) / np.sum(weights, axis=0)).astype(np.float32)
    else:
        probability = sitk.GetArrayFromImage(sitk.STAPLE([sitk.GetImageFromArray(b) for b in binary], 1.0)).astype(np.float32)
        # STAPLE cannot estimate specificities where no reference calls any voxel outside (a structure filling the
        # references' common box): it answers NaN, which would drop the structure; the vote holds there
        probability = np.where(np.isfinite(probability), probability, votes)
    probability[(probability == 0.5) & (binary[0] > 0)] = np.nextafter(np.float32(0.5), np.float32(1.0))  # a tie: the best-ranked
    fused = probability > 0.5
    agreement = dice(binary[0] > 0, binary[1] > 0) if len(binary) == 2 else float(np.mean([dice(b > 0, fused) for b in binary]))
    return SoftMask(region, probability), agreement


def local_weights(target: np.ndarray, warped: list[np.ndarray]) -> np.ndarray:
    """Per-voxel weights of each warped reference: its local normalized cross-correlation
    with the target in a box window, clipped at 0 (locally weighted voting after
    Artaechevarria et al. 2009; joint label fusion, Wang et al. 2013, refines the idea).

    A reference that matches the target here, after registration, decides here; where
    none matches (all weights equal) the vote is plain majority. Voxels a reference
    does not cover (NaN) give it no weight. The window (:data:`WINDOW_FRACTION` of the
    region's longest side) spans parts of the structure, not single voxels, so speckle
    and noise do not decide; it is the same share of the structure on any image.
    """
    radius = max(2, int(round(WINDOW_FRACTION * max(target.shape))))
    size = [2 * radius + 1 if n > 1 else 1 for n in target.shape]
    mean = lambda a: ndimage.uniform_filter(a, size, mode="nearest")  # noqa: E731
    a = target.astype(np.float64)
    a_centred = a - mean(a)
    a_var = mean(a_centred * a_centred)
    weights = []
    for image in warped:
        covered = np.isfinite(image)
        b = np.where(covered, image, 0.0).astype(np.float64)
        b_centred = b - mean(b)
        covariance = mean(a_centred * b_centred)
        ncc = covariance / np.sqrt(np.maximum(a_var * mean(b_centred * b_centred), 1e-12))
        weights.append(np.where(covered, np.clip(ncc, 0.0, 1.0) + 1e-3, 0.0))
    weights = np.array(weights)
    weights[:, weights.sum(axis=0) == 0] = 1.0  # nobody covers the voxel: plain vote
    return weights


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean arrays (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int(np.logical_and(a, b).sum()) / total if total else 1.0
