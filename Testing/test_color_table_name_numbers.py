"""Plain colour tables (``value name R G B [A]``) whose names end in numbers: one word then four numbers is Slicer's
R G B A; beyond four numbers the last four are R G B A; a name of several words then four numbers is R G B A unless the
table's other lines that read one way all give R G B."""

import csv
import shutil

import pytest

from rau.cli import main
from rau.io.label_tables import read_label_table


def _colours(labels) -> dict[str, tuple[int, int, int]]:
    return {structure.name: tuple(round(c * 255) for c in structure.color) for structure in labels if structure.value in labels.colored}


def test_numbers_after_a_name_beyond_r_g_b_a_belong_to_the_name_and_the_table_s_width_reads_four_numbers(shared_data, tmp_path):
    """Before: 'Brodmann area 44 255 38 38 255' was all name (default colour), 'Lendenwirbel 5 29 76 191 255' was
    'Lendenwirbel' coloured 5 29 76, silently (rau segment exited 0)."""
    folder = shared_data / "arcade_syntax_dev"
    for name, copy in (("383_img", "ref.png"), ("383_lab", "ref_lab.png"), ("879_img", "tgt.png")):
        shutil.copyfile(folder / f"arcade_train_{name}.png", tmp_path / copy)
    table = tmp_path / "names.txt"
    table.write_text("# value name R G B A\n0 Background 0 0 0 0\n1 Brodmann area 44 255 38 38 255\n"
                     "2 Lendenwirbel 5 29 76 191 255\n3 Rippe links 12 100 200 100\n")
    before = table.read_bytes()
    assert main(["segment", "--reference", str(tmp_path / "ref.png"), "--reference-labels", str(tmp_path / "ref_lab.png"),
                 "--reference-spacing", "1", "--label-table", str(table), "--target", str(tmp_path / "tgt.png"),
                 "--target-spacing", "1", "--out", str(tmp_path / "out" / "s.nii.gz")]) == 0
    with open(tmp_path / "out" / "s.labels.csv", newline="") as handle:
        rows = {row["LabelValue"]: (row["Name"], tuple(int(row[f"Color_{c}"]) for c in "RGB")) for row in csv.DictReader(handle)}
    assert rows["1"] == ("Brodmann area 44", (255, 38, 38))
    assert rows["2"] == ("Lendenwirbel 5", (29, 76, 191))
    assert rows["3"] == ("Rippe links", (12, 100, 200))  # R G B A, as wide as the lines that read one way
    assert table.read_bytes() == before


def test_four_numbers_after_a_name_read_as_wide_as_the_table_s_colours(tmp_path):
    """A table of R G B colours reads four numbers after a name as its last number, then R G B; before, 'Rippe links
    12 100 200 100' was 'Rippe links' coloured 12 100 200 whatever the other lines gave."""
    table = tmp_path / "rgb.txt"
    table.write_text("1 Leber 255 0 0\n2 Rippe links 12 100 200 100\n3 Wirbel L 7 0 0 255\n4 Milz 2\n")
    labels = read_label_table(table)
    assert labels.names == ["Leber", "Rippe links 12", "Wirbel L 7", "Milz"]
    assert _colours(labels) == {"Leber": (255, 0, 0), "Rippe links 12": (100, 200, 100), "Wirbel L 7": (0, 0, 255)}


def test_a_name_of_several_words_then_four_numbers_no_other_line_tells_of_is_r_g_b_a(tmp_path):
    """Before: refused as reading two ways ('quote the name'); before that and now, R G B A, as a table of unquoted
    names of several words with R G B A colours reads."""
    table = tmp_path / "ribs.txt"
    table.write_text("# ribs\n1 Rippe links 12 100 200 100\n2 Rippe rechts\n")
    assert _colours(read_label_table(table)) == {"Rippe links": (12, 100, 200)}
    table.write_text('# ribs\n1 "Rippe links" 12 100 200 100\n2 Rippe rechts\n')  # quoted: the name ends at its quote
    assert _colours(read_label_table(table)) == {"Rippe links": (12, 100, 200)}
    table.write_text("1 left lung 255 0 0 255\n2 right lung 0 255 0 255\n")
    labels = read_label_table(table)
    assert labels.names == ["left lung", "right lung"]
    assert _colours(labels) == {"left lung": (255, 0, 0), "right lung": (0, 255, 0)}


@pytest.mark.parametrize("lines", [["1 liver 255 0 0", "2 spleen 0 255 0 255", "3 kidney 0 0 255 255"],
                                   ["1 liver 255 0 0 255", "2 spleen 0 255 0", "3 kidney 0 0 255"]])
def test_one_word_then_four_numbers_is_r_g_b_a_in_a_table_that_mixes_colours_with_and_without_alpha(tmp_path, lines):
    """Before: in the first table 'spleen 0' coloured (255, 0, 255) and 'kidney 0' (0, 255, 255); in the second 'liver 255'
    coloured (0, 0, 255), silently."""
    table = tmp_path / "mixed.ctbl"
    table.write_text("\n".join(lines) + "\n")
    labels = read_label_table(table)
    assert labels.names == ["liver", "spleen", "kidney"]
    assert _colours(labels) == {"liver": (255, 0, 0), "spleen": (0, 255, 0), "kidney": (0, 0, 255)}


def test_a_slicer_color_table_with_names_ending_in_numbers_reads_as_slicer_reads_it(tmp_path):
    """Slicer writes each name as one word (its spaces as _), then R G B A: read as before, whatever its names end in."""
    slicer = pytest.importorskip("slicer", reason="the slicer-core wheel is not installed")
    names = ["Background", "Lendenwirbel 5", "Brodmann area 44", "Rippe 12"]
    colours = [(0, 0, 0), (29, 76, 191), (255, 38, 38), (100, 200, 100)]
    written = slicer.vtkMRMLColorTableNode()
    written.SetTypeToUser()
    written.SetNumberOfColors(len(names))
    for value, (name, colour) in enumerate(zip(names, colours)):
        written.SetColor(value, name, *(c / 255 for c in colour), 1.0)
    storage = slicer.vtkMRMLColorTableStorageNode()
    storage.SetFileName(str(tmp_path / "numbered.ctbl"))
    assert storage.WriteData(written)
    read_back = slicer.vtkMRMLColorTableNode()
    assert storage.ReadData(read_back)
    labels = read_label_table(tmp_path / "numbered.ctbl")
    assert labels.names == [read_back.GetColorName(value) for value in range(1, 4)] == names[1:]
    assert _colours(labels) == dict(zip(names[1:], colours[1:]))
