"""The label table rau writes beside a label map is Slicer's CSV colour table: slicer-core loads it whole, and rau
reads it back as written."""

from __future__ import annotations

import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.io.label_tables import color_fields, read_label_table, write_label_table  # noqa: E402
from rau.labels import LabelSet, Structure  # noqa: E402

LIVER = {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "10200004", "Liver"]}
KIDNEY = {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "64033007", "Kidney"],
          "anatomicRegion": ["SCT", "64033007", "Kidney"], "anatomicRegionModifier": ["SCT", "24028007", "Right"]}
LABELS = LabelSet((Structure("Leber, ü 脾", 1, (0.8, 0.4, 0.2), LIVER), Structure("kidney right", 7, (0.1, 0.9, 0.3), KIDNEY),
                   Structure("vessel", 300, (0.123456, 0.5, 0.999)), Structure("#2 a#b", 301, (0.2, 0.2, 0.2))))
"""Names as Slicer's reader must take them: a comma, a '#' (a comment to its reader where unquoted), not ASCII."""


def test_the_label_table_rau_writes_loads_in_slicer_with_every_name_colour_and_terminology(mrml_scene, tmp_path):
    path = tmp_path / "result.labels.csv"
    write_label_table(LABELS, path)
    node = mrml_scene.AddNewNodeByClass("vtkMRMLColorTableNode")
    storage = mrml_scene.AddNewNodeByClass("vtkMRMLColorTableStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node) == 1
    for structure in LABELS:
        color = [0.0] * 4
        node.GetColor(structure.value, color)
        assert node.GetColorName(structure.value) == structure.name
        assert color[:3] == pytest.approx(structure.color, abs=0.5 / 255) and color[3] == 1
        codes = {"category": node.GetTerminologyCategory, "type": node.GetTerminologyType,
                 "anatomicRegion": node.GetTerminologyRegion, "anatomicRegionModifier": node.GetTerminologyRegionModifier}
        read = {key: [entry.GetCodingSchemeDesignator(), entry.GetCodeValue(), entry.GetCodeMeaning()]
                for key, get in codes.items() if (entry := get(structure.value)) and entry.GetCodeValue()}
        assert read == (structure.terminology or {})


def test_rau_reads_its_written_label_table_back_as_written(tmp_path):
    path = tmp_path / "result.labels.csv"
    write_label_table(LABELS, path)
    read = read_label_table(path)
    assert [(s.value, s.name, s.terminology) for s in read] == [(s.value, s.name, s.terminology) for s in LABELS]
    assert [color_fields(s.color) for s in read] == [color_fields(s.color) for s in LABELS]
    assert [c for s in read for c in s.color] == pytest.approx([c for s in LABELS for c in s.color], abs=0.5 / 255)
    assert read.colored == {1, 7, 300, 301}


def test_a_terminology_entry_with_a_meaning_but_no_code_value_reads_back(tmp_path):
    """rau takes such an entry from an old-style table; before, its written table dropped the entry on reading, and
    the category left without a type was refused: the result could not serve as a reference."""
    blob = LabelSet((Structure("blob", 1, (0.5, 0.5, 0.5), {"category": ["SCT", "123037004", "Anatomical Structure"],
                                                              "type": ["", "", "my blob"]}),))
    path = tmp_path / "result.labels.csv"
    write_label_table(blob, path)
    assert [s.terminology for s in read_label_table(path)] == [s.terminology for s in blob]
