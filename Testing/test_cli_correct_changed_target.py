"""``rau correct`` refuses a target changed since the run: the result records the SHA-256 of the target's voxels and
geometry (``inputs.target_sha256``), as it does of each reference; before, another image in its place was corrected on
without a word."""

import json
import shutil

from test_cli import HC18, hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main


def segmented(case):
    """The HC18 pair segmented to out/t.nii.gz: its result JSON."""
    assert main(segment_args(case, case / "out" / "t.nii.gz", "--no-deformable")) == 0
    return case / "out" / "t.result.json"


def correct(result, out, *extra):
    return main(["correct", str(result), "--structure", "fetal head", "--outside", "10,10", "--out", str(out), *extra])


def test_the_result_records_the_target_s_fingerprint_and_an_unchanged_target_is_corrected(hc18_case):  # noqa: F811
    result = segmented(hc18_case)
    recorded = json.loads(result.read_text())["inputs"]["target_sha256"]
    assert len(recorded) == 64
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 0
    assert json.loads((hc18_case / "out" / "c.result.json").read_text())["inputs"]["target_sha256"] == recorded


def test_a_target_replaced_since_the_run_is_refused_naming_it_and_nothing_is_written(hc18_case, capsys):  # noqa: F811
    result = segmented(hc18_case)
    shutil.copy(hc18_case / "001.png", hc18_case / "002.png")  # another patient's scan in its place
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 2
    assert (f"error: {hc18_case / '002.png'}, the target {result} records, changed since the run (its voxels or geometry are "
            "not those the run read, pixel size included); give the original target") in capsys.readouterr().err
    assert not (hc18_case / "out" / "c.nii.gz").exists()


def test_a_target_given_with_target_is_checked_against_the_recorded_one(hc18_case, capsys):  # noqa: F811
    result = segmented(hc18_case)
    moved = hc18_case / "moved.png"
    shutil.copy(hc18_case / "002.png", moved)
    assert correct(result, hc18_case / "out" / "c.nii.gz", "--target", str(moved), "--target-spacing", str(HC18["002"])) == 0
    shutil.copy(hc18_case / "001.png", moved)
    capsys.readouterr()
    assert correct(result, hc18_case / "out" / "d.nii.gz", "--target", str(moved), "--target-spacing", str(HC18["002"])) == 2
    assert f"error: --target {moved}: not the target {result} records" in capsys.readouterr().err
    assert not (hc18_case / "out" / "d.nii.gz").exists()


def test_a_result_without_the_fingerprint_is_read_unchecked(hc18_case):  # noqa: F811
    result = segmented(hc18_case)
    saved = json.loads(result.read_text())
    del saved["inputs"]["target_sha256"]
    result.write_text(json.dumps(saved))
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 0
