"""``rau evaluate``: how many worker processes ``--jobs`` starts, and what the summary says of cases that failed
(their unit of distances, their count) and of a mix of mm and px among the cases scored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as Picture

import rau
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
REFERENCE = f"{HC18 / '000_HC.png'},{HC18 / '000_HC_mask.png'}"
MM = f"{REFERENCE},0.069135804,t_mm.nrrd,t_mm_mask.nrrd,"
"""A case in mm: the reference with its pixel size and the NRRD."""
PX = f"{REFERENCE},,t_px.png,t_px_mask.png,"
"""A case in pixels: neither picture given a pixel size."""
GARBAGE = f"{REFERENCE},,garbage.png,t_px_mask.png,"
"""A case in pixels that fails: its target cannot be read."""
HEADER = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
MIXED = "have no pixel size (first: "


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """HC18 001 shrunk to 8 x 8 px, as an NRRD with its size in mm (``t_mm.nrrd``) and as a PNG with none
    (``t_px.png``), each with its truth shrunk alike, and ``garbage.png``, a target no reader can open."""
    folder = tmp_path_factory.mktemp("evaluate_summary")
    film = Picture.open(HC18 / "001_HC.png").convert("L").resize((8, 8), Picture.BILINEAR)
    mask = Picture.open(HC18 / "001_HC_mask.png").resize((8, 8), Picture.NEAREST)
    for name, picture in (("t_mm.nrrd", film), ("t_mm_mask.nrrd", mask)):
        image = sitk.GetImageFromArray(np.asarray(picture))
        image.SetSpacing((2.0, 2.0))
        sitk.WriteImage(image, str(folder / name))
    film.save(folder / "t_px.png")
    mask.save(folder / "t_px_mask.png")
    (folder / "garbage.png").write_bytes(b"not a png at all\x00\x01")
    return folder


def manifest(folder: Path, name: str, *rows: str) -> Path:
    """A manifest of ``rows`` in ``folder``."""
    path = folder / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def evaluated(cases: Path, tmp_path: Path, capfd, *options: str) -> tuple[int, dict, object]:
    """``rau evaluate cases --json`` with ``options``: its exit status, the JSON written and what it printed."""
    scores = tmp_path / "scores.json"
    status = main(["evaluate", str(cases), *options, "--json", str(scores)])
    return status, json.loads(scores.read_text()), capfd.readouterr()


def test_the_largest_jobs_starts_one_process_per_case(folder, tmp_path, capfd):
    """Before: --jobs 2147483647 (accepted) sized the pool's call queue past a C int: exit 70, an OverflowError."""
    status, written, said = evaluated(manifest(folder, "one_garbage.csv", GARBAGE), tmp_path, capfd, "--jobs", "2147483647")
    assert status == 1 and "internal error" not in said.err
    [case] = written["cases"]
    assert (case["target"], case["status"]) == ("garbage.png", "error")


def test_a_failed_case_without_pixel_size_leaves_the_unit_mm(folder, tmp_path, capfd):
    """Before: the failed picture's px made the summary ``mm/px`` and warned of pixels averaged with mm."""
    status, written, said = evaluated(manifest(folder, "failed_px.csv", GARBAGE, MM), tmp_path, capfd)
    assert status == 1
    assert written["summary"]["distance_unit"] == "mm"
    assert [case["distance_unit"] for case in written["cases"]] == ["px", "mm"]  # each case keeps its own
    assert "HD95 mm" in said.out and "mm/px" not in said.out and MIXED not in said.err
    assert written["warnings"] == []


def test_a_mix_of_mm_and_px_scored_is_a_warning_of_the_run(folder, tmp_path, capfd):
    """Before: the warning was printed on stderr only; the JSON's ``warnings`` stayed empty."""
    status, written, said = evaluated(manifest(folder, "mixed.csv", PX, MM), tmp_path, capfd)
    assert status == 0
    assert written["summary"]["distance_unit"] == "mm/px"
    [warning] = [warning for warning in written["warnings"] if MIXED in warning]
    assert warning.startswith("1 of 2 targets have") and "t_px.png" in warning
    assert f"warning: {warning}" in said.err


def test_the_summary_line_counts_every_case_and_says_which_failed(folder, tmp_path, capfd):
    """Before: ``1 cases, ... s per case, 1 failed`` for a manifest of 2 cases (the count was of the scored ones)."""
    cases = manifest(folder, "one_failed.csv", GARBAGE, MM)
    assert main(["evaluate", str(cases)]) == 1
    last = capfd.readouterr().out.splitlines()[-1]
    assert "2 cases (1 failed), " in last and " s per scored case" in last


def test_the_summary_line_when_every_case_fails(folder, capfd):
    """Before: ``0 cases, - s per case, 1 failed``."""
    cases = manifest(folder, "all_failed.csv", GARBAGE)
    assert main(["evaluate", str(cases)]) == 1
    assert "1 case (1 failed)" in capfd.readouterr().out
