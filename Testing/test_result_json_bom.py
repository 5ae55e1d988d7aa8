"""A result JSON re-saved by a Windows editor (a UTF-8 byte-order mark first, CRLF line ends) is read back as before:
by ``rau correct`` and by ``rau batch`` resuming a run. Before: ``not a result JSON (Unexpected UTF-8 BOM ...)``."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from test_cli_evaluate import blobs  # noqa: F401  (fixture)

from rau.cli import main


@pytest.fixture
def pair(blobs, tmp_path):  # noqa: F811
    """The blobs' reference (liver and spleen, named by its label table) and target pictures."""
    for name in ("r1.png", "r1_mask.png", "r1_mask.labels.csv", "t.png"):
        shutil.copy(blobs / name, tmp_path / name)
    return tmp_path


def resave_with_bom(path) -> None:
    """Save ``path`` as Windows editors do: a UTF-8 byte-order mark first, CRLF line ends."""
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))


def test_correct_reads_a_result_json_saved_with_a_byte_order_mark(pair, capsys):
    out = pair / "out"
    assert main(["segment", "--reference", str(pair / "r1.png"), "--reference-labels", str(pair / "r1_mask.png"),
                 "--target", str(pair / "t.png"), "--no-deformable", "--out", str(out / "t.nii.gz")]) == 0
    resave_with_bom(out / "t.result.json")
    edited = (out / "t.result.json").read_bytes()
    code = main(["correct", str(out / "t.result.json"), "--structure", "liver", "--inside", "34,30", "--out", str(out / "c.nii.gz")])
    assert code == 0, capsys.readouterr().err
    corrected = json.loads((out / "c.result.json").read_text(encoding="utf-8"))
    assert corrected["structures"][0]["name"] == "liver" and corrected["structures"][0]["prompts"]["clicks"] == 1
    assert (out / "t.result.json").read_bytes() == edited  # inputs are never changed


def test_batch_resumes_a_run_whose_result_json_was_saved_with_a_byte_order_mark(pair, capsys):
    """Before: the target was refused as ``not written by rau for this target``."""
    (pair / "cases.csv").write_text("reference_image,reference_labels,target_image\nr1.png,r1_mask.png,t.png\n")
    out = pair / "out"
    batch = ["batch", str(pair / "cases.csv"), "--out", str(out), "--no-deformable"]
    assert main(batch) == 0
    resave_with_bom(out / "t.result.json")
    code = main(batch)
    assert code == 0, capsys.readouterr().err
    with open(out / "batch_summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["target"], row["status"], row["found"]) for row in rows] == [("t", "skipped", "liver;spleen")]
