"""``rau correct`` keeps the result's names and colours: one renamed or recoloured in the result's ``.labels.csv`` since
the run is warned of, naming the table, the structure and both names or colours (before, it was reverted without a word)."""

import json

from test_cli import HC18, hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main


def segmented(case, *extra):
    """The HC18 pair segmented to out/t.nii.gz: its label table."""
    assert main(segment_args(case, case / "out" / "t.nii.gz", "--no-deformable", *extra)) == 0
    return case / "out" / "t.labels.csv"


def correct(case, capsys):
    """One outside click on the head of out/t.result.json, written to out/c.nii.gz: what it printed on stderr, c's table."""
    capsys.readouterr()
    code = main(["correct", str(case / "out" / "t.result.json"), "--structure", "fetal head", "--outside", "10,10",
                 "--out", str(case / "out" / "c.nii.gz"), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 0, err
    return err, (case / "out" / "c.labels.csv").read_text()


def test_a_structure_renamed_in_the_result_s_labels_csv_is_warned_of_and_the_result_s_name_kept(hc18_case, capsys):  # noqa: F811
    table = segmented(hc18_case)
    table.write_text(table.read_text().replace("\"fetal head\",", "\"Fetal skull\","))
    err, written = correct(hc18_case, capsys)
    assert (f"warning: {table} names or colours structures otherwise than {hc18_case / 'out' / 't.result.json'}: "
            "label value 255 is 'Fetal skull' there, 'fetal head' in the result; rau correct keeps the result's names and colours") in err, err
    assert "--label-table" in err and "\"fetal head\"," in written
    assert "Fetal skull" in json.loads((hc18_case / "out" / "c.result.json").read_text())["warnings"][0]


def test_a_colour_changed_in_the_labels_csv_of_a_seg_nrrd_run_is_warned_of_and_an_untouched_table_is_not(hc18_case, capsys):  # noqa: F811
    table = segmented(hc18_case, "--seg-nrrd")
    assert "names or colours" not in correct(hc18_case, capsys)[0]
    table.write_text(table.read_text().replace(",230,179,51,", ",255,0,0,"))
    err, written = correct(hc18_case, capsys)
    assert "'fetal head' is coloured 255,0,0 there, 230,179,51 in the result" in err, err
    assert "\"fetal head\",230,179,51," in written


def test_a_colour_changed_in_the_labels_csv_of_a_label_map_run_is_warned_of_and_the_result_s_colour_kept(hc18_case, capsys):  # noqa: F811
    table = segmented(hc18_case)
    table.write_text(table.read_text().replace(",230,179,51,", ",26,179,51,"))
    err, written = correct(hc18_case, capsys)
    assert "'fetal head' is coloured 26,179,51 there, 230,179,51 in the result" in err, err
    assert "\"fetal head\",230,179,51," in written
    saved = json.loads((hc18_case / "out" / "c.result.json").read_text())
    assert saved["structures"][0]["color"] == [0.9, 0.7, 0.2]


def test_a_reference_colour_between_two_8_bit_steps_is_written_and_corrected_alike(hc18_case, capsys):  # noqa: F811
    """Before: the result JSON rounded the colour to 4 decimals (0.00196 -> 0.002) while the table took the colour
    itself to 8 bits (0, where 0.002 is 1), so the first correction warned the table's colour was changed and
    wrote another one."""
    (hc18_case / "001_mask.labels.csv").write_text("value,name,r,g,b\n255,fetal head,0.00196,0.70001,0.3\n")
    table = segmented(hc18_case)
    err, written = correct(hc18_case, capsys)
    assert "coloured" not in err, err
    assert written == table.read_text()
