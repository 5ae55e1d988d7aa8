"""Volumes cut into 2D slices, and matching slices of two subjects by anatomy.

Volumes are first turned to LPS voxel order (:func:`rau.image.orient_lps`, as
inference does: columns run to the patient's left, rows to posterior, slices to
superior) and cut into axial slices (along k, the only cut inference shows the
model, :mod:`rau.vlm.key_slices`), in the radiological view. A 2D image is a
stack of one slice.

Slice matching uses the labels, which training data always has: each slice is
described by the area (mm^2) of every structure in it, and the target slice
whose area profile is closest (cosine of square-root areas over the structures
both subjects have, times the ratio of the profiles' sizes) shows the same
anatomy as the reference slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rau.image import Image, orient_lps
from rau.labels import Segmentation, normalize_name
from rau.vlm.key_slices import orient_segmentation_lps


@dataclass
class SliceStack:
    """One subject's image and labels, cut into axial slices (the first array axis of the LPS-ordered volume)."""

    subject: str
    image: Image
    segmentation: Segmentation
    areas: dict[str, np.ndarray]  # structure key -> area in mm^2 per slice

    @classmethod
    def build(cls, subject: str, image: Image, segmentation: Segmentation) -> "SliceStack":
        """Orient a 3D volume to LPS and precompute per-slice structure areas; 2D images stay as they are."""
        image, segmentation = orient_lps(image), orient_segmentation_lps(segmentation)
        pixel_area = image.spacing[0] * image.spacing[1]
        areas = {normalize_name(name): mask.sum(axis=(1, 2)) * pixel_area for name, mask in segmentation.masks.items()}
        return cls(subject, image, segmentation, areas)

    def __len__(self) -> int:
        return self.image.shape[0]

    def labelled(self) -> list[int]:
        """Indices of slices that hold at least one structure."""
        total = sum(self.areas.values(), np.zeros(len(self)))
        return [int(i) for i in np.flatnonzero(total > 0)]

    def cut(self, index: int) -> tuple[Image, Segmentation]:
        """Slice ``index`` as a 2D image and 2D segmentation."""
        if not 0 <= index < len(self):
            raise IndexError(f"slice {index} outside 0..{len(self) - 1}")
        image = Image(self.image.array[index][np.newaxis], spacing=(*self.image.spacing[:2], 1.0), ndim=2)
        masks = {name: mask[index][np.newaxis] for name, mask in self.segmentation.masks.items()}
        geometry = image.with_array(np.zeros(image.shape, np.uint8))
        return image, Segmentation(geometry, self.segmentation.labels, masks)

    def profile(self, index: int, keys: list[str]) -> np.ndarray:
        """Square-root structure areas of slice ``index`` for the structure ``keys`` (0 where absent)."""
        return np.array([np.sqrt(self.areas[k][index]) if k in self.areas else 0.0 for k in keys])


def match_slice(reference: SliceStack, index: int, target: SliceStack) -> int | None:
    """The target slice showing the anatomy of reference slice ``index``, or None when nothing is shared: the one
    whose structure profile (:meth:`SliceStack.profile`) points the same way and is as large. The size counts too:
    with one shared structure every slice showing it points the same way, and the first, a sliver, would win."""
    keys = sorted(set(reference.areas) & set(target.areas))
    wanted = reference.profile(index, keys)
    if not keys or not wanted.any():
        return None
    candidates = np.stack([target.profile(i, keys) for i in range(len(target))])
    lengths, length = np.linalg.norm(candidates, axis=1), np.linalg.norm(wanted)
    cosines = np.divide(candidates @ wanted, lengths * length, out=np.zeros(len(target)), where=lengths > 0)
    sizes = np.minimum(lengths, length) / np.maximum(lengths, length)
    scores = cosines * sizes
    return int(np.argmax(scores)) if scores.max() > 0 else None
