"""The patient's body in a volume, and the structures a registration draws on the air or padding beside it.

A target whose field of view is cropped, or padded (half a body), still gets the references' whole anatomy: the
registration draws the missing part over the air or the padding. A target that shows no air (a field of view inside
the body) has nothing to draw on air, and nothing in it is flagged. A chest CT with its left half set to -1024 HU got
"left lung" drawn 99 % on the padding, found with confidence 0.65. :class:`BodyCheck` tells such a structure
apart from one that is dark by nature (lungs, airways), which lies inside the body of its own reference.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from rau.boxes import Box
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
"""A region of the voxels outside a body is air when the spread of its values (10th to 90th percentile) is less than
this share of their depth below the body's threshold (from their median). It asks nothing of the units (CT, MR):
the air beside the bodies of whole fields of view measured 0.06 to 0.16 (TotalSegmentator's CTs A, with 30 or 112
slices, and B, slicerio's chest CT, and A and the chest CT with their left halves padded), 0.23 (the chest pair's
target: noisy), 0.07 and 0.21 (TotalSegmentator's MR C), 0.06 to 0.09 (crops of MR C with air beside the body:
x 0:60 y 0:50, x 0:58 y 0:63, x 35:117 y 0:63); in fields of view inside the body, crops of those (MR C x 20:100
y 25:75, x 30:90 y 20:70, x 40:100 y 10:60; CT A x 30:90 y 25:75; CT B x 150:400 y 150:350), the tissue cut open at
their edges measured 0.55 to 0.83 in its regions of 1 % of the voxels or more: with no air to split off, Otsu's
threshold fell between tissues, and the first crop's liver lay 85 % "on air"."""
AIR_REGION = 0.01
"""Air is a background: a region of the voxels outside a body (connected in 3D, corners too) is air only when it holds
at least this share of the field of view's voxels (and :data:`AIR_SPREAD`). Dark pockets cut open by the edges of a
crop are as uniform: bowel gas (CT A x 30:90 y 25:75, 0.13 and 0.32 % of its voxels), MR C's kidney and aorta
(0.16 to 0.54 %, spreads 0.23 to 0.36); judged with the air, they were "on air" where the crop showed some (MR C
x 35:117 y 0:63: its right kidney, 65 %; x 0:58 y 0:63: vertebrae 76 %, discs 100 %, the tissue at the cut edge
spread 0.59 and 1.01). The air beside the body measured 1.8 % (CT A's right half beside its padded left) and more."""
FILL_SHARE = 0.02
"""Padding (:func:`fill`) holds at least this share of the voxels, and of the edges of the slices. Real images hold
such regions of one value only outside their bodies: their zero background (MR C 3.4 %, Colin27 76 %) and CT B's air,
stored as -1024 HU (11 % in one region); their largest other regions of one value on the edges held 0.41 % (CT A:
-1023 HU) and 0.44 % (MR C). SimpleITK and Slicer fill with 0 when they resample or pad: CT A with its left half 0,
above its Otsu threshold (-378 HU), was body, and its spleen and left kidney drawn there kept confidence 0.755. MR C
with its left 40 columns at its median (108, below its threshold), judged air with its zero background, was too
spread to be air: the whole image was body, and the liver and right kidney drawn there kept confidence 0.805. The
image's lowest value pads nothing: it is air, or dark tissue saturated in a window (the lungs at 0 in an 8-bit
soft-tissue window, -160 to 240 HU); taken for padding where a crop cut them open onto the slices' edges, the lungs
of slicerio's chest CT lay 0.2 to 0.4 % in the body (x 0:45; x 20:108, y 30:100). Padding at the lowest value is as
dark as air, and is judged as air, region by region (:func:`shows_air`)."""
ENCLOSED_SHARE = 0.1
"""A region of the image's highest value pads it (:func:`_shaped_as_padding`) when less than this share of its voxels
lie between voxels of other values both along their row and along their column. Padding lies beyond a straight line
or a circle: CT A with its left half at 3071 HU or at its own highest value (1207), MR C with its left 40 columns at
its highest (833): 0; CT A in an 8-bit soft-tissue window (-160 to 240 HU) with its left half 255: 0.004 (bone
saturated beside it). Tissue saturated in a window lies among other tissue: CT A in an 8-bit lung window (-1000 to
0 HU), 0.999, and cropped inside its body (x 30:90, y 25:75; 255 on 55 % of its slices' edges), 0.42; taken for
padding, it bounded no body, and the liver, placed exactly, lay 82 % "on air or padding". Padding at the highest
value taken for tissue bounded the body and pulled the threshold up: CT A's right kidney and liver lay 100 % and
86 % outside the body, their confidence cut to 0.00 and 0.03."""
MOSTLY = 0.5
"""A structure lies outside a body when more than this share of its voxels do, inside when more than this share do."""


def body_mask(image: Image) -> np.ndarray:
    """The body in volume ``image`` (bool, on its grid): in each axial slice, every voxel that lies between two voxels
    above the image's Otsu threshold along its row or its column (padding and stray values clamped first, voxels below
    :data:`AIR_FLOOR` left out of the threshold's choice). A :func:`fill`, padding of any value between the image's
    lowest and highest (the highest where shaped as padding), is left out of the threshold's choice, neither bounds the
    body nor lies in it. The body holds its dark regions (lungs, airways, bowel gas), also a lung that a cropped field
    of view cuts open: filling each slice's holes left such a right lung out (88 % of it) when the left half of the
    chest pair's target was air. Of the other voxels outside, the regions of air (:data:`AIR_REGION`,
    :func:`shows_air`; padding at the lowest value among them) are left out; the rest is tissue cut open at the edges
    of the field of view (a field of view inside the body shows no air, and is body whole)."""
    lps = orient_lps(without_outliers(image))
    array = lps.array
    padded = fill(array)
    field = array >= AIR_FLOOR  # in numpy: SimpleITK would cast the floor to the pixel type (uint8: 196)
    field &= ~padded  # in place (as below): one volume of bool less
    if not field.any():
        return np.zeros(image.shape, bool)
    foreground = _brighter(lps, field)
    if not foreground.any():
        return from_lps_order(image, field)
    between = _between(foreground, axis=1) | _between(foreground, axis=2)
    between &= ~padded
    air = _air(field & ~between, array, array[foreground].min(), least=AIR_REGION * np.count_nonzero(field))
    return from_lps_order(image, (between | field) & ~air)


def _brighter(lps: Image, measured: np.ndarray) -> np.ndarray:
    """The voxels of ``lps`` above its Otsu threshold, chosen among its ``measured`` voxels."""
    source = lps.to_sitk()
    within = sitk.GetImageFromArray(measured.astype(np.uint8))
    within.CopyInformation(source)
    return sitk.GetArrayFromImage(otsu_foreground(source, within)) > 0


def _air(outside: np.ndarray, array: np.ndarray, threshold: float, least: float) -> np.ndarray:
    """The regions of ``outside`` (connected in 3D, corners too: noisy air split less) of ``least`` voxels or more
    whose values in ``array`` show air (:func:`shows_air`)."""
    regions, sizes = _regions(outside, np.ones((3, 3, 3)))
    air = np.zeros(sizes.size, bool)
    for k in np.flatnonzero(sizes[1:] >= least) + 1:
        air[k] = shows_air(array[regions == k], threshold)
    return air[regions]


def _regions(mask: np.ndarray, structure: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The connected regions of ``mask`` (labels from 1, 0 outside it) and their sizes (in voxels, by label)."""
    try:  # a few regions (1 to 12 in CTs and MRs): 16 bits, half the memory
        regions, count = ndimage.label(mask, structure, np.uint16)
    except RuntimeError:  # more than 16 bits hold
        regions, count = ndimage.label(mask, structure)
    return regions, sum(np.bincount(plane.ravel(), minlength=count + 1) for plane in regions)  # by slice: no int64 copy


def fill(array: np.ndarray) -> np.ndarray:
    """The voxels of ``array`` (z, y, x) that pad it: regions of one value that touch the edges of its slices, of a
    value on :data:`FILL_SHARE` of those edges, each holding that share of the voxels. Any value above the image's
    lowest (air, or dark tissue saturated in a window: never padding) pads; its highest only in regions shaped as
    padding (:func:`_shaped_as_padding`; else tissue saturated in a window). An image of one value has none."""
    padded = np.zeros(array.shape, bool)
    lowest, highest = array.min(), array.max()
    values, counts = np.unique(_edges(array), return_counts=True)
    least = FILL_SHARE * array.size
    for value in values[(counts >= FILL_SHARE * counts.sum()) & (values > lowest)]:
        same = array == value
        if np.count_nonzero(same) < least:  # no region of it that large: spared the labelling
            continue
        regions, sizes = _regions(same)
        padding = np.zeros(sizes.size, bool)
        padding[[k for k in np.unique(_edges(regions)) if k and sizes[k] >= least]] = True
        found = padding[regions]
        if value < highest or _shaped_as_padding(found):
            padded |= found
    return padded


def _shaped_as_padding(region: np.ndarray) -> bool:
    """Whether ``region`` lies beyond a straight line or a circle in its slices, as padding does: hardly any of its
    voxels lie between voxels outside it both along their row and along their column (:data:`ENCLOSED_SHARE`)."""
    rest = ~region
    enclosed = region & _between(rest, axis=1) & _between(rest, axis=2)
    return np.count_nonzero(enclosed) < ENCLOSED_SHARE * np.count_nonzero(region)


def _edges(array: np.ndarray) -> np.ndarray:
    """The values on the edges of ``array``'s slices (its first and last rows and columns)."""
    return np.concatenate([array[:, [0, -1], :].ravel(), array[:, :, [0, -1]].ravel()])


def shows_air(outside: np.ndarray, threshold: float) -> bool:
    """Whether the values of a region ``outside`` a body (its voxels above ``threshold`` bound it) are air: uniform,
    and far darker than the body (:data:`AIR_SPREAD`)."""
    low, middle, high = np.percentile(outside, [10, 50, 90])
    return bool(high - low < AIR_SPREAD * (threshold - middle))


def _between(mask: np.ndarray, axis: int) -> np.ndarray:
    """The voxels with a voxel of ``mask`` on both sides of them (or on them) along ``axis``."""
    after_one = np.logical_or.accumulate(mask, axis=axis)
    before_one = np.flip(np.logical_or.accumulate(np.flip(mask, axis), axis=axis), axis)
    return after_one & before_one


def share_inside(mask: np.ndarray, body: np.ndarray) -> float:
    """The share of ``mask``'s voxels (not none) that lie in ``body`` (same grid)."""
    box, inside = Box.around(mask)
    return float(np.count_nonzero(inside & body[box.slices()]) / np.count_nonzero(inside))


def off_body_message(inside: float, references: int) -> str:
    """Why a structure drawn mostly on the air or padding beside the target's body is flagged, and by how much
    (``references``: how many references drew it)."""
    drawn_by = "the reference draws" if references == 1 else "the references draw"
    return (f"{1 - inside:.1%} of its voxels lie outside the target's body, on air or padding, where {drawn_by} it "
            "inside the body: the target may not show this part (a cropped field of view, or a padded one); "
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
