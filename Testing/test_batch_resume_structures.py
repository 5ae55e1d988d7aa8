"""``rau batch`` resuming over an earlier ``--out``: structures asked for are compared as names are matched
everywhere, and a refusal for an output landing on an input offers what batch has (another ``--out``)."""

from __future__ import annotations

import shutil

from rau.batch.items import work_items
from rau.cli import main as rau_main
from rau.errors import InputError

import pytest

FAST = ["--no-deformable", "--workers", "1"]
HEADER = "target_image,reference_image,reference_labels,reference_spacing,target_spacing,structures\n"


def _cohort(shared_data, folder):
    data = shared_data / "hc18_fetal_head_us"
    for name in ("images/000_HC.png", "masks/000_HC_mask.png", "images/001_HC.png"):
        shutil.copy(data / name, folder / name.split("/")[1])
    (folder / "000_HC_mask.labels.csv").write_text("value,name\n255,fetal head\n")


def test_a_target_done_with_the_same_structures_spelled_otherwise_counts_as_done(shared_data, tmp_path, capsys):
    """Before: refused, "made with another structures ("Fetal Head")", though ``fetal head`` gives the same outputs."""
    _cohort(shared_data, tmp_path)
    row = "001_HC.png,000_HC.png,000_HC_mask.png,0.0691,0.0897,{}\n"
    (tmp_path / "first.csv").write_text(HEADER + row.format("Fetal Head"))
    (tmp_path / "again.csv").write_text(HEADER + row.format("fetal-head"))
    (tmp_path / "other.csv").write_text(HEADER + row.format(""))  # every structure: recorded otherwise
    out = tmp_path / "out"
    assert rau_main(["batch", str(tmp_path / "first.csv"), "--out", str(out), *FAST]) == 0
    made = {path.name: path.read_bytes() for path in out.glob("001_HC.*")}
    capsys.readouterr()
    assert rau_main(["batch", str(tmp_path / "again.csv"), "--out", str(out), *FAST]) == 0
    assert "0 done, 1 skipped" in capsys.readouterr().out
    assert {path.name: path.read_bytes() for path in out.glob("001_HC.*")} == made
    assert rau_main(["batch", str(tmp_path / "other.csv"), "--out", str(out), *FAST]) == 2
    assert 'made with another structures ("Fetal Head")' in capsys.readouterr().err


def test_an_output_that_would_replace_an_input_is_refused_offering_another_out_folder(shared_data, tmp_path):
    """Before: "... choose another output name", an option rau batch does not have (it names its outputs itself)."""
    _cohort(shared_data, tmp_path)
    (tmp_path / "cohort.csv").write_text(HEADER + "001_HC.png,000_HC.png,000_HC_mask.png,0.0691,0.0897,\n")
    (tmp_path / "001_HC.labels.csv").write_text("value,name\n255,fetal head\n")  # the target's own table, where its output table would go
    with pytest.raises(InputError, match=r"001_HC\.labels\.csv: this output would replace .*; choose another --out$"):
        work_items(tmp_path / "cohort.csv", tmp_path)
