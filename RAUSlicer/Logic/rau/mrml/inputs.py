"""The nodes the user picked -> a :class:`rau.engines.base.Request` (what the module's Run reads)."""

from __future__ import annotations

from pathlib import Path

from rau.engines.base import Reference, ReferenceInputError, Request
from rau.errors import InputError
from rau.image import Image
from rau.io.atomic import file_type_suffix
from rau.io.dicom import may_be_dicom
from rau.mrml.geometry import RAS_FROM_LPS, image_from_volume_node
from rau.mrml.segments import labelled_voxels, segmentation_from_node
from rau.user_warnings import warn
from rau.validation import check_direction, check_image


EVERY_SEGMENT_VOXELS = 2**28
"""How many mask voxels (a byte each) a reference's segments may take for all of them to be read (256 MB)."""


def request_from_nodes(reference_volume, reference_segmentation, target_volume, structures=None) -> Request:
    """A request for one reference (volume + segmentation node) and a target volume node, with the
    ``structures`` named (default: every segment with voxels, as ``rau segment`` takes every structure its
    reference labels; a named segment without voxels is reported not found). A missing node is named in the error.

    The reference holds every segment, ticked or not, as a reference file gives them on the command line: engines
    align on all of its labelled anatomy, and the vessels engine traces every segment, so a structure's answer does
    not depend on which others are ticked. Unticked segments that would take more than :data:`EVERY_SEGMENT_VOXELS`
    (a CT may have 100+) come as their union only, the reference's :attr:`~rau.engines.base.Reference.anatomy`
    (enough for the engines that align on them; the vessels engine's angiograms are far smaller)."""
    for node, role in ((reference_volume, "reference volume"), (reference_segmentation, "reference segmentation"), (target_volume, "target volume")):
        if node is None:
            raise InputError(f"no {role} selected: pick one in the Inputs section")
    for node, role in ((reference_volume, "reference volume"), (target_volume, "target volume")):
        if node.IsA("vtkMRMLLabelMapVolumeNode"):  # its label values would be registered as intensities
            raise InputError(f"the {role} {node.GetName()!r} is a label map volume (labels, not an image): pick the image; "
                             "a reference's labels go in the reference segmentation")
        if not node.IsA("vtkMRMLScalarVolumeNode"):
            raise InputError(f"the {role} {node.GetName()!r} is a {node.GetClassName()}, not an image volume: pick the image")
    if structures is not None and not list(structures):
        raise InputError("no structures selected: tick at least one in the Structures list")
    if target_volume is reference_volume:  # its own labels would come back as the answer
        raise InputError(f"the target volume {target_volume.GetName()!r} is the reference volume itself; a target cannot be its own "
                         "reference: pick another target")
    reference_image = checked_image(reference_volume)
    every = _all_masks_fit(reference_segmentation, reference_image)
    segmentation = segmentation_from_node(reference_segmentation, reference_image, structures,
                                          f"the reference volume {reference_volume.GetName()!r}", others=bool(structures) and every)
    anatomy = labelled_voxels(reference_segmentation, reference_image) if structures and not every else None
    if not (segmentation.union() if anatomy is None else anatomy).any():
        raise ReferenceInputError(f"the reference segmentation {reference_segmentation.GetName()!r} has no labelled voxels: "
                                  "paint its segments (Segment Editor) or pick another segmentation")
    reference = Reference(reference_image, segmentation, name=reference_volume.GetName(), anatomy=anatomy)
    return Request([reference], checked_image(target_volume), list(structures) if structures else None, target_name=target_volume.GetName())


def _all_masks_fit(segmentation_node, image: Image) -> bool:
    """Whether the masks of every segment of the node on ``image``'s grid fit :data:`EVERY_SEGMENT_VOXELS` (False for
    a node that is no segmentation: reading it says why)."""
    if not segmentation_node.IsA("vtkMRMLSegmentationNode"):
        return False
    return segmentation_node.GetSegmentation().GetNumberOfSegments() * image.array.size <= EVERY_SEGMENT_VOXELS


def checked_image(volume_node) -> Image:
    """The node's image, checked as the command line checks an image file (:func:`rau.validation.check_image`:
    pixel sizes, an orthonormal grid, finite voxels); the error names the node and its transform. A node that is
    several files stacked as slices is warned of (:func:`stacked_files_warning`)."""
    image = image_from_volume_node(volume_node)
    transform = volume_node.GetParentTransformNode()
    placed = f" (under the transform {transform.GetName()!r})" if transform else ""
    label = f"volume {volume_node.GetName()!r}{placed}"
    check_direction(RAS_FROM_LPS[:3, :3] @ image.direction, label)  # shown as the Volumes module shows it, in RAS
    check_image(image, label)
    if stacked := stacked_files_warning(volume_node):
        warn(stacked)
    return image


def stacked_files_warning(volume_node) -> str | None:
    """Why a volume node may be different images stacked as slices: Slicer's volume reader with "Single File"
    unticked (Add Data's default) loads a numbered series of files (``001_HC.png`` beside ``000_HC.png``,
    ``002_HC.png`` ...) as one volume, its storage node listing every file. None for a node read from one file, and
    for a DICOM series (its files are one scan's slices) or a header with its data file (``CT.nhdr`` and ``CT.raw.gz``,
    ``CT.mhd`` and ``CT.zraw``: files of another kind than the one named)."""
    storage = volume_node.GetStorageNode()
    if storage is None or not storage.IsA("vtkMRMLVolumeArchetypeStorageNode"):
        return None
    archetype = storage.GetFileName()
    if not archetype or may_be_dicom(archetype):
        return None
    files = [Path(storage.GetNthFileName(i)) for i in range(storage.GetNumberOfFileNames())]
    stacked = [file for file in files if file_type_suffix(file) == file_type_suffix(Path(archetype))]
    if len(stacked) < 2:
        return None
    count = len(stacked)
    return (f"volume {volume_node.GetName()!r} is {count} files stacked as its slices ({stacked[0].name}, "
            f"{stacked[1].name}{', ...' if count > 2 else ''}): Slicer loads a numbered series as one volume "
            f"unless \"Single File\" is ticked, so each slice may be another image; load {Path(archetype).name} again with "
            "\"Single File\" ticked in Add Data's options (Show Options), unless the files are slices of one scan")
