"""Real 2D pixels stored as 1-slice volumes, the way Slicer and other tools save 2D images.

``one_slice_volume`` puts a (rows, cols) picture into a 3D SimpleITK image with the single
slice along the i, j or k axis, so that its in-plane axes (in order) hold the columns and
rows of the picture. Also small real cases: HC18 ultrasound pictures at half resolution.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage

HC18_SPACING = {"001": 0.08965852, "002": 0.062032563, "003": 0.065501081}
SHRINK = 2
"""HC18 pictures are halved (800x540 -> 400x270) to keep registration short on CPU."""


def rotation(axis, degrees) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def one_slice_volume(picture: np.ndarray, pixel_spacing: float, axis: str = "k", origin=(0.0, 0.0, 0.0),
                     direction=np.eye(3), thickness: float = 2.5) -> sitk.Image:
    """A 3D image with one slice along ``axis`` ("i", "j" or "k") holding ``picture`` (rows, cols)."""
    rows, cols = picture.shape
    expand = {"k": (np.newaxis, slice(None), slice(None)), "j": (slice(None), np.newaxis, slice(None)),
              "i": (slice(None), slice(None), np.newaxis)}[axis]
    image = sitk.GetImageFromArray(np.ascontiguousarray(picture[expand]))
    spacing = [pixel_spacing] * 3
    spacing["ijk".index(axis)] = thickness
    image.SetSpacing(spacing)
    image.SetOrigin([float(v) for v in origin])
    image.SetDirection(np.asarray(direction, float).ravel().tolist())
    return image


def hc18_picture(shared_data, name: str, mask: bool = False) -> np.ndarray:
    """HC18 image ``name`` (or its mask, 0/1) at half resolution, as uint8 (rows, cols)."""
    folder = shared_data / "hc18_fetal_head_us"
    path = folder / (f"masks/{name}_HC_mask.png" if mask else f"images/{name}_HC.png")
    with PILImage.open(path) as picture:
        array = np.asarray(picture.convert("L"))
    rows, cols = array.shape[0] // SHRINK, array.shape[1] // SHRINK
    blocks = array[: rows * SHRINK, : cols * SHRINK].reshape(rows, SHRINK, cols, SHRINK).mean(axis=(1, 3))
    return (blocks >= 127.5).astype(np.uint8) if mask else blocks.astype(np.uint8)


def hc18_spacing(name: str) -> float:
    """Pixel size (mm) of the halved picture."""
    return HC18_SPACING[name] * SHRINK


def write_picture(array: np.ndarray, path) -> None:
    PILImage.fromarray(array).save(path)


def same_geometry(a: sitk.Image, b: sitk.Image, tolerance: float = 1e-6) -> bool:
    """Same size, spacing, origin and direction (the written grid is the caller's)."""
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tolerance)
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tolerance)
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=tolerance)
    )


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())
