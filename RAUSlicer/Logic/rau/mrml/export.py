"""Segmentation node -> files: NIfTI label map + label table, or Slicer ``.seg.nrrd``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import slicer
import vtk
from slicer.util import arrayFromVTKMatrix, vtkMatrixFromArray

from rau.image import Image
from rau.io import atomic_path, write_label_map
from rau.io.images import check_picture_output
from rau.io.outputs import LABEL_MAP_FILE_SUFFIXES, label_map_suffix
from rau.io.run_outputs import hidden_warning
from rau.labels import Segmentation
from rau.mrml.geometry import REMOVED, ijk_to_world, node_to_world
from rau.mrml.results import tag_text
from rau.mrml.segments import segmentation_from_node
from rau.user_warnings import warn


EXPORTING = "exporting it"
"""What the user was doing when an export refuses a node under a non-linear transform (:func:`node_to_world`)."""


def export_label_map(node, geometry: Image, path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write the node's segments on ``geometry`` as a label map (``.nii.gz``) plus ``.labels.csv``.

    Values as :func:`~rau.mrml.segments.segmentation_from_node` gives them (a result's structures keep the
    reference's, as ``rau segment`` writes them); where segments overlap, the later one wins (a warning names the
    structures that lose voxels). ``geometry`` read from a volume node loaded from a file
    (:func:`~rau.mrml.geometry.image_from_volume_node`) has that file's voxel order and header, so the label map pairs
    with the file array for array, as ``rau segment``'s does.
    """
    if Path(path).name.lower().endswith(".seg.nrrd"):
        raise ValueError(f"export file {path}: name it .nii.gz, .nii or .nrrd (.png for a 2D target); a .seg.nrrd comes from the segmentation export")
    label_map_suffix(path, "export file", LABEL_MAP_FILE_SUFFIXES)
    check_picture_output(path, geometry, "export file")
    node_to_world(node, EXPORTING)  # a non-linear transform is refused as the export's
    segmentation = segmentation_from_node(node, geometry, grid="the volume whose grid the label map takes")
    written = write_label_map(segmentation, path, overwrite=overwrite)
    if hidden := hidden_warning(segmentation, path, "a .seg.nrrd export keeps them whole"):
        warn(hidden)  # once written (a refused overwrite is asked again)
    return written


def export_volume(node, fallback):
    """The volume whose grid a label-map export of ``node`` takes: the one the segmentation was made over (a
    result's target), else ``fallback``. A result no longer linked to its target (the target was removed, or the
    result was loaded from a file) takes ``fallback`` only on the very grid it was made over: on another volume's
    grid (perhaps another patient's) its voxels would be resampled without a word. A ``node`` removed from the scene
    is refused."""
    if node.GetScene() is None:  # it has no links then
        raise ValueError(f"{node.GetName()!r} {REMOVED}; nothing was exported")
    own = node.GetNodeReference(node.GetReferenceImageGeometryReferenceRole())
    if own is not None:
        return own
    segmentation = node.GetSegmentation()
    if any(tag_text(segmentation.GetNthSegment(n)) for n in range(segmentation.GetNumberOfSegments())):
        if fallback is not None and on_its_grid(node, fallback):
            return fallback
        selected = f"; the selected target {fallback.GetName()!r} has another grid" if fallback is not None else ""
        raise ValueError(f"{node.GetName()!r} is no longer linked to the target volume it was made over (the volume was removed, "
                         f"or the result was loaded from a file){selected}: select that volume as the target, or export it "
                         "as a .seg.nrrd (it keeps its own grid)")
    if fallback is None:
        raise ValueError(f"{node.GetName()!r} was not made over a volume: select the target volume whose grid the label map should take")
    return fallback


def on_its_grid(node, volume) -> bool:
    """Whether ``volume``'s voxels lie where the grid ``node`` was made over (its stored reference image geometry) has
    them, in the world (parent transforms applied): a label map on it holds the segments' own voxels."""
    stored = node.GetSegmentation().GetConversionParameter(slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName())
    matrix, extent = vtk.vtkMatrix4x4(), [0] * 6
    if not stored or not slicer.vtkSegmentationConverter.DeserializeImageGeometry(stored, matrix, extent):
        return False
    made_over = node_to_world(node, EXPORTING) @ arrayFromVTKMatrix(matrix)
    return tuple(extent) == tuple(volume.GetImageData().GetExtent()) and np.allclose(made_over, ijk_to_world(volume), atol=1e-6)


def export_seg_nrrd(node, path, overwrite: bool = False) -> Path:
    """Write the node as a ``.seg.nrrd`` with Slicer's storage node (tags and status kept), in world coordinates
    like the label-map export: a parent transform is applied (:func:`world_copy`)."""
    path = Path(path)
    if not path.name.lower().endswith(".seg.nrrd"):
        raise ValueError(f"{path}: a segmentation file name must end in .seg.nrrd")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    with atomic_path(path, overwrite) as temporary:
        storage.SetFileName(str(temporary))
        if not storage.WriteData(world_copy(node)):
            raise OSError(f"{path}: Slicer could not write the segmentation")
    return path


def world_copy(node):
    """``node`` itself without a parent transform, else a copy outside the scene with the transform hardened (a
    linear one moves the voxel grid without resampling it); the user's node is never changed."""
    if node.GetParentTransformNode() is None:
        return node
    transform = vtk.vtkTransform()
    transform.SetMatrix(vtkMatrixFromArray(node_to_world(node, EXPORTING)))  # refuses a non-linear transform, naming it
    copy = slicer.vtkMRMLSegmentationNode()
    copy.Copy(node)
    copy.ApplyTransform(transform)
    return copy
