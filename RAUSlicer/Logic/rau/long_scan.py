"""Placing a short CT scan along a much longer one, the start of their registration.

A reference and a target often cover different lengths of the body: an abdominal CT as the reference, a
chest-abdomen-pelvis CT as the target, or a long scan labelled over a few slices only. The registration's
coarse starts (:func:`rau.registration.initial_transforms`) search around the foreground centroids with
mutual information at about 12 mm voxels, which cannot tell one stretch of a body from another: on
TotalSegmentator's fixtures a 40 mm slab of patient B onto patient A's 336 mm scan was placed about 190 mm
too low (T11/T12 painted on the lumbar spine, confidence 0.93), and A's long scan, labelled over its
upper 90 mm, onto B's slab found nothing. Here the short scan is slid along the long one every
:data:`STEP_MM` and kept where the intensities of the body, clipped to soft tissue and bone
(:data:`WINDOW_HU`), correlate best: both cases land within a vertebra.

This is for CT only (Hounsfield units tell air from body from bone in every CT) and only where one body is
much longer than the other from feet to head (:data:`LONG_RATIO` and :data:`LONG_EXCESS_MM`; a child's and an
adult's trunk of one length do not qualify): the dev sets' other pairs do not qualify and register as before. The
short scan is taken to lie within the long one, or out of either end by up to half of its length. A pair whose
scans differ as much in length but are not both CT in Hounsfield units (an MR; a CT stored without its rescale,
from 0 rather than -1024) is left to the coarse starts, and the user is warned.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from rau.image import Image
from rau.run_copies import RunCopies
from rau.user_warnings import warn
from rau.working_images import foreground_centroid, working_image

AIR_HU = -900.0
"""An image whose lowest percentile lies at or below this holds air: a CT (its values in Hounsfield units)."""
BODY_HU = -500.0
"""Voxels above this are the body; the air around it does not count towards its length."""
WINDOW_HU = (-200.0, 400.0)
"""Intensities are compared clipped to soft tissue and bone: lungs and air, contrast and metal weigh no more."""
LONG_RATIO = 1.5
"""One body is much longer than the other when it is this many times as long from feet to head ..."""
LONG_EXCESS_MM = 100.0
"""... and at least this much longer (a 90 mm abdominal CT and a 40 mm slab of another patient are an ordinary pair)."""
STEP_MM = 4.0
"""The search's step and the pixel size of the copies it compares."""
HEAD_AXIS = 2
"""The body's long axis: z of LPS, towards the head (the images come in LPS voxel order, so index axis k)."""
MIN_BODY_OVERLAP_VOXELS = 16
"""A placement where fewer body voxels overlap is not scored."""


def long_scan_placement(fixed: Image, moving: Image, copies: RunCopies | None = None) -> np.ndarray | None:
    """The translation (mm, LPS x y z; a point of ``fixed`` plus it is the point of ``moving``) that places the
    shorter of two CT volumes where it fits best along the much longer one, or None when the two are not CTs of
    very different lengths; where their lengths differ as much but they are not both CT in Hounsfield units, the user is
    warned (``fixed`` named the target, ``moving`` the reference, as :func:`rau.registration.register` takes them).
    Both images must be in LPS voxel order (:func:`rau.image.orient_lps`), so that k runs from feet to head (an
    oblique scan is taken as if it were not: its slices' tilt is left to the registration). ``copies``: a run's, which
    makes the target's copy once for all its references."""
    if fixed.ndim != 3 or moving.ndim != 3:
        return None
    if not (_is_ct(fixed) and _is_ct(moving)):
        _warn_if_much_longer(fixed, moving)
        return None
    fixed_copy, moving_copy = (copies or RunCopies()).of(_copy, fixed), _copy(moving)
    longer, shorter = sorted((_body_length(fixed_copy), _body_length(moving_copy)), reverse=True)
    if not _much_longer(longer, shorter):
        return None
    translation = foreground_centroid(moving_copy) - foreground_centroid(fixed_copy)
    fixed_values = sitk.GetArrayFromImage(fixed_copy).astype(np.float64)
    best_score, best = -np.inf, None
    for shift in _shifts(fixed_copy, moving_copy, shorter):
        translation[HEAD_AXIS] = shift
        score = _body_correlation(fixed_values, fixed_copy, moving_copy, translation)
        if score > best_score:
            best_score, best = score, translation.copy()
    return best


def _much_longer(longer: float, shorter: float) -> bool:
    """Whether a length (mm, from feet to head) is much longer than another: :data:`LONG_RATIO` and :data:`LONG_EXCESS_MM`."""
    return longer > LONG_RATIO * shorter and longer - shorter > LONG_EXCESS_MM


def _warn_if_much_longer(target: Image, reference: Image) -> None:
    """Warn that a target and a reference, not both CT in Hounsfield units, are not placed along each other although
    one is much longer than the other; their lengths are their extents from feet to head, as a raw CT or an MR has no
    body threshold."""
    roles = (("target", target), ("reference", reference))
    lengths = {role: image.size[HEAD_AXIS] * image.spacing[HEAD_AXIS] for role, image in roles}
    (long_role, longer), (short_role, shorter) = sorted(lengths.items(), key=lambda item: item[1], reverse=True)
    if not _much_longer(longer, shorter):
        return
    lowest = [f"the {role}'s lowest values are about {value:.0f}" for role, image in roles if (value := _lowest_value(image)) > AIR_HU]
    warn(f"the {long_role} ({longer:.0f} mm from feet to head) is much longer than the {short_role} ({shorter:.0f} mm), but "
         f"they are not both CT in Hounsfield units ({' and '.join(lowest)}, not -1000: a CT stored without its rescale, or "
         f"not a CT), so they are lined up by their centres only, which cannot tell one stretch of a body from another: "
         f"check where the structures landed")


def _is_ct(image: Image) -> bool:
    """Whether the image holds air in Hounsfield units (its lowest percentile at or below :data:`AIR_HU`)."""
    return _lowest_value(image) <= AIR_HU


def _lowest_value(image: Image) -> float:
    """The image's lowest percentile, from every few of its slices."""
    array = image.array
    return float(np.percentile(array[:: max(1, array.shape[0] // 8)], 1))


def _copy(image: Image) -> sitk.Image:
    """A smoothed float copy of about :data:`STEP_MM` voxels."""
    extent = np.array(image.size) * np.array(image.spacing)
    return working_image(image, int(np.ceil(extent.max() / STEP_MM)), STEP_MM)


def _body_length(copy: sitk.Image) -> float:
    """The body's length (mm, from feet to head) in a copy: the span of its slices holding voxels above :data:`BODY_HU`."""
    slices = np.flatnonzero((sitk.GetArrayViewFromImage(copy) > BODY_HU).any(axis=(1, 2)))  # array axis 0 is k: LPS z
    return float((slices[-1] - slices[0] + 1) * copy.GetSpacing()[HEAD_AXIS]) if slices.size else 0.0


def _shifts(fixed: sitk.Image, moving: sitk.Image, shorter: float) -> np.ndarray:
    """The translations from feet to head, :data:`STEP_MM` apart, that put the shorter scan within the longer one or
    out of either end by up to half of its body's length (``shorter``, mm): an abdominal CT against a chest CT
    overlaps it in part."""
    def ends(image):
        low = image.GetOrigin()[HEAD_AXIS]
        return low, low + (image.GetSize()[HEAD_AXIS] - 1) * image.GetSpacing()[HEAD_AXIS]

    (fixed_low, fixed_high), (moving_low, moving_high) = ends(fixed), ends(moving)
    first, last = sorted((moving_low - fixed_low, moving_high - fixed_high))
    beyond = np.ceil(shorter / 2 / STEP_MM) * STEP_MM  # whole steps: the placements within keep their places
    return np.arange(first - beyond, last + beyond + 1e-6, STEP_MM)


def _body_correlation(fixed_values: np.ndarray, fixed: sitk.Image, moving: sitk.Image, translation: np.ndarray) -> float:
    """Correlation of the two copies' clipped intensities where either holds body, ``moving`` shifted by
    ``translation``; -inf where too little overlaps."""
    moved = sitk.Resample(moving, fixed, sitk.TranslationTransform(3, translation.tolist()), sitk.sitkLinear, np.nan, sitk.sitkFloat32)
    moved_values = sitk.GetArrayFromImage(moved).astype(np.float64)
    compared = np.isfinite(moved_values) & ((fixed_values > BODY_HU) | (np.nan_to_num(moved_values, nan=BODY_HU) > BODY_HU))
    if compared.sum() < MIN_BODY_OVERLAP_VOXELS:
        return -np.inf
    first, second = (np.clip(values[compared], *WINDOW_HU) for values in (fixed_values, moved_values))
    first, second = first - first.mean(), second - second.mean()
    norm = np.sqrt((first * first).sum() * (second * second).sum())
    return float((first * second).sum() / norm) if norm > 0 else -np.inf
