"""Segmentation nodes <-> :class:`rau.labels.Segmentation`: names, colors, terminology, masks.

Masks are read and written on an explicit grid (an :class:`~rau.image.Image`, normally
the reference or target volume), so a segmentation's internal layers and extents never
leak out. Writing one segment changes only the voxels that differ, and never removes
voxels of other segments unless ``overwrite`` is asked for.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import slicer
import vtk
from slicer.util import arrayFromVTKMatrix, vtkMatrixFromArray
from slicerio.segmentation import terminology_entry_from_string, terminology_entry_to_string

from rau.boxes import Box
from rau.errors import InputError
from rau.image import GeometryError, Image, resample_mask
from rau.labels import RAU_TAG, LabelSet, Segmentation, Structure, check_asked_once, check_distinct_names, names_in_words, normalize_name, segment_values, tagged_value
from rau.mrml.geometry import image_from_oriented, image_ijk_to_ras, node_to_world, oriented_array, oriented_image
from rau.validation import edge_tolerance, reach_outside

Logic = slicer.vtkSlicerSegmentationsModuleLogic


def terminology_of(segment) -> dict | None:
    """A segment's terminology as slicerio's dict (category, type, modifiers ...), or None."""
    text = segment.GetTerminology()
    return terminology_entry_from_string(text) if text and text.count("~") >= 2 else None


BINARY_LABELMAP = slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName()


def segment_id_by_name(node, name: str) -> str:
    """The id of the segment called ``name``, matched as everywhere (case, spaces and punctuation aside:
    :func:`rau.labels.normalize_name`; '' when there is none); two segments of that name are refused (which one
    Slicer returns depends on their random ids)."""
    segmentation = node.GetSegmentation()
    key = normalize_name(name)
    named = [n for n in range(segmentation.GetNumberOfSegments()) if normalize_name(segmentation.GetNthSegment(n).GetName()) == key]
    if len(named) > 1:
        spelled = ", ".join(repr(segmentation.GetNthSegment(n).GetName()) for n in named)
        raise InputError(f"segmentation {node.GetName()!r} has {len(named)} segments called {name!r} to RAUSlicer ({spelled}), "
                         "which ignores case, spaces and punctuation when it matches names; rename all but one "
                         "(Segment Editor) so each name picks one segment")
    return segmentation.GetNthSegmentID(named[0]) if named else ""


def segment_mask(node, segment_id: str, geometry: Image, labelmaps=None) -> np.ndarray:
    """One segment as a boolean ``(k, j, i)`` mask on ``geometry`` (parent transforms applied).

    Segments may share a labelmap layer; the segment's own label value picks its voxels. ``labelmaps`` is
    the node's segmentation as binary labelmaps (:func:`binary_labelmaps`; default: made here).
    """
    labelmaps = labelmaps or binary_labelmaps(node)
    labelmap = _world_labelmap(node, segment_id, labelmaps)
    return _mask_on(labelmap, labelmaps.GetSegment(segment_id).GetLabelValue(), geometry)  # a converted copy numbers its segments anew


def _mask_on(labelmap, label_value: int | None, geometry: Image) -> np.ndarray:
    """The voxels of ``label_value`` (None: of any segment) in ``labelmap`` (world-placed) on ``geometry``: read on the
    labelmap's own grid and resampled as the command line reads a ``.seg.nrrd`` (:func:`rau.image.resample_mask`),
    both placed in the world (a 2D ``geometry`` where its volume node is, :meth:`rau.image.Image.volume`)."""
    if labelmap.IsEmpty():
        return np.zeros(geometry.shape, dtype=bool)
    layer = image_from_oriented(labelmap)
    return resample_mask(layer.with_array(layer.array > 0 if label_value is None else layer.array == label_value), geometry.volume())


def labelled_voxels(node, geometry: Image) -> np.ndarray:
    """The voxels of ``geometry`` that any segment of ``node`` labels (bool): each labelmap layer resampled once,
    whatever segments share it; voxels outside ``geometry`` are left out (unlike a picked segment, not refused)."""
    labelmaps = binary_labelmaps(node)
    layers = {}
    for index in range(labelmaps.GetNumberOfSegments()):
        segment_id = labelmaps.GetNthSegmentID(index)
        layer = labelmaps.GetSegment(segment_id).GetRepresentation(BINARY_LABELMAP)
        if layer is not None:
            layers.setdefault(layer.GetAddressAsString("vtkObject"), segment_id)
    union = np.zeros(geometry.shape, bool)
    for segment_id in layers.values():
        union |= _mask_on(_world_labelmap(node, segment_id, labelmaps), None, geometry)
    return union


def _reach_outside(labelmap, label_value: int | None, geometry: Image) -> float:
    """How far (mm) the voxels of ``label_value`` in ``labelmap`` (a world-placed ``vtkOrientedImageData``; None:
    its whole grid) reach beyond ``geometry``'s grid (0 when they lie inside): their centres, plus half a voxel
    of ``labelmap`` (a box around them would also count the empty corners of a grid turned against ``geometry``)."""
    start = np.array(labelmap.GetExtent()[0::2])
    if label_value is None:
        centres = np.array(np.meshgrid(*zip(start, labelmap.GetExtent()[1::2]))).reshape(3, -1).T
    else:
        centres = np.argwhere(oriented_array(labelmap) == label_value)[:, ::-1] + start  # (i, j, k)
        if not len(centres):
            return 0.0
    image_to_world = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(image_to_world)
    to_geometry = np.linalg.inv(image_ijk_to_ras(geometry)) @ arrayFromVTKMatrix(image_to_world)
    return reach_outside(geometry, centres @ to_geometry[:3, :3].T + to_geometry[:3, 3], max(labelmap.GetSpacing()))


def binary_labelmaps(node):
    """The node's ``vtkSegmentation`` when it holds binary labelmaps, else a converted copy (e.g. of closed surfaces
    imported from a model): the user's node is never changed."""
    segmentation = node.GetSegmentation()
    if segmentation.ContainsRepresentation(BINARY_LABELMAP):
        return segmentation
    converted = slicer.vtkSegmentation()
    converted.DeepCopy(segmentation)
    if not converted.CreateRepresentation(BINARY_LABELMAP):
        raise GeometryError(f"segmentation {node.GetName()!r} cannot be converted to a binary labelmap")
    return converted


def _world_labelmap(node, segment_id: str, labelmaps):
    """The labelmap layer holding ``segment_id`` in ``labelmaps``, placed in world RAS (the node's parent transform applied)."""
    layer = labelmaps.GetSegment(segment_id).GetRepresentation(BINARY_LABELMAP) if labelmaps.GetSegment(segment_id) else None
    if layer is None:
        raise GeometryError(f"segment {segment_id!r} of {node.GetName()!r} has no binary labelmap")
    labelmap = slicer.vtkOrientedImageData()
    labelmap.DeepCopy(layer)
    image_to_node = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(image_to_node)
    labelmap.SetImageToWorldMatrix(vtkMatrixFromArray(node_to_world(node) @ arrayFromVTKMatrix(image_to_node)))
    return labelmap


def tag_text(segment) -> str:
    """The raw JSON of a segment's RAUSlicer tag ('' when absent)."""
    value = vtk.reference("")
    return str(value) if segment.GetTag(RAU_TAG, value) else ""


def stored_value(segment) -> int:
    """A segment's label value: the one its RAUSlicer tag records (:func:`rau.labels.tagged_value`), else Slicer's."""
    value = tagged_value(tag_text(segment))
    return segment.GetLabelValue() if value is None else value


def segmentation_from_node(node, geometry: Image, names: list[str] | None = None, grid: str = "the volume",
                           others: bool = False) -> Segmentation:
    """The node's segments (all, or those called ``names``) as masks on ``geometry`` (``grid`` names it in the
    error for a segment that reaches outside it).

    Label values by :func:`rau.labels.segment_values` (the rule of ``.seg.nrrd`` files) over all the node's segments,
    whichever are picked: a result's structures (tagged) keep the reference's values (:func:`stored_value`), a
    segment added in Slicer takes a free one; names, colors and terminology are kept.

    ``others``: the segments not called ``names`` come too (all in the node's order, as a file of them is read), as
    context that nobody picked: cut to ``geometry`` rather than refused, and left out when their name is blank or
    rau cannot hold it, their colour or terminology. Two names that are one to RAUSlicer are refused, picked or
    not, as in a file of them.
    """
    if node is not None and node.IsA("vtkMRMLLabelMapVolumeNode"):
        raise GeometryError(f"{node.GetName()!r} is a label map volume, not a segmentation: convert it first (Data module, "
                            "right-click it, 'Convert labelmap to segmentation node')")
    if node is None or not node.IsA("vtkMRMLSegmentationNode"):
        raise GeometryError(f"expected a segmentation, got {node.GetClassName() if node is not None else 'nothing'}")
    segmentation = node.GetSegmentation()
    every_id = [segmentation.GetNthSegmentID(n) for n in range(segmentation.GetNumberOfSegments())]
    every_segment = [segmentation.GetSegment(i) for i in every_id]  # values of all, whatever is picked
    every_name = [segment.GetName().strip() for segment in every_segment]
    with _named_in(node, every_segment, every_name):
        check_distinct_names([name for name in every_name if name])  # ticked or not, as a file of them is read
    segment_ids = every_id if names is None else [require_segment_id(node, name) for name in names]
    if names is not None:
        check_asked_once(names, [segmentation.GetSegment(i).GetName().strip() for i in segment_ids])
    tagged = [bool(tag_text(segment)) for segment in every_segment]  # a result's structures keep the reference's values
    value_of = dict(zip(every_id, segment_values([stored_value(segment) for segment in every_segment], tagged)))
    segments = [segmentation.GetSegment(segment_id) for segment_id in segment_ids]
    names = [segment.GetName().strip() for segment in segments]  # as a label table's names are read: an export's table reads back the same
    if "" in names:  # Slicer would give the result segment a random id and another name
        raise InputError(f"segmentation {node.GetName()!r}: segment {names.index('') + 1} has no name; name it (Segment Editor)")
    with _named_in(node, every_segment, every_name):  # a name holding a line break, a colour or terminology Slicer allows and rau not
        labels = LabelSet(tuple(_structure(name, value_of[segment_id], segment) for name, segment_id, segment in zip(names, segment_ids, segments)))
    structures = dict(zip(segment_ids, labels.structures))
    if others:  # in the node's order, as a file of them is read
        structures |= _context_structures([i for i in every_id if i not in structures], segmentation, value_of)
        structures = {segment_id: structures[segment_id] for segment_id in every_id if segment_id in structures}
        labels = LabelSet(tuple(structures.values()))
    masks, labelmaps = {}, binary_labelmaps(node)
    for segment_id, structure in structures.items():
        labelmap = _world_labelmap(node, segment_id, labelmaps)  # once for both (a shared layer is copied whole)
        label_value = labelmaps.GetSegment(segment_id).GetLabelValue()  # a converted copy numbers its segments anew
        if segment_id in segment_ids:
            _check_inside(node, segment_id, labelmap, label_value, geometry, grid)
        masks[structure.name] = _mask_on(labelmap, label_value, geometry)
    blank = geometry.with_array(np.zeros(geometry.shape, np.uint8))
    return Segmentation(blank, labels, masks)


def _structure(name: str, value: int, segment) -> Structure:
    """A segment as a :class:`~rau.labels.Structure`: its name, ``value``, colour and terminology."""
    return Structure(name, value, tuple(segment.GetColor()), terminology_of(segment))


def _context_structures(segment_ids: list[str], segmentation, value_of: dict) -> dict:
    """Segment id -> structure for the segments nobody picked that rau can hold (see :func:`segmentation_from_node`'s
    ``others``)."""
    context = {}
    for segment_id in segment_ids:
        segment = segmentation.GetSegment(segment_id)
        name = segment.GetName().strip()
        if not name:
            continue
        try:
            context[segment_id] = _structure(name, value_of[segment_id], segment)
        except InputError:  # a line break in the name, a colour or terminology rau cannot hold
            continue
    return context


def _check_inside(node, segment_id: str, labelmap, label_value: int, geometry: Image, grid: str) -> None:
    """Refuse a segment that reaches outside ``geometry`` (called ``grid``) by more than half the coarser voxel
    of the two grids: resampling onto it would cut the segment, or drop it, without a word (the command line
    refuses such a label file in the same way, :func:`rau.validation.check_same_extent`, and measures a
    ``.seg.nrrd``'s voxels as here, :func:`rau.validation.check_labelled_inside`)."""
    tolerance = edge_tolerance(geometry.volume().spacing, labelmap.GetSpacing())
    if labelmap.IsEmpty() or _reach_outside(labelmap, None, geometry) <= tolerance:  # the whole layer fits: no voxel to count
        return
    reach = _reach_outside(labelmap, label_value, geometry)
    if reach > tolerance:
        name = node.GetSegmentation().GetSegment(segment_id).GetName()
        raise InputError(f"segment {name!r} of {node.GetName()!r} reaches {reach:.1f} mm outside {grid}; "
                         "is it the segmentation of that volume, under the same transform?")


def structure_segment_id(node, name: str) -> str:
    """The id of the segment of the structure ``name`` in a result node ('' when there is none): the segment
    whose id is ``name`` (a result's segments take their structure's name as id, and keep it when the user
    renames them), else the segment called ``name``."""
    return name if node.GetSegmentation().GetSegment(name) is not None else segment_id_by_name(node, name)


@contextmanager
def _named_in(node, segments, names: list[str]):
    """An :class:`InputError` raised inside, said of the segmentation ``node`` (whose ``segments`` are read as ``names``:
    without their leading and trailing spaces, which it says when that made two names one)."""
    try:
        yield
    except InputError as error:
        given = [segment.GetName() for segment in segments]
        spaces = " (segment names are read without their leading and trailing spaces)" if len(set(given)) > len(set(names)) else ""
        raise InputError(f"segmentation {node.GetName()!r}: {error}{spaces}") from None


def require_segment_id(node, name: str, structure: bool = False) -> str:
    """The id of the segment called ``name`` (with ``structure``: of the structure ``name``, see
    :func:`structure_segment_id`); raises :class:`InputError` naming the segments there are."""
    segment_id = structure_segment_id(node, name) if structure else segment_id_by_name(node, name)
    if not segment_id:
        segmentation = node.GetSegmentation()
        there = [segmentation.GetNthSegment(n).GetName() for n in range(segmentation.GetNumberOfSegments())]
        raise InputError(f"segmentation {node.GetName()!r} has no segment {name!r}; it has: {names_in_words(there, 'none')}")
    return segment_id


def check_labelmap_source(node) -> None:
    """Refuse to write masks into a segmentation whose source representation is not the binary labelmap (e.g. made
    Closed surface in the Segmentations module), saying how to change it back."""
    source = node.GetSegmentation().GetSourceRepresentationName()
    if source != BINARY_LABELMAP:
        raise GeometryError(f"segmentation {node.GetName()!r} is edited as {source!r}, not as a labelmap: masks cannot be "
                            f"written into it; make {BINARY_LABELMAP!r} its source representation (Segmentations module, "
                            "Representations, Make source) and try again")


def write_segment_mask(node, name: str, mask: np.ndarray, geometry: Image, structure: Structure | None = None,
                       overwrite: bool = False) -> str:
    """Set the segment of the structure ``name`` (:func:`structure_segment_id`; created when missing) to ``mask``
    on ``geometry``; return its id.

    Only the box around the segment's old and new voxels is sent. Other segments keep their voxels (the new
    one may overlap them) unless ``overwrite``, which clears them under the voxels the segment newly takes.
    ``structure`` gives the color and terminology of a new segment.
    """
    check_labelmap_source(node)
    segmentation = node.GetSegmentation()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != geometry.shape:
        raise GeometryError(f"mask for {name!r} has shape {mask.shape}, the grid has {geometry.shape}")
    segment_id = structure_segment_id(node, name) or _add_segment(node, name, structure)
    old = segment_mask(node, segment_id, geometry)
    _replace_mask(node, segment_id, old, mask, geometry)
    if overwrite:
        gained = mask & ~old
        for other in range(segmentation.GetNumberOfSegments()):
            other_id = segmentation.GetNthSegmentID(other)
            other_mask = segment_mask(node, other_id, geometry) if other_id != segment_id else None
            if other_mask is not None and (other_mask & gained).any():
                _replace_mask(node, other_id, other_mask, other_mask & ~gained, geometry)
    return segment_id


def _replace_mask(node, segment_id: str, old: np.ndarray, mask: np.ndarray, geometry: Image) -> None:
    """Make one segment, now ``old``, equal ``mask``, sending only the box around its old and new voxels."""
    if np.array_equal(old, mask):
        return
    box = Box.from_mask(old | mask)
    # the first write into an empty shared labelmap gives it the mask's type: it must hold the segment's label
    # value, or a value above 255 wraps in uint8 and the segment's voxels are lost
    label_type = np.min_scalar_type(node.GetSegmentation().GetSegment(segment_id).GetLabelValue())
    labelmap = oriented_image(geometry, mask.astype(label_type), np.linalg.inv(node_to_world(node)), box)
    if not Logic.SetBinaryLabelmapToSegment(labelmap, node, segment_id, Logic.MODE_REPLACE):
        raise GeometryError(f"could not write segment {segment_id!r} into {node.GetName()!r}")


def _add_segment(node, name: str, structure: Structure | None) -> str:
    """A new empty segment; its id is its name (made unique), so the same result gives the same file."""
    color = structure.color if structure else (1.0, 0.0, 0.0)
    segmentation = node.GetSegmentation()
    segment_id = segmentation.AddEmptySegment(segmentation.GenerateUniqueSegmentID(name), name, list(color))
    terminology = terminology_entry_to_string(structure.terminology) if structure and structure.terminology else ""
    set_look(segmentation.GetSegment(segment_id), color, terminology, color_chosen=structure is not None)
    return segment_id


def set_look(segment, color, terminology: str = "", color_chosen: bool = True) -> None:
    """Give ``segment`` ``color`` and ``terminology`` (Slicer's entry text; '' sets none); its name, and its color with
    ``color_chosen``, are marked chosen, not auto-generated: Slicer replaces an auto-generated name or color with a
    terminology entry's own when the user picks one for the segment (Segment Editor), losing the reference's."""
    segment.SetColor(*color)  # Slicer takes mid-grey (0.5, 0.5, 0.5) for "pick a colour"
    if terminology:
        segment.SetTerminology(terminology)
    segment.SetNameAutoGenerated(False)
    segment.SetColorAutoGenerated(not color_chosen)


def new_segmentation_node(name: str, geometry: Image, scene=None, reference_volume_node=None):
    """An empty segmentation node (unique name) whose reference geometry is ``reference_volume_node``
    (placed under the same transform) or else ``geometry``."""
    scene = scene or slicer.mrmlScene
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", scene.GenerateUniqueName(name))
    node.CreateDefaultDisplayNodes()
    if reference_volume_node is not None:  # the transform first: Slicer takes the geometry relative to the node's transform
        node.SetAndObserveTransformNodeID(reference_volume_node.GetTransformNodeID())
        node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume_node)
    else:
        serialized = slicer.vtkSegmentationConverter.SerializeImageGeometry(
            oriented_image(geometry, np.zeros(geometry.shape, np.uint8))
        )
        node.GetSegmentation().SetConversionParameter(
            slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName(), serialized
        )
    return node


def add_segmentation_node(segmentation: Segmentation, name: str, scene=None, reference_volume_node=None):
    """A new segmentation node holding every structure of ``segmentation`` (names, colors, terminology, and label
    values: read back or exported, they are ``segmentation``'s, as Slicer's label map import keeps them)."""
    node = new_segmentation_node(name, segmentation.geometry, scene, reference_volume_node)
    for structure in segmentation.labels:
        segment_id = _add_segment(node, structure.name, structure)
        node.GetSegmentation().GetSegment(segment_id).SetLabelValue(structure.value)  # no other segment of this new node has it
        write_segment_mask(node, structure.name, segmentation.masks[structure.name], segmentation.geometry, structure)
    return node
