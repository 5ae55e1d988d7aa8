"""``rau evaluate --json`` records, case by case, what reading and running the case warned of (``run_warnings``),
apart from its scoring warnings (``warnings``), the same with ``--jobs 2`` (worker processes) or ``--clicks`` as without."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as Picture

import rau
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
SPACING_001 = 0.08965852
WAYS = [[], ["--jobs", "2"], ["--clicks", "1"]]
"""In one process, in worker processes, and with the simulated user."""
UNJUDGED = "the placement of reference '000_HC.png' on the target 't_8x8.nrrd' could not be judged: "


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> Path:
    """``cases.csv``: HC18 000 as the reference of 001 shrunk to 8 x 8 px (an NRRD keeping the picture's size in mm,
    with its truth shrunk alike and its label table), whose placement cannot be judged, and of 001 itself."""
    folder = tmp_path_factory.mktemp("run_warnings")
    film = Picture.open(HC18 / "001_HC.png").convert("L")
    spacing = (SPACING_001 * film.size[0] / 8, SPACING_001 * film.size[1] / 8)
    for name, picture, resampling in (("t_8x8.nrrd", film, Picture.BILINEAR),
                                      ("t_8x8_mask.nrrd", Picture.open(HC18 / "001_HC_mask.png"), Picture.NEAREST)):
        image = sitk.GetImageFromArray(np.asarray(picture.resize((8, 8), resampling)))
        image.SetSpacing(spacing)
        sitk.WriteImage(image, str(folder / name))
    shutil.copy(HC18 / "001_HC_mask.labels.csv", folder / "t_8x8_mask.labels.csv")
    reference = f"{HC18 / '000_HC.png'},{HC18 / '000_HC_mask.png'},0.069135804"
    path = folder / "cases.csv"
    path.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
                    f"{reference},t_8x8.nrrd,t_8x8_mask.nrrd,\n"
                    f"{reference},{HC18 / '001_HC.png'},{HC18 / '001_HC_mask.png'},{SPACING_001}\n")
    return path


@pytest.mark.parametrize("how", WAYS, ids=["serial", "jobs2", "clicks"])
def test_each_case_records_what_running_it_warned_of(cases, tmp_path, capfd, how):
    """Before: the unjudged placement was printed on stderr only; the case's JSON had no ``run_warnings``."""
    scores = tmp_path / "scores.json"
    assert main(["evaluate", str(cases), "--engine", "registration", *how, "--json", str(scores)]) == 0
    said = capfd.readouterr().err  # a worker process (--jobs) prints on the same standard error
    tiny, normal = json.loads(scores.read_text())["cases"]
    assert (tiny["target"], tiny["status"], normal["target"], normal["status"]) == ("t_8x8.nrrd", "ok", "001_HC.png", "ok")
    [warning] = tiny["run_warnings"]
    assert warning.startswith(UNJUDGED) and f"warning: {warning}" in said
    assert normal["run_warnings"] == []
    assert tiny["warnings"] == normal["warnings"] == []  # the scoring warnings keep their meaning


@pytest.mark.parametrize("how", WAYS, ids=["serial", "jobs2", "clicks"])
def test_a_failed_case_records_what_reading_it_warned_of_before_it_failed(tmp_path, capfd, how):
    """A reference label map with a value its table does not name (warned of) and a truth naming none of its
    structures (the case fails): before, the warning was on stderr only."""
    mask = np.asarray(Picture.open(HC18 / "000_HC_mask.png")).copy()
    mask[:4, :4] = 7
    Picture.fromarray(mask).save(tmp_path / "ref_mask.png")
    shutil.copy(HC18 / "000_HC_mask.labels.csv", tmp_path / "ref_mask.labels.csv")
    shutil.copy(HC18 / "001_HC_mask.png", tmp_path / "skull_mask.png")
    (tmp_path / "skull_mask.labels.csv").write_text("value,name,r,g,b,terminology\n255,skull,0.5,0.5,0.5,\n")
    manifest = tmp_path / "cases.csv"
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
                        f"{HC18 / '000_HC.png'},ref_mask.png,0.069135804,{HC18 / '001_HC.png'},skull_mask.png,{SPACING_001}\n")
    scores = tmp_path / "scores.json"
    assert main(["evaluate", str(manifest), "--engine", "registration", *how, "--json", str(scores)]) == 1
    said = capfd.readouterr().err
    [case] = json.loads(scores.read_text())["cases"]
    assert case["status"] == "error" and "is one of the reference's" in case["error"]
    warning = f"{tmp_path / 'ref_mask.png'} has label value(s) 7 that its label table does not name; they are called 'label_7'"
    assert case["run_warnings"] == [warning] and f"warning: {warning}" in said
