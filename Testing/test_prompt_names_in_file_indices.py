"""Boxes and clicks are named as the user gave them, in the target file's own i,j,k, by ``rau correct`` and by
``rau serve`` alike (:func:`rau.session.file_box`): a 2D target stored as a 1-slice volume along j keeps i,0,k in
its file, while rau holds it as i,j. Real CLI runs and real HTTP on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
import SimpleITK as sitk
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.cli import main
from rau.serve.client import Client

ALONG_J = "voxels 0..19, 0..0, 0..15 along i, j, k"


def write_along_j(folder: Path) -> tuple[Path, Path, Path]:
    """A 20 x 16 picture stored as a 1-slice volume along j (file size i, j, k = 20, 1, 16): reference, its labels, target."""
    array = np.zeros((16, 1, 20), np.int16)  # (k, j, i)
    array[4:12, 0, 5:15] = 100
    paths = []
    for name, values in (("ref", array), ("ref_labels", (array > 0).astype(np.uint8)), ("target", array)):
        image = sitk.GetImageFromArray(values)
        image.SetSpacing((1.0, 2.0, 1.5))
        sitk.WriteImage(image, str(folder / f"{name}.nii.gz"))
        paths.append(folder / f"{name}.nii.gz")
    return tuple(paths)


@pytest.fixture(scope="module")
def along_j_result(tmp_path_factory) -> Path:
    """``rau segment``'s result on :func:`write_along_j`'s target."""
    folder = tmp_path_factory.mktemp("along_j")
    reference, labels, target = write_along_j(folder)
    assert main(["segment", "--reference", str(reference), "--reference-labels", str(labels), "--target", str(target),
                 "--out", str(folder / "out.nii.gz"), "--no-deformable"]) == 0
    return folder / "out.result.json"


def correct(result: Path, capsys, *prompt: str) -> tuple[int, str]:
    out = result.parent / "corrected.nii.gz"
    code = main(["correct", str(result), "--structure", "label_1", *prompt, "--out", str(out)])
    assert code != 0 or out.exists()
    return code, capsys.readouterr().err


@pytest.mark.parametrize("box", ["1,2,3", "1,2,3,4,5"])
def test_rau_correct_says_both_box_forms_a_1_slice_target_takes(along_j_result, capsys, box):
    """Before: "give i0,j0,i1,j1 for this 2D target", though i0,j0,k0,i1,j1,k1 of the file is taken too."""
    code, error = correct(along_j_result, capsys, "--box", box)
    assert code == 2
    assert f"--box '{box}': give both corners as i,j (i0,j0,i1,j1) or both as i,j,k (i0,j0,k0,i1,j1,k1) for this 2D target" in error


def along_j_answer(url: str, folder: Path, prompt: dict) -> requests.Response:
    """The server's answer to re-prompting "label_1" with ``prompt`` (raw JSON) after a job on :func:`write_along_j`'s files."""
    reference, labels, target = write_along_j(folder)
    job = Client(url).submit(target, [(reference, labels, None)], options={"deformable": False})
    assert Client(url).wait(job)["state"] == "done"
    body = json.dumps({"structure": "label_1", "prompt": prompt})
    return requests.post(f"{url}/v1/sessions/{job}/reprompt", data=body, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize("prompt, problem", [
    ({"box": {"lower": [2, 0, 16], "upper": [4, 1, 18]}}, f"the box [2, 0, 16]..[4, 1, 18]: outside the target ({ALONG_J})"),
    ({"box": {"lower": [2, 0, 3], "upper": [4, 1, 6]}, "points": [[10, 0, 10]], "labels": [1]},
     "the point [10, 0, 10] lies outside the box [2, 0, 3]..[4, 1, 6], given with it"),
    ({"box": {"lower": [2, 0, 3], "upper": [4, 1, 6]}, "points": [[10, 0, 10]], "labels": [1], "names": ["my click"]},
     "my click lies outside the box [2, 0, 3]..[4, 1, 6], given with it"),
    ({"box": {"lower": [2, 3], "upper": [4, 1, 6]}},
     "the box [2, 3]..[4, 1, 6]: give both corners as i,j (i0,j0,i1,j1) or both as i,j,k (i0,j0,k0,i1,j1,k1) for this 2D target"),
    ({"points": [[10.0, 0.0, 99.0]], "labels": [1]}, f"the point [10, 0, 99]: outside the target ({ALONG_J})"),
    ({"box": {"lower": [2, 0, 3], "upper": [4, 1, 6]}, "points": [[10.0, 0.0, 10.0]], "labels": [1]},
     "the point [10, 0, 10] lies outside the box [2, 0, 3]..[4, 1, 6], given with it"),
], ids=["box outside", "click outside the box", "named click outside the box", "corners of two forms",
        "float click outside the target", "float click outside the box"])
def test_the_server_names_a_box_on_a_1_slice_volume_as_the_client_sent_it(server, tmp_path, prompt, problem):
    """Before: "the box (2, 16, 0)..(4, 18, 1) lies outside the target image" and "the click at 10,10 lies outside the
    box 2,3,0 to 3,5,0", in indices the client never sent; corners of two forms were taken, one in the file's i,j,k,
    the other in the picture's i,j."""
    answer = along_j_answer(server[0], tmp_path, prompt)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(problem)


def test_the_server_refuses_a_box_outside_a_picture_as_rau_correct_does(server, tmp_path):
    """Before: "the box (900, 900, 0)..(999, 999, 1) lies outside the target image", a k the client never sent."""
    reference, target, table = write_two_halves(tmp_path)
    job = Client(server[0]).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(server[0]).wait(job)
    body = json.dumps({"structure": "left", "prompt": {"box": {"lower": [900, 900], "upper": [999, 999]}}})
    answer = requests.post(f"{server[0]}/v1/sessions/{job}/reprompt", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 422
    assert answer.json()["detail"] == "the box [900, 900]..[999, 999]: outside the target (voxels 0..63, 0..63 along i, j)"


def test_rau_correct_names_a_voxel_given_both_inside_and_outside_in_the_file_s_indices(along_j_result, capsys):
    """Before: "the voxel (15, 10, 0) (i, j, k) is given as both ...": the indices rau holds the picture by, not the file's."""
    code, error = correct(along_j_result, capsys, "--inside", "15,0,10", "--outside", "15,0,10")
    assert code == 2
    assert "the voxel (15, 0, 10) (i, j, k) is given as both inside and outside (--inside '15,0,10'; --outside '15,0,10')" in error
