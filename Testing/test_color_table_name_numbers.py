"""Plain colour tables (``value name R G B [A]``) whose names end in numbers: the colour is the last three or four
numbers, as wide as the table's other lines say; a line the table leaves reading two ways is refused, never read
with colour numbers in its name."""

import csv
import shutil

import pytest

from rau.cli import main
from rau.errors import InputError
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
        rows = {row["value"]: (row["name"], tuple(round(float(row[c]) * 255) for c in "rgb")) for row in csv.DictReader(handle)}
    assert rows["1"] == ("Brodmann area 44", (255, 38, 38))
    assert rows["2"] == ("Lendenwirbel 5", (29, 76, 191))
    assert rows["3"] == ("Rippe links", (12, 100, 200))  # R G B A, as wide as the lines that read one way
    assert table.read_bytes() == before


def test_four_numbers_after_a_name_read_as_wide_as_the_table_s_colours(tmp_path):
    """A table of R G B colours reads four numbers after a name as its last number, then R G B; before, 'Rippe links
    12 100 200 100' was 'Rippe links' coloured 12 100 200 whatever the other lines gave."""
    table = tmp_path / "rgb.txt"
    table.write_text("1 Leber 255 0 0\n2 Rippe links 12 100 200 100\n3 Wirbel 7 0 0 255\n4 Milz 2\n")
    labels = read_label_table(table)
    assert labels.names == ["Leber", "Rippe links 12", "Wirbel 7", "Milz"]
    assert _colours(labels) == {"Leber": (255, 0, 0), "Rippe links 12": (100, 200, 100), "Wirbel 7": (0, 0, 255)}


def test_a_line_the_table_leaves_reading_two_ways_is_refused_naming_both(tmp_path):
    """Before: 'Rippe links 12 100 200 100' was read as R G B A 12 100 200 100, silently; it may as well be the name
    'Rippe links 12' coloured 100 200 100."""
    table = tmp_path / "ribs.txt"
    table.write_text("# ribs\n1 Rippe links 12 100 200 100\n2 Rippe rechts\n")
    with pytest.raises(InputError, match=r"ribs.txt line 2: bad color table line '1 Rippe links 12 100 200 100': it reads two "
                                         r"ways, the name 'Rippe links' with the colour R G B A 12 100 200 100, or the name "
                                         r"'Rippe links 12' with the colour R G B 100 200 100, and no other line tells which"):
        read_label_table(table)
    table.write_text('# ribs\n1 "Rippe links" 12 100 200 100\n2 Rippe rechts\n')  # quoted: the name ends at its quote
    assert _colours(read_label_table(table)) == {"Rippe links": (12, 100, 200)}


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
