"""The patient's body in a volume, and the structures a registration draws on the air beside it.

A target whose field of view is cropped, or padded with air (half a body), still gets the references' whole
anatomy: the registration draws the missing part over the air. A target that shows no air (a field of view inside
the body) has nothing to draw on air, and nothing in it is flagged. A chest CT with its left half set to -1024 HU got
"left lung" drawn 99 % on the padding, found with confidence 0.65. :class:`BodyCheck` tells such a structure
apart from one that is dark by nature (lungs, airways), which lies inside the body of its own reference.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from rau.image import Image, from_lps_order, orient_lps
from rau.working_images import otsu_foreground, without_outliers

if TYPE_CHECKING:
    from rau.engines.base import Reference

AIR_FLOOR = -1100.0
"""No voxel below this value counts when the body's threshold is chosen: CT air lies at about -1000 HU (above -1100
with noise, or another scanner's contrast), and scanners fill the voxels outside their field of view with -2048 or
-3024; chosen among all voxels, the threshold fell between that fill and the air, taking the air for body (the chest
pair: 93 % of a target padded with air was body). MR and other images lie above it whole."""
AIR_SPREAD = 0.4
"""The voxels outside a body are an air background when the spread of their values (10th to 90th percentile) is less
than this share of their depth below the body's threshold (from their median). It asks nothing of the units (CT, MR):
outside the bodies of whole fields of view, the air measured 0.06 to 0.15 (TotalSegmentator's CTs A, with 30 or 112
slices, and B, slicerio's chest CT, and A and the chest CT with their left halves set to -1024 HU), 0.23 (the chest
pair's target: noisy), 0.09 (TotalSegmentator's MR C), 0 (Colin27's T1), 0.21 (a corner of MR C, x 0:60 y 0:50, with
air beside the body); in fields of view inside the body, crops of those (MR C x 20:100 y 25:75, x 30:90 y 20:70,
x 40:100 y 10:60; CT A x 30:90 y 25:75; CT B x 150:400 y 150:350), the tissue cut open at their edges measured
0.59 to 0.83: with no air to split off, Otsu's threshold fell between tissues, and the first crop's liver lay 85 %
"on air"."""
MOSTLY = 0.5
"""A structure lies outside a body when more than this share of its voxels do, inside when more than this share do."""


def body_mask(image: Image) -> np.ndarray:
    """The body in volume ``image`` (bool, on its grid): in each axial slice, every voxel that lies between two voxels
    above the image's Otsu threshold along its row or its column (padding and stray values clamped first, voxels below
    :data:`AIR_FLOOR` left out of the threshold's choice). It holds the dark regions of the body (lungs, airways, bowel
    gas), also a lung that a cropped field of view cuts open: filling each slice's holes left such a right lung out
    (88 % of it) when the left half of the chest pair's target was air. In a field of view inside the body, whose voxels
    outside are no air background (:func:`shows_air`), every voxel not below :data:`AIR_FLOOR` is body."""
    lps = orient_lps(without_outliers(image))
    field = lps.array >= AIR_FLOOR  # compared in numpy: SimpleITK would cast the floor to the pixel type (uint8: 196)
    if not field.any():
        return np.zeros(image.shape, bool)
    source = lps.to_sitk()
    within = sitk.GetImageFromArray(field.astype(np.uint8))
    within.CopyInformation(source)
    foreground = sitk.GetArrayFromImage(otsu_foreground(source, within)) > 0
    body = _between(foreground, axis=1) | _between(foreground, axis=2)
    air = foreground.any() and shows_air(lps.array[field & ~body], lps.array[foreground].min())
    return from_lps_order(image, body if air else field)


def shows_air(outside: np.ndarray, threshold: float) -> bool:
    """Whether the values ``outside`` a body (its voxels above ``threshold`` bound it) are an air background:
    uniform, and far darker than the body (:data:`AIR_SPREAD`); with no voxel outside, there is no air."""
    if outside.size == 0:
        return False
    low, middle, high = np.percentile(outside, [10, 50, 90])
    return bool(high - low < AIR_SPREAD * (threshold - middle))


def _between(mask: np.ndarray, axis: int) -> np.ndarray:
    """The voxels with a voxel of ``mask`` on both sides of them (or on them) along ``axis``."""
    after_one = np.logical_or.accumulate(mask, axis=axis)
    before_one = np.flip(np.logical_or.accumulate(np.flip(mask, axis), axis=axis), axis)
    return after_one & before_one


def share_inside(mask: np.ndarray, body: np.ndarray) -> float:
    """The share of ``mask``'s voxels that lie in ``body`` (same grid)."""
    return float(np.count_nonzero(mask & body) / np.count_nonzero(mask))


def off_body_message(inside: float, references: int) -> str:
    """Why a structure drawn mostly on the air beside the target's body is flagged, and by how much (``references``:
    how many references drew it)."""
    drawn_by = "the reference draws" if references == 1 else "the references draw"
    return (f"{1 - inside:.1%} of its voxels lie outside the target's body, on air, where {drawn_by} it inside "
            "the body: the target may not show this part (a cropped field of view, or one padded with air); "
            f"its confidence is multiplied by the share inside ({inside:.1%})")


class BodyCheck:
    """For structures fused on a volume target: whether they lie on the target's body (2D pictures, ultrasound fans
    and angiograms, have no air background to trust and are not checked)."""

    def __init__(self, target: Image):
        """``target``: the volume the structures' masks lie on (their grid)."""
        self.target = target
        self._reference_bodies: dict[str, np.ndarray] = {}

    @cached_property
    def target_body(self) -> np.ndarray:
        """:func:`body_mask` of the target, measured once."""
        return body_mask(self.target)

    def reference_body(self, reference: Reference) -> np.ndarray:
        """:func:`body_mask` of a reference's image, measured once per reference."""
        if reference.name not in self._reference_bodies:
            self._reference_bodies[reference.name] = body_mask(reference.image)
        return self._reference_bodies[reference.name]

    def off_body(self, mask: np.ndarray, name: str, references: list[Reference]) -> float | None:
        """The share of ``mask`` (structure ``name``, not empty) inside the target's body when more than half of it
        lies outside, while the volume ``references`` draw it mostly inside their own bodies; None otherwise (a
        structure dark by nature, as the lungs, is judged against its own references)."""
        inside = share_inside(mask, self.target_body)
        if inside >= MOSTLY:
            return None
        drawn = drawn_inside = 0
        for reference in (r for r in references if r.image.ndim == 3 and r.segmentation.has_voxels(name)):
            own = reference.segmentation.mask(name)  # made from the label map when asked: once
            drawn += np.count_nonzero(own)
            drawn_inside += np.count_nonzero(own & self.reference_body(reference))
        return inside if drawn and drawn_inside > MOSTLY * drawn else None
