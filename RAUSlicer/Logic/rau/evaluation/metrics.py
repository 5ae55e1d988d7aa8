"""Per-structure metrics in physical units: Dice, HD95 (mm), box IoU, centroid distance (mm); distances on an image
without a pixel size (a picture, read as 1 mm pixels) are in pixels (see ``rau.commands.evaluate.distance_units``)."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from rau.boxes import Box
from rau.fusion import dice
from rau.image import Image

TRUTH_TOO_SMALL = "truth_too_small"
"""The status of a structure the truth file has but that covers no voxel centre of the target's grid once resampled
onto it (:attr:`rau.labels.Segmentation.lost_on_grid`): its presence cannot be judged there, so it is not scored."""


def hd95(prediction: np.ndarray, truth: np.ndarray, image: Image) -> float:
    """95th percentile of symmetric surface distances in mm (NaN when either mask is empty)."""
    if not prediction.any() or not truth.any():
        return math.nan
    spacing = tuple(reversed(image.spacing[: image.ndim]))
    around = Box.from_mask(prediction | truth).region(truth.shape, margin=1)  # the same distances as on the whole grid
    # (a voxel at the box's edge erodes as there), on the masks' box instead of a whole CT: seconds and GB a structure
    a, b = prediction[around], truth[around]
    a, b = (a[0], b[0]) if image.ndim == 2 else (a, b)
    surface_a = a & ~ndimage.binary_erosion(a)
    surface_b = b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)[surface_a]
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]
    return float(np.percentile(np.concatenate([to_b, to_a]), 95))


def centroid_distance(prediction: np.ndarray, truth: np.ndarray, image: Image) -> float:
    """Distance between the masks' centroids in mm (NaN when either is empty)."""
    if not prediction.any() or not truth.any():
        return math.nan
    centres = [image.to_world(np.argwhere(m).mean(axis=0)[::-1]) for m in (prediction, truth)]
    return float(np.linalg.norm(centres[0] - centres[1]))


def box_iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    """IoU of the two masks' bounding boxes (0 when either is empty)."""
    a, b = Box.from_mask(prediction), Box.from_mask(truth)
    return a.iou(b) if a and b else 0.0


def structure_metrics(prediction: np.ndarray | None, truth: np.ndarray, image: Image) -> dict:
    """All metrics for one structure, with its detection status (detected/missed/false_positive/absent)."""
    prediction = np.zeros_like(truth) if prediction is None else prediction
    predicted, present = bool(prediction.any()), bool(truth.any())
    status = {(True, True): "detected", (False, True): "missed", (True, False): "false_positive", (False, False): "absent"}
    return {
        "status": status[(predicted, present)],
        "dice": dice(prediction, truth) if present else math.nan,
        "hd95_mm": hd95(prediction, truth, image),
        "box_iou": box_iou(prediction, truth) if present else math.nan,
        "centroid_mm": centroid_distance(prediction, truth, image),
    }


def not_scored(status: str) -> dict:
    """The metrics of a structure that was not scored (a failed case's, or :data:`TRUTH_TOO_SMALL`): ``status``, no numbers."""
    return {"status": status, "dice": math.nan, "hd95_mm": math.nan, "box_iou": math.nan, "centroid_mm": math.nan}


def presence_accuracy(statuses) -> float | None:
    """Share of structures whose presence was called right: present and found, or absent and reported absent; those
    not scored (:data:`TRUTH_TOO_SMALL`) count nowhere."""
    statuses = [s for s in statuses if s != TRUTH_TOO_SMALL]
    return round(sum(s in ("detected", "absent") for s in statuses) / len(statuses), 4) if statuses else None
