"""Axis-aligned boxes on an image grid, in voxel and world coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rau.errors import InputError
from rau.image import Image


def check_corners(lower, upper, empty_ok: bool = False, name: str = "") -> None:
    """The one rule for box corners, wherever a box comes from (the Python API, ``rau correct --box``, the server):
    the lower corner may not lie above the upper one along any axis, and unless ``empty_ok`` the box must hold
    a voxel (a prompt box of zero size selects nothing). Raises :class:`InputError` naming the box ``name``
    (default: by its corners)."""
    box = name or f"the box {tuple(lower)}..{tuple(upper)}"
    inverted = [axis for axis, low, high in zip("ijk", lower, upper) if low > high]
    if inverted:
        raise InputError(f"{box} is inverted: its lower corner lies above its upper one along {', '.join(inverted)}")
    if not empty_ok and any(low == high for low, high in zip(lower, upper)):
        raise InputError(f"{box} has zero size")


@dataclass(frozen=True)
class Box:
    """Voxel box ``[lower, upper)`` in (i, j, k) order: lower inclusive, upper exclusive. Inverted corners
    raise (:func:`check_corners`); an empty box is allowed (clipping can make one)."""

    lower: tuple[int, int, int]
    upper: tuple[int, int, int]

    def __post_init__(self):
        lower = tuple(int(v) for v in self.lower)
        upper = tuple(int(v) for v in self.upper)
        if len(lower) != 3 or len(upper) != 3:
            raise ValueError("a box needs three lower and three upper indices (i, j, k)")
        check_corners(lower, upper, empty_ok=True)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> "Box | None":
        """The tightest box around a ``(k, j, i)`` mask, or None when it is empty."""
        plane = mask.any(axis=0)  # (j, i): the one pass over the whole mask
        if not plane.any():
            return None
        i, j = np.flatnonzero(plane.any(axis=0)), np.flatnonzero(plane.any(axis=1))
        k = np.flatnonzero(mask[:, j[0]:j[-1] + 1, i[0]:i[-1] + 1].any(axis=(1, 2)))  # within the (i, j) box only
        return cls((i[0], j[0], k[0]), (i[-1] + 1, j[-1] + 1, k[-1] + 1))

    @classmethod
    def around(cls, mask: np.ndarray) -> "tuple[Box, np.ndarray] | None":
        """The tightest box around a ``(k, j, i)`` mask and the mask within it (a view), or None when it is empty:
        every voxel of the mask lies there, so a count or an overlap of it need read no more."""
        box = cls.from_mask(mask)
        return box and (box, mask[box.slices()])

    def tightest_within(self, mask: np.ndarray) -> "Box | None":
        """The tightest box around the voxels of a full ``(k, j, i)`` mask that lie in this box (only this box is read),
        or None when there are none."""
        inner = Box.from_mask(mask[self.slices()])
        return inner and Box(tuple(a + b for a, b in zip(inner.lower, self.lower)), tuple(a + b for a, b in zip(inner.upper, self.lower)))

    @property
    def volume(self) -> int:
        """The number of voxels inside (0 for an empty box)."""
        return int(np.prod([max(0, u - l) for l, u in zip(self.lower, self.upper)]))

    @property
    def empty(self) -> bool:
        """Whether the box holds no voxel."""
        return self.volume == 0

    def clip(self, image: Image) -> "Box":
        """This box limited to the image's voxels."""
        size = image.size
        return Box(
            tuple(min(max(v, 0), n) for v, n in zip(self.lower, size)),
            tuple(min(max(v, 0), n) for v, n in zip(self.upper, size)),
        )

    def intersection(self, other: "Box") -> int:
        """The number of voxels inside both boxes."""
        return int(np.prod([max(0, min(a, b) - max(c, d)) for a, b, c, d in zip(self.upper, other.upper, self.lower, other.lower)]))

    def iou(self, other: "Box") -> float:
        """Intersection over union of two boxes on the same grid."""
        inter = self.intersection(other)
        union = self.volume + other.volume - inter
        return inter / union if union else 0.0

    def mask(self, shape) -> np.ndarray:
        """The voxels inside the box, as a boolean ``(k, j, i)`` array of ``shape`` (parts outside it left out)."""
        inside = np.zeros(shape, bool)
        (i0, j0, k0), (i1, j1, k1) = self.lower, self.upper
        inside[max(k0, 0) : k1, max(j0, 0) : j1, max(i0, 0) : i1] = True
        return inside

    def acts_on(self, image: Image) -> np.ndarray:
        """Where the box limits a structure on ``image``, as a boolean ``(k, j, i)`` array: the whole image but, in a
        volume, only the box's slice along each axis the box is one voxel thick on and the volume is not (a box drawn
        flat on a slice view): the structure's other slices are not the box's to change."""
        region = [slice(None)] * 3
        if image.ndim == 3:
            for axis, (lower, upper, size) in enumerate(zip(self.lower[::-1], self.upper[::-1], image.shape)):
                if upper - lower == 1 and size > 1:
                    region[axis] = slice(max(lower, 0), max(upper, 0))
        acting = np.zeros(image.shape, bool)
        acting[tuple(region)] = True
        return acting

    def slices(self) -> tuple[slice, slice, slice]:
        """Numpy slices ``(k, j, i)`` selecting the box from an image array."""
        return tuple(slice(l, u) for l, u in zip(reversed(self.lower), reversed(self.upper)))

    def region(self, shape, margin: int = 0) -> tuple[slice, slice, slice]:
        """Numpy slices ``(k, j, i)`` of the box ``margin`` voxels wider each way, within an array of ``shape``."""
        return tuple(slice(max(l - margin, 0), min(u + margin, n)) for l, u, n in zip(reversed(self.lower), reversed(self.upper), shape))

    def world_corners(self, image: Image) -> np.ndarray:
        """The 8 corners of the box's voxel-edge hull in LPS mm, shape (8, 3)."""
        lo = np.asarray(self.lower, float) - 0.5
        hi = np.asarray(self.upper, float) - 0.5
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        return image.to_world(corners)

    def world_bounds(self, image: Image) -> tuple[list[float], list[float]]:
        """Axis-aligned LPS bounds (min, max) of the box's world corners."""
        corners = self.world_corners(image)
        return corners.min(axis=0).tolist(), corners.max(axis=0).tolist()

    def to_dict(self, image: Image | None = None) -> dict:
        """The box as JSON: its voxel corners and, with the ``image`` it lies on, its world corners in LPS mm, the
        voxel corners then in the index order of the image's own file or node (:meth:`Image.stored_index`)."""
        if image is None:
            return {"lower_ijk": list(self.lower), "upper_ijk": list(self.upper)}
        low, high = self.world_bounds(image.volume())
        return {"lower_ijk": list(image.stored_index(self.lower)), "upper_ijk": list(image.stored_index(self.upper)),
                "world_lps_min": [round(v, 3) for v in low], "world_lps_max": [round(v, 3) for v in high]}
