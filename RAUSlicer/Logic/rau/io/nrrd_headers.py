"""NRRD files whose header gives no pixel size: neither ``spacings`` nor ``space directions`` (ITK reads 1 mm)."""

from __future__ import annotations

from pathlib import Path

NRRD_SUFFIXES = (".nrrd", ".nhdr")
NON_DOMAIN_KINDS = {"rgb-color", "rgba-color", "vector", "covariant-vector", "normal", "list", "point", "complex", "3-color", "4-color"}
"""Axis kinds that hold a voxel's components, not a place (an RGB NRRD, as Slicer saves a colour volume)."""


def unsized_nrrd(path) -> bool:
    """Whether ``path`` is a one-frame NRRD file (at most two axes of more than one voxel) whose header gives no pixel
    size: a picture in all but name, which takes the pixel size given for it, 1 mm without."""
    import nrrd

    path = Path(path)
    if not path.name.lower().endswith(NRRD_SUFFIXES) or not path.is_file():
        return False
    try:
        header = nrrd.read_header(str(path))
    except Exception:  # noqa: BLE001  (pynrrd raises many types for a damaged file, StopIteration for an empty one; reading the image says why)
        return False
    sizes = header.get("sizes")
    if sizes is None or "spacings" in header or "space directions" in header:
        return False
    kinds = header.get("kinds") or ["domain"] * len(sizes)
    places = [size for size, kind in zip(sizes, kinds) if str(kind).lower() not in NON_DOMAIN_KINDS]
    return sum(size > 1 for size in places) <= 2
