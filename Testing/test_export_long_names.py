"""The module's NIfTI export of a result with a long name (a DICOM series description of 300 characters) on real
slicer-core MRML: the export writes the label map and its label table, whose name is the longer; the name the export
panel suggests fits both, and a name typed whose table cannot exist is refused by rau, naming it, before any write."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)
from test_mrml_segments import grid, labels  # noqa: F401  (fixtures)

from rau.errors import InputError
from rau.mrml import add_segmentation_node, add_volume_node
from slicer_module import load_rauslicer

SERIES = "CT THORAX " + "A" * 290
"""A 300-character result name: more than a file name can hold."""


def result_node(scene, labels, grid):
    """A result named :data:`SERIES` made over a target volume, and that volume."""
    volume = add_volume_node(grid, "target", scene)
    return add_segmentation_node(labels, SERIES, scene, reference_volume_node=volume), volume


def test_the_suggested_nifti_name_of_a_300_character_series_exports_both_files(mrml_scene, labels, grid, tmp_path):
    """Before: the suggestion left room for .nii.gz alone; its .labels.csv (258 bytes) failed "File name too long"."""
    node, volume = result_node(mrml_scene, labels, grid)
    load_rauslicer()  # puts RAUSlicerLib on the path, with stand-ins for what only the application has
    from RAUSlicerLib.export_panel import ExportPanel

    panel = ExportPanel()
    panel._parameterNode = SimpleNamespace(outputSegmentation=node)
    suggested = panel._suggestedName(".nii.gz")
    assert suggested.startswith("CT THORAX AAA") and suggested.endswith(".nii.gz")
    label_map, table = load_rauslicer().RAUSlicerLogic().exportLabelMap(node, volume, tmp_path / suggested)
    assert sorted(tmp_path.iterdir()) == sorted([tmp_path / suggested, table]) and label_map == tmp_path / suggested
    assert table.name == suggested[: -len(".nii.gz")] + ".labels.csv" and len(table.name.encode()) <= 255


def test_the_suggested_seg_nrrd_name_keeps_all_the_room_a_seg_nrrd_has(mrml_scene, labels, grid):
    """A .seg.nrrd export writes no table: its suggestion is cut only to what the .seg.nrrd's own name allows (255 bytes
    less the one kept for the "_" a Windows device name takes), not for a table's name."""
    node, _ = result_node(mrml_scene, labels, grid)
    load_rauslicer()
    from RAUSlicerLib.export_panel import ExportPanel

    panel = ExportPanel()
    panel._parameterNode = SimpleNamespace(outputSegmentation=node)
    assert len(panel._suggestedName(".seg.nrrd").encode()) == 254


def test_a_typed_name_whose_label_table_would_be_too_long_is_refused_naming_it(mrml_scene, labels, grid, tmp_path):
    """A 253-byte name is a valid file name, but its table's (257 bytes) is none: before, the file system's
    "[Errno 36] File name too long" (an OSError), not rau's refusal, ended the export."""
    node, volume = result_node(mrml_scene, labels, grid)
    typed = tmp_path / ("A" * 246 + ".nii.gz")
    with pytest.raises(InputError) as refused:
        load_rauslicer().RAUSlicerLogic().exportLabelMap(node, volume, typed)
    table = tmp_path / ("A" * 246 + ".labels.csv")
    assert str(refused.value) == (f"{table}: this output's file name is 257 bytes long, over the 255 that file systems allow; "
                                  "choose a shorter output name")
    assert list(tmp_path.iterdir()) == []  # neither the label map nor the table, nor a temporary file
