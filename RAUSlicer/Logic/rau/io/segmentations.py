"""Segmentation readers and writers: Slicer .seg.nrrd, label maps with a label table, mask pictures."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import slicerio

from rau.image import Image, resample_to
from rau.io.atomic import atomic_path, check_writable
from rau.io.images import PICTURE_SUFFIXES, ImageReadError, read_image, write_image
from rau.io.label_tables import find_label_table, read_label_table, write_label_table
from rau.labels import LabelSet, Segmentation, Structure

LPS_TO_IJK_ORDER = (2, 1, 0)


def read_segmentation(path, geometry: Image | None = None, label_table=None, pixel_spacing: float | None = None) -> Segmentation:
    """Read a segmentation as per-structure masks.

    ``.seg.nrrd`` keeps Slicer's names, colors and terminology (overlapping layers
    included). A label map (NIfTI, NRRD, PNG ...) takes names and colors from
    ``label_table`` or from a sidecar found next to it (see
    :func:`rau.io.label_tables.find_label_table`), else names are ``label_<value>``.
    With ``geometry`` the masks are resampled onto that grid in physical space.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.name.lower().endswith(".seg.nrrd"):
        segmentation = _read_seg_nrrd(path)
    else:
        table_path = Path(label_table) if label_table else find_label_table(path)
        labels = read_label_table(table_path) if table_path else None
        spacing = pixel_spacing if path.suffix.lower() in PICTURE_SUFFIXES else None
        segmentation = Segmentation.from_label_map(read_image(path, spacing), labels)
    if geometry is not None and not segmentation.geometry.same_grid(geometry):
        segmentation = resample_segmentation(segmentation, geometry)
    elif geometry is not None:  # same grid: take the image's geometry, so a 2D image's .seg.nrrd is 2D too
        segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), segmentation.labels, segmentation.masks)
    return segmentation


def resample_segmentation(segmentation: Segmentation, geometry: Image) -> Segmentation:
    """The same structures on another grid (nearest neighbour, physical space)."""
    masks = {
        name: resample_to(segmentation.geometry.with_array(mask.astype(np.uint8)), geometry, labels=True).array > 0
        for name, mask in segmentation.masks.items()
    }
    return Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), segmentation.labels, masks)


def _read_seg_nrrd(path: Path) -> Segmentation:
    data = slicerio.read_segmentation(str(path))
    ijk_to_lps = np.asarray(data["ijkToLPS"], dtype=float)
    offset = np.asarray(data.get("referenceImageExtentOffset", [0, 0, 0]), dtype=float)
    voxels = data["voxels"]
    shape_ijk = voxels.shape[-3:]
    spacing = np.linalg.norm(ijk_to_lps[:3, :3], axis=0)
    geometry = Image(
        np.zeros(tuple(reversed(shape_ijk)), np.uint8),
        spacing=tuple(spacing),
        origin=tuple(ijk_to_lps[:3, :3] @ offset + ijk_to_lps[:3, 3]),
        direction=ijk_to_lps[:3, :3] / spacing,
    )
    structures, masks = [], {}
    for segment in data["segments"]:
        structure = Structure(
            name=segment.get("name") or segment["id"],
            value=len(structures) + 1,
            color=tuple(float(c) for c in segment.get("color", (1.0, 0.0, 0.0))),
            terminology=segment.get("terminology"),
        )
        structures.append(structure)
        masks[structure.name] = slicerio.segment_mask(data, segment).transpose(LPS_TO_IJK_ORDER).astype(bool)
    return Segmentation(geometry, LabelSet(tuple(structures)), masks)


def write_label_map(segmentation: Segmentation, path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a NIfTI/NRRD label map and its ``.labels.csv`` table; both or neither appear."""
    path = Path(path)
    table = label_table_path(path)
    check_writable(table, overwrite)
    with atomic_path(table, overwrite) as table_temporary:
        write_label_table(segmentation.labels, table_temporary)
        write_image(segmentation.to_label_map(), path, overwrite=overwrite)
    return path, table


def label_table_path(label_map_path) -> Path:
    """The sidecar label table written next to a label map (``x.nii.gz`` -> ``x.labels.csv``)."""
    path = Path(label_map_path)
    stem = path.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".png", ".tif", ".tiff"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".labels.csv")


def write_seg_nrrd(segmentation: Segmentation, path, overwrite: bool = False) -> Path:
    """Write a Slicer ``.seg.nrrd`` with each structure's name, color and terminology."""
    geometry = segmentation.geometry
    ijk_to_lps = geometry.index_to_world
    data = slicerio.create_segmentation(geometry.size, ijk_to_lps)
    for structure in segmentation.labels:
        segment = {"id": f"Segment_{structure.value}", "name": structure.name, "color": list(structure.color)}
        if structure.terminology:
            segment["terminology"] = structure.terminology
        mask = segmentation.masks[structure.name].transpose(LPS_TO_IJK_ORDER)
        slicerio.add_segment(data, mask, segment)
    with atomic_path(path, overwrite) as temporary:
        with contextlib.redirect_stdout(None):
            slicerio.write_segmentation(str(temporary), data)
    return Path(path)
