"""A picture (no place) with a placed 2D image stored mirrored or turned against how Slicer shows a picture: the
command line matches the pixels as stored, Slicer first puts them in the target's pixel order, so the two answer
otherwise. ``rau segment`` and ``rau evaluate`` warn of it, once, and answer as before."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from single_slice import hc18_picture, hc18_spacing, write_picture

from rau.cli import main

WARNED = "stored mirrored or turned against how Slicer shows a picture"


@pytest.fixture(scope="module")
def hc18(shared_data, tmp_path_factory):
    """HC18 000 (reference) and 001 (target), a quarter of each halved picture, as PNG and as 2D NRRD stored with
    its columns right to left (the same picture where it lies, as a converter may write it) or in picture order."""
    folder = tmp_path_factory.mktemp("hc18_order")
    spacing = hc18_spacing("001")  # both at one pixel size, given to the pictures as --*-spacing
    for name in ("000", "001"):
        for kind, array in (("", hc18_picture(shared_data, name)), ("_mask", hc18_picture(shared_data, name, mask=True))):
            array = array[::2, ::2].copy()
            write_picture(array, folder / f"{name}{kind}.png")
            for suffix, columns, direction in (("_mirrored", slice(None, None, -1), (-1.0, 0.0, 0.0, 1.0)),
                                               ("_as_picture", slice(None), (1.0, 0.0, 0.0, 1.0))):
                image = sitk.GetImageFromArray(np.ascontiguousarray(array[:, columns]))
                image.SetSpacing((2 * spacing, 2 * spacing))
                image.SetDirection(direction)
                image.SetOrigin(((array.shape[1] - 1) * 2 * spacing if direction[0] < 0 else 0.0, 0.0))
                sitk.WriteImage(image, str(folder / f"{name}{kind}{suffix}.nrrd"))
    return folder


def segment(folder, reference, target, out, capsys) -> tuple[str, bytes]:
    """``rau segment``: its warnings and the label map it wrote."""
    spacing = str(2 * hc18_spacing("001"))
    pictures = {"--reference-spacing": reference, "--target-spacing": target}
    given = [option for flag, name in pictures.items() if name.endswith(".png") for option in (flag, spacing)]
    mask = reference.replace(".png", "_mask.png").replace("_mirrored.nrrd", "_mask_mirrored.nrrd").replace("_as_picture.nrrd", "_mask_as_picture.nrrd")
    code = main(["segment", "--reference", str(folder / reference), "--reference-labels", str(folder / mask),
                 "--target", str(folder / target), "--out", str(out), "--no-deformable", *given])
    err = capsys.readouterr().err
    assert code == 0, err
    return err, out.read_bytes()


def test_picture_reference_with_a_mirrored_target_is_warned_of_once(hc18, tmp_path, capsys):
    err, _ = segment(hc18, "000.png", "001_mirrored.nrrd", tmp_path / "out.nrrd", capsys)
    assert err.count(WARNED) == 1, err
    assert "'000.png'" in err and "001_mirrored.nrrd" in err and "save the reference from Slicer" in err
    assert WARNED in " ".join(json.loads((tmp_path / "out.result.json").read_text())["warnings"])


def test_mirrored_reference_with_a_picture_target_is_warned_of(hc18, tmp_path, capsys):
    err, _ = segment(hc18, "000_mirrored.nrrd", "001.png", tmp_path / "out.nrrd", capsys)
    assert err.count(WARNED) == 1 and "save the target from Slicer" in err, err


def test_no_warning_where_slicer_answers_alike(hc18, tmp_path, capsys):
    err, _ = segment(hc18, "000.png", "001_as_picture.nrrd", tmp_path / "out.nrrd", capsys)
    assert WARNED not in err
    err, _ = segment(hc18, "000_as_picture.nrrd", "001_mirrored.nrrd", tmp_path / "placed.nrrd", capsys)
    assert WARNED not in err  # both placed: put in the target's pixel order here as in Slicer


def test_evaluate_lists_it_with_the_case(hc18, tmp_path, capsys):
    manifest = tmp_path / "cases.csv"
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels\n"
                        f"{hc18 / '000.png'},{hc18 / '000_mask.png'},{2 * hc18_spacing('001')},"
                        f"{hc18 / '001_mirrored.nrrd'},{hc18 / '001_mask_mirrored.nrrd'}\n")
    scores = tmp_path / "scores.json"
    assert main(["evaluate", str(manifest), "--no-deformable", "--json", str(scores)]) == 0, capsys.readouterr().err
    [case] = json.loads(scores.read_text())["cases"]
    assert sum(WARNED in warning for warning in case["warnings"]) == 1, case["warnings"]
