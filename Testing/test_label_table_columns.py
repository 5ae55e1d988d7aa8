"""A ``.labels.csv`` sidecar's columns are read by one rule, through ``rau segment`` on the HC18 sample data: names in
any case (as a BIDS table's), a colour as ``r,g,b`` or as ``color`` ``#rrggbb`` (as a BIDS table's); other columns are
left unread (before, ``R,G,B`` and ``color`` were dropped without a word)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rau
from rau.cli import main
from rau.io import read_segmentation
from rau.io.label_tables import read_label_table

SAMPLE = Path(rau.__file__).parent / "sample_data" / "hc18"


def segment_with_table(folder: Path, table: str, capsys, sidecar: str = "000_HC_mask.labels.csv") -> tuple[int, str]:
    """``rau segment`` of the HC18 sample pair 000 -> 001, the reference mask named by ``table`` beside it (in the file
    ``sidecar``): its exit code and standard error."""
    for name in ("000_HC.png", "000_HC_mask.png", "001_HC.png"):
        shutil.copy(SAMPLE / name, folder / name)
    (folder / sidecar).write_text(table)
    capsys.readouterr()
    code = main(["segment", "--reference", str(folder / "000_HC.png"), "--reference-labels", str(folder / "000_HC_mask.png"),
                 "--reference-spacing", "0.069135804", "--target", str(folder / "001_HC.png"), "--target-spacing", "0.08965852",
                 "--no-deformable", "--out", str(folder / "out" / "t.nii.gz"), "--seg-nrrd"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("table", ["value,name,color\n255,fetal head,#ff0000\n", "value,name,R,G,B\n255,fetal head,1,0,0\n",
                                   "Value,Name,R,G,B\n255,fetal head,1,0,0\n",
                                   "VALUE, NAME ,Color\n255,fetal head,#FF0000\n"])
def test_a_colour_given_as_color_or_in_capitals_is_kept_in_every_output(table, tmp_path, capsys):
    code, err = segment_with_table(tmp_path, table, capsys)
    assert code == 0, err
    assert "label table" not in err  # no word about the table (the picture's pixel size is another matter)
    assert read_label_table(tmp_path / "out" / "t.labels.csv").get("fetal head").color == (1.0, 0.0, 0.0)
    assert read_segmentation(tmp_path / "out" / "t.seg.nrrd").labels.get("fetal head").color == (1.0, 0.0, 0.0)


def test_a_column_rau_does_not_read_is_left_unread_without_a_word(tmp_path, capsys):
    """As in ARCADE's tables, whose ``arcade`` column gives each segment's class."""
    code, err = segment_with_table(tmp_path, "value,name,r,g,b,arcade\n255,fetal head,1,0,0,7\n", capsys)
    assert code == 0, err
    assert "label table" not in err
    assert read_label_table(tmp_path / "out" / "t.labels.csv").get("fetal head").color == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("table, said", [
    ("value,name,colour\n255,fetal head,#ff0000\n", "column 'colour' is not one rau reads; did you mean 'color'?"),
    ("value,name,r,g,b,color\n255,fetal head,1,0,0,#ff0000\n", "label table gives the colour twice (r,g,b and color); keep one"),
    ("value,name,color\n255,fetal head,red\n", "line 2: bad label table row (the colour 'red' must be written #rrggbb)"),
    ("Value,Name,R,r\n255,fetal head,1,0\n", "label table names the column 'r' twice"),
])
def test_a_colour_column_misspelt_given_twice_or_unreadable_is_refused_naming_the_table(table, said, tmp_path, capsys):
    code, err = segment_with_table(tmp_path, table, capsys)
    assert code != 0 and f"{tmp_path / '000_HC_mask.labels.csv'}" in err and said in err, err
    assert not (tmp_path / "out").exists()


BIDS_SIDECAR = "000_HC_mask.tsv"
"""A BIDS segmentation table (``*_dseg.tsv``) beside the reference mask."""


@pytest.mark.parametrize("table, said", [
    ("index\tname\tname\n255\tfetal head\tOther\n", "label table names the column 'name' twice"),
    ("index\tname\tcolor\tColor\n255\tfetal head\t#ff0000\t#0000ff\n", "label table names the column 'color' twice"),
    ("index\tname\tcolour\n255\tfetal head\t#ff0000\n", "column 'colour' is not one rau reads; did you mean 'color'?"),
    ("index\tname\tr\tg\tb\n255\tfetal head\t1\t0\t0\n",
     "a BIDS segmentation table gives the colour as color (#rrggbb), not r,g,b"),
])
def test_a_bids_tables_columns_are_checked_as_a_csv_tables_are(table, said, tmp_path, capsys):
    """Before, a BIDS table's second ``name`` or ``color`` column was read in place of the first, and a misspelt colour
    or ``r,g,b`` left the structure its default colour, without a word."""
    code, err = segment_with_table(tmp_path, table, capsys, BIDS_SIDECAR)
    assert code == 2 and f"{tmp_path / BIDS_SIDECAR}" in err and said in err, err
    assert not (tmp_path / "out").exists()


def test_a_bids_tables_other_columns_are_left_unread_without_a_word(tmp_path, capsys):
    """``abbreviation`` and ``mapping`` are the standard's; a table may add its own."""
    table = "index\tname\tabbreviation\tcolor\tmapping\tnote\n255\tfetal head\tFH\t#ff0000\t4\tseen\n"
    code, err = segment_with_table(tmp_path, table, capsys, BIDS_SIDECAR)
    assert code == 0, err
    assert "label table" not in err
    assert read_label_table(tmp_path / "out" / "t.labels.csv").get("fetal head").color == (1.0, 0.0, 0.0)
