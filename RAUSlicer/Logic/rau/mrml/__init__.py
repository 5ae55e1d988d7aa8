"""The Slicer bridge: MRML nodes <-> ``rau`` objects.

This subpackage is the only part of ``rau`` that imports ``slicer`` or ``vtk``
(every module in it does; nothing outside it may). It needs either the Slicer
application or the ``slicer-core`` wheel. Slicer works in RAS, ``rau`` in LPS:
the conversion happens once, in :mod:`rau.mrml.geometry`.

* :mod:`~rau.mrml.geometry`: scalar volume node <-> :class:`rau.image.Image`
* :mod:`~rau.mrml.segments`: segmentation node <-> :class:`rau.labels.Segmentation`
* :mod:`~rau.mrml.inputs`: the picked reference and target nodes -> a :class:`rau.engines.base.Request`
* :mod:`~rau.mrml.results`: a :class:`rau.result.Result` -> segments with tags and status
* :mod:`~rau.mrml.prompts`: markups points and ROI -> :class:`rau.engines.base.Prompt`
* :mod:`~rau.mrml.correction`: re-prompt / propagate / undo one segment through the kept session
* :mod:`~rau.mrml.export`: segmentation node -> NIfTI label map + label table, or ``.seg.nrrd``
"""

from rau.mrml.correction import Correction
from rau.mrml.export import export_label_map, export_seg_nrrd
from rau.mrml.geometry import add_volume_node, check_volume_in_place, image_from_volume_node
from rau.mrml.inputs import request_from_nodes
from rau.mrml.prompts import prompt_from_markups
from rau.mrml.results import RAU_TAG, add_result_node, read_rau_tag, write_structure_result
from rau.mrml.segments import add_segmentation_node, segmentation_from_node, write_segment_mask

__all__ = [
    "RAU_TAG",
    "Correction",
    "add_result_node",
    "add_segmentation_node",
    "add_volume_node",
    "check_volume_in_place",
    "export_label_map",
    "export_seg_nrrd",
    "image_from_volume_node",
    "prompt_from_markups",
    "read_rau_tag",
    "request_from_nodes",
    "segmentation_from_node",
    "write_segment_mask",
    "write_structure_result",
]
