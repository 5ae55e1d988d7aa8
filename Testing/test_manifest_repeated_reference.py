"""A reference repeated in one case of a ``rau evaluate`` or ``rau batch`` manifest (the same files on two rows, or
byte copies of them) fails that case only, naming both manifest lines, as a re-saved copy does; the other cases run
and are written, and the exit status is a failed case's."""

import csv
import json
import shutil

import pytest

from rau.cli import main
from test_reference_copy_structures import HC18

SPACINGS = {"000": "0.069135804", "002": "0.062032563", "003": "0.091291168"}
REPEATS = {  # the second reference of 002_HC, its pixel size, and the words for it
    "given twice": ("000_HC", SPACINGS["000"], "repeats the reference of {manifest} line 2; it would vote twice"),
    "given twice with another pixel size": ("000_HC", "0.07", "repeats the reference of {manifest} line 2; it would vote twice"),
    "byte copy": ("000_cp", SPACINGS["000"], "its image and labels are copies of those of {manifest} line 2; it would vote twice"),
}


def _manifest(folder, second: str, spacing: str, truth: bool):
    """Case 002 with 000 and ``second`` (of pixel size ``spacing``) as references (lines 2 and 3), case 003 with 000 (line 4)."""
    for case in SPACINGS:
        shutil.copy(HC18 / f"{case}_HC.png", folder)
        shutil.copy(HC18 / f"{case}_HC_mask.png", folder)
    shutil.copy(HC18 / "000_HC.png", folder / "000_cp.png")
    shutil.copy(HC18 / "000_HC_mask.png", folder / "000_cp_mask.png")
    rows = [("002", "000_HC", SPACINGS["000"]), ("002", second, spacing), ("003", "000_HC", SPACINGS["000"])]
    columns = "target_image,reference_image,reference_labels,target_spacing,reference_spacing" + (",target_labels" if truth else "")
    (folder / "m.csv").write_text(f"{columns}\n" + "".join(
        f"{target}_HC.png,{reference}.png,{reference}_mask.png,{SPACINGS[target]},{reference_spacing}" + (f",{target}_HC_mask.png" if truth else "") + "\n"
        for target, reference, reference_spacing in rows))
    return folder / "m.csv"


@pytest.mark.parametrize("repeat", REPEATS)
def test_evaluate_fails_only_the_case_with_a_repeated_reference(tmp_path, capsys, repeat):
    """Before: the whole run was refused (exit 2, nothing scored), while a re-saved copy failed its case only."""
    second, spacing, words = REPEATS[repeat]
    manifest = _manifest(tmp_path, second, spacing, truth=True)
    assert main(["evaluate", str(manifest), "--no-deformable", "--json", str(tmp_path / "r.json")]) == 1
    cases = {case["target"]: case for case in json.loads((tmp_path / "r.json").read_text())["cases"]}
    assert cases["002_HC.png"]["status"] == "error"
    assert cases["002_HC.png"]["error"] == f"{manifest} line 3: " + words.format(manifest=manifest)
    assert cases["002_HC.png"]["references"] == ["000_HC.png", f"{second}.png"]  # before: a repeated file by its absolute path
    assert cases["003_HC.png"]["structures"][0]["status"] == "detected"
    assert f"failed: 002_HC.png: {cases['002_HC.png']['error']}" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("repeat", REPEATS)
def test_batch_fails_only_the_target_with_a_repeated_reference(tmp_path, capsys, repeat):
    """Before: the whole run was refused (exit 2, nothing written), while a re-saved copy failed its target only."""
    second, spacing, words = REPEATS[repeat]
    manifest = _manifest(tmp_path, second, spacing, truth=False)
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1", "--no-deformable"]) == 1
    summary = {row["target"]: row for row in csv.DictReader(open(out / "batch_summary.csv", encoding="utf-8"))}
    assert summary["002_HC"]["status"] == "failed"
    assert summary["002_HC"]["error"] == f"{manifest} line 3: " + words.format(manifest=manifest)
    assert not list(out.glob("002_HC.*"))
    assert summary["003_HC"]["status"] == "done" and (out / "003_HC.nii.gz").exists()
    assert summary["002_HC"]["error"] in capsys.readouterr().err
