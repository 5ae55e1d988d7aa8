"""Tables saved from a spreadsheet (manifests, label tables, BIDS sidecars) read by one rule: rows of cleared cells
skipped, spaces around column names dropped, and UTF-16 text, a workbook or tabs in a CSV refused saying so."""

import re
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk

from rau.cli import main
from rau.errors import InputError
from rau.io import read_segmentation
from rau.io.label_tables import read_label_table
from rau.validation import read_table

MANIFEST_COLUMNS = ("reference_image", "reference_labels", "reference_spacing", "target_image", "target_labels", "target_spacing")
UTF16 = re.escape('is UTF-16 text (as Excel saves "Unicode Text"); save it as UTF-8 (Excel: "CSV UTF-8")')
WORKBOOK = re.escape('is a spreadsheet workbook (such as .xlsx), not text; save it as "CSV UTF-8"')


def _label_map(path):
    array = np.zeros((1, 8, 8), np.uint8)
    array[0, 1:3, 1:3], array[0, 5:7, 5:7] = 1, 2
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))


def _workbook(path):
    with zipfile.ZipFile(path, "w") as workbook:
        workbook.writestr("[Content_Types].xml", "<Types/>")


def test_a_bids_sidecar_with_a_capitalised_header_names_its_label_map(tmp_path, capsys):
    """Before: 'Index<TAB>Name<TAB>Color' was 'no label table (its first line names no index and name columns);
    ignored' and the values were called label_1, label_2."""
    _label_map(tmp_path / "case.nii.gz")
    (tmp_path / "case.tsv").write_text(" Index \tName\tColor\n1\tRCA proximal\t#ff2626\n\t\t\n2\tRCA mid\tn/a\n")
    labels = read_segmentation(tmp_path / "case.nii.gz").labels
    assert labels.names == ["RCA proximal", "RCA mid"] and labels.structures[0].color == (1.0, 38 / 255, 38 / 255)
    assert "ignored" not in capsys.readouterr().err


def test_a_utf16_bids_sidecar_is_refused_as_the_same_table_given_with_label_table(tmp_path, capsys):
    """Before: the sidecar was ignored (names lost, exit 0) while --label-table refused the file as 'not UTF-8 text'."""
    _label_map(tmp_path / "case.nii.gz")
    sidecar = tmp_path / "case.tsv"
    sidecar.write_bytes("index\tname\r\n1\tRCA proximal\r\n2\tRCA mid\r\n".encode("utf-16"))
    with pytest.raises(InputError, match=f"case.tsv: label table {UTF16}"):
        read_segmentation(tmp_path / "case.nii.gz")
    with pytest.raises(InputError, match=f"case.tsv: label table {UTF16}"):
        read_label_table(sidecar)
    assert "ignored" not in capsys.readouterr().err
    sidecar.write_bytes(b"index\tname\n1\tt\xeate\n")  # Latin-1: refused alike, sidecar or given
    with pytest.raises(InputError, match=r"case.tsv: label table is not UTF-8 text \(byte 0xea at position 14"):
        read_segmentation(tmp_path / "case.nii.gz")


def test_a_label_table_from_a_spreadsheet_reads_as_a_manifest_does(tmp_path):
    """Before: rows of cleared cells were 'bad label table row (invalid literal for int() ...)' and 'value, name'
    lacked the column name, while a manifest skipped such rows and read such a header."""
    (tmp_path / "cleared.csv").write_text("value,name,r,g,b\r\n1,Leber,1,0,0\r\n,,,,\r\n2,Milz,0,1,0\r\n,,,,\r\n")
    assert read_label_table(tmp_path / "cleared.csv").names == ["Leber", "Milz"]
    (tmp_path / "spaces.csv").write_text("value, name, r, g, b\n1, Leber, 1, 0, 0\n")
    labels = read_label_table(tmp_path / "spaces.csv")
    assert labels.names == ["Leber"] and labels.structures[0].color == (1.0, 0.0, 0.0)
    (tmp_path / "m.csv").write_text(" image , labels\r\na.png,a_lab.png\r\n,\r\n")
    assert read_table(tmp_path / "m.csv", ("image", "labels"), "reference bank") == [(2, {"image": "a.png", "labels": "a_lab.png"})]


def test_a_label_table_in_utf16_as_a_workbook_or_tab_separated_is_refused_saying_so(tmp_path):
    """Before: 'not UTF-8 text (byte 0xff ..., in an encoding such as Latin-1 or Windows-1252)' for UTF-16 and for a
    workbook, and 'lacks column(s)' for tabs in a CSV."""
    (tmp_path / "t.csv").write_bytes("value,name\r\n1,Leber\r\n".encode("utf-16"))
    with pytest.raises(InputError, match=f"t.csv: label table {UTF16}$"):
        read_label_table(tmp_path / "t.csv")
    (tmp_path / "t.csv").write_bytes(b"\xfe\xff" + "value,name\r\n1,Leber\r\n".encode("utf-16-be"))
    with pytest.raises(InputError, match=f"t.csv: label table {UTF16}$"):
        read_label_table(tmp_path / "t.csv")
    _workbook(tmp_path / "t.xlsx")
    with pytest.raises(InputError, match=f"t.xlsx: label table {WORKBOOK}$"):
        read_label_table(tmp_path / "t.xlsx")
    (tmp_path / "tabs.csv").write_text("value\tname\n1\tLeber\n")
    with pytest.raises(InputError, match="tabs.csv: label table is tab-separated; save it with commas"):
        read_label_table(tmp_path / "tabs.csv")


@pytest.mark.parametrize("name, content, problem", [
    ("tabs.csv", ("\t".join(MANIFEST_COLUMNS) + "\nr.png\tr_lab.png\t1\tt.png\tt_lab.png\t1\n").encode(),
     "manifest is tab-separated; save it with commas"),
    ("unicode.txt", (",".join(MANIFEST_COLUMNS) + "\r\nr.png,r_lab.png,1,t.png,t_lab.png,1\r\n").encode("utf-16"),
     f"manifest {UTF16}"),
    ("m.xlsx", None, f"manifest {WORKBOOK}"),
])
def test_a_manifest_saved_with_tabs_in_utf16_or_as_a_workbook_is_refused_saying_so(tmp_path, capsys, name, content, problem):
    """Before: 'manifest lacks column(s) reference_image, ...' for tabs, 'not UTF-8 text (invalid start byte at byte
    0)' for UTF-16 and for a workbook."""
    manifest = tmp_path / name
    _workbook(manifest) if content is None else manifest.write_bytes(content)
    before = manifest.read_bytes()
    assert main(["evaluate", str(manifest), "--json", str(tmp_path / "out" / "e.json")]) == 2
    assert re.search(f"{name}: {problem}", capsys.readouterr().err)
    assert manifest.read_bytes() == before and not (tmp_path / "out").exists()


def test_a_utf32_table_is_called_so_and_a_colour_table_is_not_told_to_be_saved_as_csv(tmp_path):
    """Before: UTF-32 text was called 'UTF-16 text', and a UTF-16 colour table (.txt, .ctbl) was told to be saved as
    Excel's "CSV UTF-8"."""
    for encoding, mark in (("utf-32", b""), ("utf-32-be", b"\x00\x00\xfe\xff")):
        (tmp_path / "t.csv").write_bytes(mark + "value,name\r\n1,Leber\r\n".encode(encoding))
        with pytest.raises(InputError, match=re.escape('t.csv: label table is UTF-32 text; save it as UTF-8 (Excel: "CSV UTF-8")') + "$"):
            read_label_table(tmp_path / "t.csv")
    for name in ("colours.txt", "colours.ctbl"):
        (tmp_path / name).write_bytes("1 Leber 255 0 0 255\n".encode("utf-16"))
        with pytest.raises(InputError, match=re.escape(f'{name}: label table is UTF-16 text (as Excel saves "Unicode Text"); save it as UTF-8') + "$"):
            read_label_table(tmp_path / name)
