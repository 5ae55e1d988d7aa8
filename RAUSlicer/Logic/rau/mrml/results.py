"""A :class:`rau.result.Result` -> segments: mask, reference name/color/terminology, tag and status.

Each segment written here carries a JSON tag (:data:`RAU_TAG`) recording the engine,
confidence, box, prompts and message, so the segment can be re-prompted later and a
reviewer can see where it came from. A structure that was not found, or found with low
confidence, gets the segment status *Flagged* (a flag in the Segments table) and keeps
its reference name; the others are *In progress* until the user marks them complete.
"""

from __future__ import annotations

import json
import numbers

import numpy as np
import slicer

from rau.errors import InputError, OptionError
from rau.image import Image
from rau.io.json_text import parse_json
from rau.mrml.segments import RAU_TAG, new_segmentation_node, require_segment_id, tag_text, write_segment_mask
from rau.result import Result, StructureResult, voxels

LOW_CONFIDENCE = 0.5
FLAG_LEVEL_NAME = "'Flag below confidence'"
"""How the panel names the flag level (``low_confidence``)."""
Logic = slicer.vtkSlicerSegmentationsModuleLogic


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot store {type(value).__name__} in a segment tag")


def structure_tag(item: StructureResult, geometry: Image) -> dict:
    """The provenance stored with a segment (JSON-ready)."""
    return {
        "structure": item.structure.name,
        "value": item.structure.value,
        "engine": item.engine,
        "found": item.found,
        "confidence": round(float(item.confidence), 4),
        "box": item.box.to_dict(geometry) if item.box else None,
        "prompts": item.prompts,
        "message": item.message,
    }


def check_flag_level(low_confidence: float) -> None:
    """Refuse a flag level that is no confidence (not a number from 0 to 1): it would flag every structure, or none."""
    number = isinstance(low_confidence, numbers.Real) and not isinstance(low_confidence, bool)
    if not number or not 0.0 <= low_confidence <= 1.0:
        raise OptionError(f"{FLAG_LEVEL_NAME} must be a confidence from 0 to 1, not {low_confidence!r}")


def needs_review(item: StructureResult, low_confidence: float = LOW_CONFIDENCE) -> bool:
    """True for a structure that was not found or found with confidence below ``low_confidence`` (a flag level,
    :func:`check_flag_level`)."""
    check_flag_level(low_confidence)
    return not item.found or item.confidence < low_confidence


def write_structure_result(node, item: StructureResult, geometry: Image, low_confidence: float = LOW_CONFIDENCE,
                           overwrite: bool = False) -> str:
    """Write one structure's mask (empty when not found), tag and status into ``node``; return the segment id."""
    mask = voxels(item, geometry.shape)
    segment_id = write_segment_mask(node, item.structure.name, mask, geometry, item.structure, overwrite)
    segment = node.GetSegmentation().GetSegment(segment_id)
    segment.SetTag(RAU_TAG, tag_json(item, geometry))
    Logic.SetSegmentStatus(segment, review_status(item, low_confidence))
    return segment_id


def tag_json(item: StructureResult, geometry: Image) -> str:
    """The tag text a segment keeps for ``item`` (:func:`structure_tag`)."""
    # Slicer's .seg.nrrd keeps a segment's tags as "key:value|key:value": a "|" in the JSON (a structure or volume
    # name) would cut it; escaped, it is still JSON and reads back as "|"
    return json.dumps(structure_tag(item, geometry), default=_jsonable).replace("|", "\\u007c")


def review_status(item: StructureResult, low_confidence: float = LOW_CONFIDENCE) -> int:
    """The segment status written with ``item``: *Flagged* when it needs review (:func:`needs_review`), else *In progress*."""
    return Logic.Flagged if needs_review(item, low_confidence) else Logic.InProgress


def add_result_node(result: Result, target_volume_node, name: str | None = None,
                    low_confidence: float = LOW_CONFIDENCE):
    """A new segmentation node over the target, named after it, with one segment per structure; whole or not at all
    (a structure that cannot be written takes the node out of the scene again)."""
    check_flag_level(low_confidence)
    node = new_segmentation_node(
        name or f"{target_volume_node.GetName()} segmentation",
        result.target,
        target_volume_node.GetScene(),
        target_volume_node,
    )
    try:
        for item in result.structures:
            write_structure_result(node, item, result.target, low_confidence)
    except BaseException:
        node.GetScene().RemoveNode(node)
        raise
    return node


def read_rau_tag(node, name: str) -> dict:
    """The provenance tag of the structure ``name``'s segment (empty when it was not written by RAUSlicer)."""
    segment = node.GetSegmentation().GetSegment(require_segment_id(node, name, structure=True))
    text = tag_text(segment)
    try:
        return parse_json(text) if text else {}
    except ValueError:
        raise InputError(f"segment {name!r} of {node.GetName()!r} has a damaged {RAU_TAG} tag (not JSON): {text[:80]!r}") from None
