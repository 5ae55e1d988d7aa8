"""2D images saved as 1-slice volumes (NRRD, NIfTI) through ``rau segment`` and ``rau evaluate``.

Real HC18 pixels, halved (see single_slice.py), with a non-trivial origin, spacing and
direction. Outputs must lie exactly on the target file's grid.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from single_slice import dice, hc18_picture, hc18_spacing, one_slice_volume, rotation, same_geometry, write_picture

from rau.cli import main

ORIGIN = (-40.0, 25.5, 17.25)


@pytest.fixture(scope="module")
def hc18(shared_data, tmp_path_factory):
    """Examination 001 as picture and mask (PNG), and the picture's copy ``target.png`` (a target cannot be its own reference)."""
    folder = tmp_path_factory.mktemp("hc18")
    write_picture(hc18_picture(shared_data, "001"), folder / "001.png")
    write_picture(hc18_picture(shared_data, "001"), folder / "target.png")
    write_picture(hc18_picture(shared_data, "001", mask=True), folder / "001_mask.png")
    return folder


def volume_copy(hc18, name, path, axis="k", direction=np.eye(3)):
    """``name`` (a PNG in ``hc18``) saved as a 1-slice volume at ``path``."""
    picture = sitk.GetArrayFromImage(sitk.ReadImage(str(hc18 / name)))
    image = one_slice_volume(picture, hc18_spacing("001"), axis, ORIGIN, direction)
    sitk.WriteImage(image, str(path))
    return image


def segment(hc18, reference, reference_labels, target, out, *extra):
    spacing = ["--reference-spacing", str(hc18_spacing("001"))] if reference.suffix == ".png" else []
    target_spacing = ["--target-spacing", str(hc18_spacing("001"))] if target.suffix == ".png" else []
    return main([
        "segment", "--reference", str(reference), "--reference-labels", str(reference_labels), *spacing,
        "--target", str(target), *target_spacing, "--out", str(out), "--no-deformable", *extra,
    ])


@pytest.mark.parametrize("suffix,axis,direction", [
    (".nrrd", "k", np.diag([-1.0, -1.0, 1.0])),
    (".nii.gz", "k", np.eye(3)),
    (".nrrd", "i", rotation((1, 2, 3), 27)),  # oblique, stored sagittal
])
def test_png_reference_and_1_slice_target(hc18, tmp_path, suffix, axis, direction, capsys):
    target = volume_copy(hc18, "001.png", tmp_path / f"target{suffix}", axis, direction)
    truth = volume_copy(hc18, "001_mask.png", tmp_path / f"truth{suffix}", axis, direction)
    out = tmp_path / f"out{suffix}"
    assert segment(hc18, hc18 / "001.png", hc18 / "001_mask.png", tmp_path / f"target{suffix}", out, "--seg-nrrd") == 0, capsys.readouterr().err
    written = sitk.ReadImage(str(out))
    assert same_geometry(written, target)
    assert dice(sitk.GetArrayFromImage(written), sitk.GetArrayFromImage(truth)) > 0.95
    seg_nrrd = sitk.ReadImage(str(tmp_path / "out.seg.nrrd"))
    assert seg_nrrd.GetSize() == target.GetSize()


def test_1_slice_reference_and_png_target(hc18, tmp_path, capsys):
    volume_copy(hc18, "001.png", tmp_path / "reference.nrrd", "j")
    volume_copy(hc18, "001_mask.png", tmp_path / "reference_mask.nrrd", "j")
    out = tmp_path / "out.nii.gz"
    assert segment(hc18, tmp_path / "reference.nrrd", tmp_path / "reference_mask.nrrd", hc18 / "001.png", out) == 0, capsys.readouterr().err
    written = sitk.ReadImage(str(out))
    assert written.GetDimension() == 2 and written.GetSize() == (400, 270)
    truth = sitk.GetArrayFromImage(sitk.ReadImage(str(hc18 / "001_mask.png")))
    assert dice(sitk.GetArrayFromImage(written), truth) > 0.95


def test_a_picture_and_a_1_slice_reference_together_need_a_pixel_size_for_the_picture_only(hc18, tmp_path, capsys):
    """--reference-spacing per picture reference: the 1-slice volume has its own (before, it needed one too,
    and any value but its header's exact one was refused). The 1-slice reference is the picture mirrored: the picture's
    own 1-slice copy is the same reference, refused as a copy."""
    for name in ("001.png", "001_mask.png"):
        write_picture(np.fliplr(sitk.GetArrayFromImage(sitk.ReadImage(str(hc18 / name)))), tmp_path / f"mirrored_{name}")
    volume_copy(tmp_path, "mirrored_001.png", tmp_path / "reference.nrrd", "j")
    volume_copy(tmp_path, "mirrored_001_mask.png", tmp_path / "reference_mask.nrrd", "j")
    out = tmp_path / "out.nii.gz"
    spacing = str(hc18_spacing("001"))
    assert main(["segment", "--reference", str(hc18 / "001.png"), "--reference-labels", str(hc18 / "001_mask.png"),
                 "--reference", str(tmp_path / "reference.nrrd"), "--reference-labels", str(tmp_path / "reference_mask.nrrd"),
                 "--reference-spacing", spacing, "--target", str(hc18 / "target.png"), "--target-spacing", spacing,
                 "--out", str(out), "--no-deformable"]) == 0, capsys.readouterr().err
    assert json.loads(out.with_name("out.result.json").read_text())["inputs"]["reference_spacing"] == [float(spacing), None]


def test_evaluate_scores_1_slice_cases_exactly_like_their_pictures(hc18, shared_data, tmp_path, capsys):
    write_picture(hc18_picture(shared_data, "002"), tmp_path / "002.png")
    write_picture(hc18_picture(shared_data, "002", mask=True), tmp_path / "002_mask.png")
    volume_copy(hc18, "001.png", tmp_path / "target.nrrd", "k", np.diag([-1.0, -1.0, 1.0]))  # NIfTI: float32 spacing
    volume_copy(hc18, "001_mask.png", tmp_path / "truth.nrrd", "k", np.diag([-1.0, -1.0, 1.0]))
    reference = f"002.png,002_mask.png,{hc18_spacing('002')}"
    (tmp_path / "cases.csv").write_text(
        "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
        f"{reference},target.nrrd,truth.nrrd,\n"
        f"{reference},{hc18 / '001.png'},{hc18 / '001_mask.png'},{hc18_spacing('001')}\n"
    )
    code = main(["evaluate", str(tmp_path / "cases.csv"), "--no-deformable", "--json", str(tmp_path / "scores.json")])
    assert code == 0, capsys.readouterr().err
    volume_case, picture_case = json.loads((tmp_path / "scores.json").read_text())["cases"]
    assert volume_case["status"] == picture_case["status"] == "ok"
    assert volume_case["structures"] == picture_case["structures"]


def test_sam2_gives_the_same_mask_for_a_picture_and_its_oblique_1_slice_copy(hc18, tmp_path, tiny_sam2, capsys):
    target = volume_copy(hc18, "001.png", tmp_path / "target.nrrd", "i", rotation((1, 2, 3), 27))
    options = ["--engine", "sam2-memory", "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu"]
    reference, labels = hc18 / "001.png", hc18 / "001_mask.png"
    assert segment(hc18, reference, labels, hc18 / "target.png", tmp_path / "picture.nii.gz", *options) == 0, capsys.readouterr().err
    assert segment(hc18, reference, labels, tmp_path / "target.nrrd", tmp_path / "volume.nrrd", *options) == 0, capsys.readouterr().err
    on_volume = sitk.ReadImage(str(tmp_path / "volume.nrrd"))
    assert same_geometry(on_volume, target)
    from_picture = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "picture.nii.gz")))
    assert from_picture.any() and np.array_equal(sitk.GetArrayFromImage(on_volume)[:, :, 0], from_picture)


def test_vlm_sees_and_answers_the_same_for_a_picture_and_its_1_slice_copy(hc18, tmp_path, capsys):
    from chat_server import ChatServer

    target = volume_copy(hc18, "001.png", tmp_path / "target.nrrd", "j", rotation((3, 1, 2), 40))
    answer = json.dumps([{"label": "label_1", "present": True, "bbox_2d": [120, 80, 300, 220]}])
    reference, labels = hc18 / "001.png", hc18 / "001_mask.png"
    with ChatServer(lambda body: answer) as server:
        options = ["--engine", "vlm-box", "--vlm-server", server.url, "--vlm-model", "Qwen/Qwen2.5-VL-7B-Instruct"]
        assert segment(hc18, reference, labels, hc18 / "target.png", tmp_path / "picture.nii.gz", *options) == 0, capsys.readouterr().err
        assert segment(hc18, reference, labels, tmp_path / "target.nrrd", tmp_path / "volume.nrrd", *options) == 0, capsys.readouterr().err
    picture_request, volume_request = (request["body"]["messages"] for request in server.requests)
    assert picture_request == volume_request  # the same rendered pictures and text
    on_volume = sitk.ReadImage(str(tmp_path / "volume.nrrd"))
    assert same_geometry(on_volume, target)
    from_picture = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "picture.nii.gz")))
    assert from_picture.any() and np.array_equal(sitk.GetArrayFromImage(on_volume)[:, 0, :], from_picture)


def test_a_target_stored_along_j_keeps_its_own_voxel_indices_in_results_and_corrections(hc18, tmp_path, capsys):
    """A 1-slice volume stored along j (size n x 1 x m): boxes read and clicks are given as i,0,k, the file's own."""
    import json

    target = volume_copy(hc18, "001.png", tmp_path / "target.nii.gz", "j")
    assert target.GetSize()[1] == 1
    out = tmp_path / "out.nii.gz"
    assert segment(hc18, hc18 / "001.png", hc18 / "001_mask.png", tmp_path / "target.nii.gz", out) == 0, capsys.readouterr().err
    box = json.loads((tmp_path / "out.result.json").read_text())["structures"][0]["box"]
    assert box["lower_ijk"][1] == 0 and box["upper_ijk"][1] == 1 and box["upper_ijk"][2] > 1
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))  # (k, j, i)
    k, i = (box["lower_ijk"][2] + box["upper_ijk"][2]) // 2, (box["lower_ijk"][0] + box["upper_ijk"][0]) // 2
    assert written[k, 0, i]  # the box centre, in the file's indices, lies in the structure
    corrected = {}
    for name, point in (("file", f"{i},0,{k}"), ("plane", f"{i},{k}")):
        assert main(["correct", str(tmp_path / "out.result.json"), "--structure", "label_1", "--outside", point,
                     "--out", str(tmp_path / f"{name}.nii.gz")]) == 0, capsys.readouterr().err
        corrected[name] = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / f"{name}.nii.gz")))
    assert not corrected["file"][k, 0, i] and np.array_equal(corrected["file"], corrected["plane"])
    assert main(["correct", str(tmp_path / "out.result.json"), "--structure", "label_1", "--box", f"{i - 30},0,{k - 30},{i + 30},0,{k + 30}",
                 "--out", str(tmp_path / "boxed.nii.gz")]) == 0, capsys.readouterr().err
    boxed = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "boxed.nii.gz")))
    assert boxed[k, 0, i] and not boxed[: k - 30].any() and not boxed[:, :, i + 31 :].any()
    size = target.GetSize()  # points and boxes outside are refused in the file's own indices (before: "(i, k, 1) ... 0..0 along k")
    for option, value in (("--inside", f"{i},1,{k}"), ("--inside", f"{i},0,{size[2]}"), ("--box", f"{size[0]},0,0,{size[0] + 9},0,9")):
        code = main(["correct", str(tmp_path / "out.result.json"), "--structure", "label_1", option, value, "--out", str(tmp_path / "no.nii.gz")])
        ranges = f"voxels 0..{size[0] - 1}, 0..0, 0..{size[2] - 1} along i, j, k"
        assert code == 2 and f"{option} '{value}': outside the target ({ranges})" in capsys.readouterr().err
