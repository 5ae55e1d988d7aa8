"""The file name the export panel suggests for a result (:func:`rau.io.outputs.file_name_from`): one file, whatever
the result's name holds (the panel's Qt dialog is absent here: its rule, and the panel's use of it, are tested)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

from rau.io.outputs import file_name_from


@pytest.mark.parametrize(("name", "expected"), [
    ("W/O CONTRAST segmentation", "W_O CONTRAST segmentation.nii.gz"),
    ("CT\\chest segmentation", "CT_chest segmentation.nii.gz"),
    ('a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h.nii.gz"),
    ("tab\there", "tab_here.nii.gz"),
    ("Thorax 1.0 B31f segmentation", "Thorax 1.0 B31f segmentation.nii.gz"),
    ("Abdomen é segmentation", "Abdomen é segmentation.nii.gz"),
    ("", "segmentation.nii.gz"),  # was the hidden file .nii.gz
    ("..", "segmentation.nii.gz"),  # was ...nii.gz
    (" liver. ", "liver.nii.gz"),  # Windows drops the trailing dot and space; a leading one hides nothing but is lost in lists
    ("CON", "CON_.nii.gz"),  # a Windows device, no file
    ("com1.ct", "com1_.ct.nii.gz"),  # Windows reads the name before its first dot
    ("CONTRAST", "CONTRAST.nii.gz"),
    (".Liver", "Liver.nii.gz"),  # was hidden
    ("...seg", "seg.nii.gz"),
    ("COM\u00b9", "COM\u00b9_.nii.gz"),  # Windows keeps the superscript ones too
])
def test_a_suggested_name_is_one_file_name(name, expected):
    assert file_name_from(name, ".nii.gz") == expected


def test_a_name_with_a_slash_is_saved_as_one_file_in_the_folder_chosen(tmp_path):
    """Before, 'W/O CONTRAST segmentation.seg.nrrd' named a folder W holding 'O CONTRAST segmentation.seg.nrrd'."""
    path = tmp_path / file_name_from("W/O CONTRAST segmentation", ".seg.nrrd")
    path.write_bytes(b"")
    assert path.parent == tmp_path and [entry.name for entry in tmp_path.iterdir()] == ["W_O CONTRAST segmentation.seg.nrrd"]


def test_the_export_panel_suggests_one_file_for_a_result_of_a_series_with_a_slash(mrml_scene):
    """The panel (its Qt dialog aside) names a result of the series 'W/O CONTRAST' as one file, for both exports."""
    from slicer_module import load_rauslicer

    load_rauslicer()  # puts RAUSlicerLib on the path, with stand-ins for what only the application has
    from RAUSlicerLib.export_panel import ExportPanel

    panel = ExportPanel()
    panel._parameterNode = SimpleNamespace(outputSegmentation=mrml_scene.AddNewNodeByClass(
        "vtkMRMLSegmentationNode", "W/O CONTRAST segmentation"))
    assert panel._suggestedName(".nii.gz") == "W_O CONTRAST segmentation.nii.gz"
    assert panel._suggestedName(".seg.nrrd") == "W_O CONTRAST segmentation.seg.nrrd"


def test_a_long_name_is_cut_to_what_file_systems_take_without_splitting_a_character(tmp_path):
    """Before: a 300-character name made a 307-byte suggestion, which no file system saves."""
    for name in ("a" * 300, "\u00e9" * 200):
        suggested = file_name_from(name, ".seg.nrrd")
        assert len(suggested.encode()) <= 255 and suggested.endswith(".seg.nrrd") and suggested[0] == name[0]
        (tmp_path / suggested).write_bytes(b"")
