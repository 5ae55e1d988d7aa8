"""Slices of a volume as SAM2 frames, and the exact mapping between slice pixels and frame pixels.

A slice along array axis ``axis`` (0: k, 1: j, 2: i) has the other two array axes as (rows, cols). A volume's
slices are shown to SAM2 as the volume stored in LPS voxel order would show them (:func:`rau.image.lps_axes`): rows
and columns turned and mirrored into that order (:attr:`SliceGeometry.view`) and the slices in that order
(:func:`shown_slices`), so one volume stored in any voxel order is one video and gets one answer; the slice indices
a caller sees (prompts, recorded slices) stay the file's own. A 2D image is shown in its own pixel order (a picture
has no place to orient it by). SAM2 sees a square frame of ``size`` pixels; a slice fills a *physically square* field
(its longer side in millimetres, padded at the bottom/right with the window's low value), so pixels
stay isotropic in the frame whatever the voxel spacing. All resampling is float ``grid_sample``;
the user's arrays are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rau.image import Image, lps_axes, voxel_sample

AXIS_NAMES = {"k": 0, "j": 1, "i": 2}


def slice_axis(image: Image, choice: str | None = None) -> int:
    """Array axis to slice along: ``"i"``, ``"j"``, ``"k"``, or None/``"auto"`` for the coarsest spacing.

    Axes of equal spacing (an isotropic CT) are told apart by where they run, not by the file's order: the one
    closest to head-foot first (axial frames), then front-back (coronal), so one volume stored in another voxel
    order is cut into the same planes (before, 3 x 3 x 2 mm stored PIR or ASL was cut sagittally, stored LPS or
    RAS coronally). Directions are compared to 3 decimals (a NIfTI header holds them in single precision); axes
    that run alike by that measure (tilted 45 degrees between head-foot and front-back) go by the file's order."""
    if image.ndim == 2:
        return 0
    if choice and choice != "auto":
        if choice not in AXIS_NAMES:
            raise ValueError(f"slice axis must be one of i, j, k or auto, got {choice!r}")
        return AXIS_NAMES[choice]
    spacing = np.array([image.spacing[2 - a] for a in range(3)])
    coarsest = [a for a in range(3) if np.isclose(spacing[a], spacing.max(), rtol=1e-6, atol=0)]
    return max(coarsest, key=lambda a: tuple(np.round(np.abs(image.direction[::-1, 2 - a]), 3)))  # S, then A-P, then L-R


def matching_axis(reference: Image, target: Image, target_axis: int) -> int:
    """The reference's array axis whose world direction is closest to the target's slicing direction."""
    if reference.ndim == 2:
        return 0
    wanted = target.direction[:, 2 - target_axis]
    return int(np.argmax([abs(float(reference.direction[:, 2 - a] @ wanted)) for a in range(3)]))


def take_slice(array: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D (rows, cols) slice ``index`` along array ``axis``."""
    return np.take(array, index, axis=axis)


def slice_index(axis: int, index: int) -> tuple:
    """Numpy index selecting slice ``index`` along ``axis`` of a (k, j, i) array."""
    key = [slice(None)] * 3
    key[axis] = index
    return tuple(key)


def intensity_window(image: Image, window: tuple[float, float] | None = None) -> tuple[float, float]:
    """``window`` when given, else the 0.5-99.5 percentiles of the image's voxels (CT or MR alike; a large volume's
    :func:`rau.image.voxel_sample`, the same whatever its voxel order)."""
    if window is not None:
        low, high = float(window[0]), float(window[1])
    else:
        sample = voxel_sample(image).astype(np.float64)
        low, high = np.percentile(sample, [0.5, 99.5]) if sample.size else (0.0, 1.0)
    if not high > low:
        high = low + 1.0
    return float(low), float(high)


def shown_slices(image: Image, axis: int) -> list[int]:
    """The slice indices along ``axis`` in the order SAM2 is shown them: towards the patient's left, back or head
    (the order of the volume stored LPS); a 2D image's one slice."""
    count = image.shape[axis]
    if image.ndim == 2 or lps_axes(image)[2 - axis][1] > 0:
        return list(range(count))
    return list(range(count - 1, -1, -1))


@dataclass(frozen=True)
class View:
    """How a slice's (rows, cols) are shown: ``transposed`` (rows and columns swapped first), then each shown axis
    mirrored (``flip_rows``, ``flip_cols``). The identity for 2D images and for volumes stored in LPS voxel order."""

    transposed: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @classmethod
    def of(cls, image: Image, axis: int) -> "View":
        """The view that shows ``image``'s slices along ``axis`` as the volume stored LPS shows them (the in-plane
        axis nearer head-foot, else front-back, as rows; each running towards the head, back or left)."""
        if image.ndim == 2:
            return cls()
        row_axis, col_axis = [a for a in range(3) if a != axis]
        (row_patient, row_sign), (col_patient, col_sign) = (lps_axes(image)[2 - a] for a in (row_axis, col_axis))
        transposed = row_patient < col_patient
        if transposed:
            row_sign, col_sign = col_sign, row_sign
        return cls(transposed, row_sign < 0, col_sign < 0)

    def show(self, planes):
        """(..., rows, cols) tensors in the slice's order as shown."""
        planes = planes.transpose(-2, -1) if self.transposed else planes
        return planes.flip(self._flipped) if self._flipped else planes

    def unshow(self, planes):
        """The inverse of :meth:`show`."""
        planes = planes.flip(self._flipped) if self._flipped else planes
        return planes.transpose(-2, -1) if self.transposed else planes

    @property
    def _flipped(self) -> list[int]:
        """The tensor dimensions (-2 rows, -1 columns) shown mirrored."""
        return [dim for dim, flip in ((-2, self.flip_rows), (-1, self.flip_cols)) if flip]


@dataclass(frozen=True)
class SliceGeometry:
    """Where a slice lies in a square frame of ``size``: ``rows`` x ``cols`` pixels and the field they fill as shown
    (``view``: the slice's own rows and columns turned and mirrored, see the module doc)."""

    rows: int
    cols: int
    field_rows: float
    field_cols: float
    size: int
    view: View = View()

    @classmethod
    def of(cls, image: Image, axis: int, size: int) -> "SliceGeometry":
        """Where the slices of ``image`` across ``axis`` (array axis) lie in a square frame of ``size`` pixels: the larger
        side in mm fills it, pixels keep their aspect ratio."""
        view = View.of(image, axis)
        row_axis, col_axis = [a for a in range(3) if a != axis][:: -1 if view.transposed else 1]
        rows, cols = image.shape[row_axis], image.shape[col_axis]
        row_mm, col_mm = image.spacing[2 - row_axis], image.spacing[2 - col_axis]
        extent = max(rows * row_mm, cols * col_mm)
        return cls(rows, cols, extent / row_mm, extent / col_mm, int(size), view)

    @property
    def scale(self) -> tuple[float, float]:
        """Frame pixels per slice pixel along (rows, cols)."""
        return self.size / self.field_rows, self.size / self.field_cols

    def shown_box(self, row0: float, col0: float, row1: float, col1: float) -> tuple[float, float, float, float]:
        """A slice box ``[row0, row1) x [col0, col1)`` in its own order as the same box shown (:attr:`view`)."""
        if self.view.transposed:
            row0, col0, row1, col1 = col0, row0, col1, row1
        if self.view.flip_rows:
            row0, row1 = self.rows - row1, self.rows - row0
        if self.view.flip_cols:
            col0, col1 = self.cols - col1, self.cols - col0
        return row0, col0, row1, col1

    def box_to_frame(self, row0: float, col0: float, row1: float, col1: float) -> list[float]:
        """A slice box ``[row0, row1) x [col0, col1)`` as SAM2 frame ``[x0, y0, x1, y1]``."""
        row0, col0, row1, col1 = self.shown_box(row0, col0, row1, col1)
        sy, sx = self.scale
        return [col0 * sx, row0 * sy, col1 * sx, row1 * sy]

    def point_to_frame(self, row: float, col: float) -> list[float]:
        """A slice pixel centre as a SAM2 point (the prompt encoder adds half a pixel itself)."""
        row, col, _, _ = self.shown_box(row, col, row + 1, col + 1)
        sy, sx = self.scale
        return [(col + 0.5) * sx - 0.5, (row + 0.5) * sy - 0.5]

    def to_frame(self, plane, mode: str = "bilinear"):
        """Resample a (rows, cols) tensor of the slice, in its own order, into the (size, size) frame; outside the slice is 0."""
        import torch
        import torch.nn.functional as F

        plane = self.view.show(plane)
        centres = (torch.arange(self.size, dtype=torch.float32) + 0.5) / self.size
        ys = 2 * centres * self.field_rows / self.rows - 1
        xs = 2 * centres * self.field_cols / self.cols - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None].to(plane.device)
        return F.grid_sample(plane[None, None].float(), grid, mode=mode, padding_mode="zeros", align_corners=False)[0, 0]

    def from_frame(self, frame_map):
        """Resample square maps covering the frame (any resolution; (H, W) or (n, H, W)) back onto the slice in
        its own order: (rows, cols) or (n, rows, cols) of the slice."""
        import torch.nn.functional as F

        maps = frame_map.reshape(1, -1, *frame_map.shape[-2:]).float()  # the maps as channels: one resampling
        grid = _slice_grid(self.rows, self.cols, self.field_rows, self.field_cols, str(frame_map.device))
        shown = F.grid_sample(maps, grid, mode="bilinear", align_corners=False)[0].reshape(*frame_map.shape[:-2], self.rows, self.cols)
        return self.view.unshow(shown).contiguous()


@lru_cache(maxsize=8)
def _slice_grid(rows: int, cols: int, field_rows: float, field_cols: float, device: str):
    """The sampling grid of :meth:`SliceGeometry.from_frame` (built once per slice geometry and device)."""
    import torch

    ys = 2 * (torch.arange(rows, dtype=torch.float32) + 0.5) / field_rows - 1
    xs = 2 * (torch.arange(cols, dtype=torch.float32) + 0.5) / field_cols - 1
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None].to(device)


@dataclass(frozen=True)
class SliceSource:
    """One frame's content: slice ``index`` along ``axis`` of ``image``, shown through ``window``."""

    image: Image
    axis: int
    index: int
    window: tuple[float, float]
    geometry: SliceGeometry


class Frames(Mapping):
    """Frame index -> normalised (3, size, size) tensor, computed on demand and never stored.

    ``mean``/``std``: the checkpoint's per-channel normalisation (:class:`rau.sam2.model.FrameStyle`).
    Plugs into a Hugging Face video inference session as its ``processed_frames``.
    """

    def __init__(self, sources: list[SliceSource], device: str, dtype, mean, std):
        self.sources, self.device, self.dtype = sources, device, dtype
        self.mean, self.std = tuple(mean), tuple(std)

    def image_bytes(self, besides=None) -> int:
        """The memory of the images the frames are read from, each counted once (the image ``besides`` left out)."""
        arrays = {id(source.image.array): source.image.array.nbytes for source in self.sources
                  if besides is None or source.image.array is not besides.array}
        return sum(arrays.values())

    def __len__(self):
        return len(self.sources)

    def __iter__(self):
        return iter(range(len(self.sources)))

    def __getitem__(self, frame: int):
        import torch

        source = self.sources[frame]
        low, high = source.window
        plane = take_slice(source.image.array, source.axis, source.index).astype(np.float32)
        plane = torch.from_numpy(np.clip((plane - low) / (high - low), 0.0, 1.0))
        frame_plane = source.geometry.to_frame(plane.to(self.device))
        mean = torch.tensor(self.mean, device=self.device)[:, None, None]
        std = torch.tensor(self.std, device=self.device)[:, None, None]
        return ((frame_plane[None] - mean) / std).to(self.dtype)
