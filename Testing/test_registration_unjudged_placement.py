"""A placement the image similarity cannot judge (the images overlap in too few voxels) is warned of, naming the target."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as Picture
from single_slice import hc18_picture, hc18_spacing, write_picture

from rau.cli import main
from rau.registration_metric import MIN_CORRELATION_OVERLAP_VOXELS

UNJUDGED = "could not be judged: after registration the images overlap in fewer than"


@pytest.fixture(scope="module")
def hc18(shared_data, tmp_path_factory):
    """Examination 000 as reference (in the shared data) and examination 001 as target, halved and at 8 x 8 px (an
    NRRD keeping the picture's 72 x 48 mm)."""
    folder = tmp_path_factory.mktemp("hc18")
    write_picture(hc18_picture(shared_data, "001"), folder / "001.png")
    film = Picture.open(shared_data / "hc18_fetal_head_us" / "images" / "001_HC.png").convert("L")
    tiny = sitk.GetImageFromArray(np.asarray(film.resize((8, 8), Picture.BILINEAR)))
    tiny.SetSpacing((hc18_spacing("001") * 400 / 8, hc18_spacing("001") * 270 / 8))
    sitk.WriteImage(tiny, str(folder / "t_8x8.nrrd"))
    return folder


def segment(shared_data, target, out, *spacing):
    """``rau segment`` of ``target`` from HC18 000 (pixel size from HC18's table)."""
    folder = shared_data / "hc18_fetal_head_us"
    return main(["segment", "--reference", str(folder / "images" / "000_HC.png"), "--reference-labels",
                 str(folder / "masks" / "000_HC_mask.png"), "--reference-spacing", "0.069135804", "--target", str(target),
                 *spacing, "--out", str(out)])


def test_an_8_by_8_target_whose_placement_cannot_be_judged_is_warned_of_naming_the_target(shared_data, hc18, tmp_path, capsys):
    """Before, HC18 001 at 8 x 8 px was segmented with similarity -1 and confidence 0 (exit 0) and no word of why."""
    before = (hc18 / "t_8x8.nrrd").read_bytes()
    assert segment(shared_data, hc18 / "t_8x8.nrrd", tmp_path / "t.nii.gz") == 0
    said = capsys.readouterr().err
    expected = (f"the placement of reference '000_HC.png' on the target 't_8x8.nrrd' {UNJUDGED} {MIN_CORRELATION_OVERLAP_VOXELS} voxels "
                "around its labels")
    assert expected in said, said
    result = json.loads((tmp_path / "t.result.json").read_text())
    assert [w for w in result["warnings"] if expected in w]
    assert [s["confidence"] for s in result["structures"]] == [0.0]
    assert (hc18 / "t_8x8.nrrd").read_bytes() == before


def test_a_picture_of_ordinary_size_gives_no_such_warning(shared_data, hc18, tmp_path, capsys):
    assert segment(shared_data, hc18 / "001.png", tmp_path / "t.nii.gz", "--target-spacing", str(hc18_spacing("001"))) == 0
    said = capsys.readouterr().err
    assert UNJUDGED not in said
    assert [s["confidence"] > 0 for s in json.loads((tmp_path / "t.result.json").read_text())["structures"]] == [True]


def test_references_ranked_for_another_engine_are_warned_of_too(shared_data, hc18):
    """Before, the SAM2, rau and vlm-box engines ranked references by such placements (similarity -1) with no word:
    only the registration engine's own run warned."""
    from rau.engines.base import Reference, Request
    from rau.engines.registration import RegistrationEngine
    from rau.io.images import read_image
    from rau.io.segmentations import read_segmentation
    from rau.user_warnings import collected_warnings

    folder = shared_data / "hc18_fetal_head_us"
    references = [Reference(read_image(folder / "images" / f"{exam}_HC.png", 0.069135804),
                            read_segmentation(folder / "masks" / f"{exam}_HC_mask.png", pixel_spacing=0.069135804),
                            name=f"{exam}_HC.png") for exam in ("000", "002")]
    request = Request(references, read_image(hc18 / "t_8x8.nrrd"), target_name="t_8x8.nrrd")
    with collected_warnings() as said:
        RegistrationEngine().ranked_references(request)
    assert [w for w in said if UNJUDGED in w and "'000_HC.png'" in w], said
