"""A copy of a 2D reference saved as a one-slice volume somewhere else in space (another origin, an oblique direction,
another slice thickness) is the same 2D image: an engine sees its pixels and pixel spacing only (README, "2D
images"). It is refused as a repeated reference, by ``rau segment`` (exit 2, naming both, nothing written) and in its
case of ``rau evaluate`` (the case fails naming both; the others are scored)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.cli import main
from test_reference_copy_structures import HC18, SPACING, TARGET_SPACING

ORIGIN = (-40.0, 25.5, 17.25)
OBLIQUE = np.linalg.qr(np.array([[0.9127, -0.3039, 0.2733], [0.3443, 0.9330, -0.1045], [-0.2232, 0.1929, 0.9555]]))[0]
COPIES = {  # a one-slice copy of HC18 000 and its mask: file suffix, direction
    "NRRD at a nonzero origin": (".nrrd", np.eye(3)),
    "NIfTI at a nonzero origin": (".nii.gz", np.eye(3)),
    "oblique NRRD": (".nrrd", OBLIQUE * np.sign(np.diag(OBLIQUE))),
}


def one_slice_copy(folder: Path, copy: str) -> tuple[Path, Path]:
    """HC18 000 and its mask saved in ``folder`` as one-slice volumes (slice thickness 2.5 mm, origin :data:`ORIGIN`)
    as ``copy`` says, the mask's label table beside it: the image and labels files."""
    suffix, direction = COPIES[copy]
    folder.mkdir(exist_ok=True)
    files = []
    for source, name in ((HC18 / "000_HC.png", "cp"), (HC18 / "000_HC_mask.png", "cp_mask")):
        volume = sitk.GetImageFromArray(np.asarray(PILImage.open(source))[np.newaxis])
        volume.SetSpacing((float(SPACING), float(SPACING), 2.5))
        volume.SetOrigin(ORIGIN)
        volume.SetDirection(direction.ravel().tolist())
        sitk.WriteImage(volume, str(folder / f"{name}{suffix}"))
        files.append(folder / f"{name}{suffix}")
    shutil.copy(HC18 / "000_HC_mask.labels.csv", folder / "cp_mask.labels.csv")
    return files[0], files[1]


@pytest.mark.parametrize("copy", COPIES)
def test_segment_refuses_a_placed_one_slice_copy_of_a_picture_reference(tmp_path, capsys, copy):
    """Before: accepted (exit 0), both ranked with the same score, voting twice: the copy's slice thickness (2.5 mm, a
    picture's is 1) made it another image."""
    image, labels = one_slice_copy(tmp_path / "c", copy)
    out = tmp_path / "out" / "seg.nii.gz"
    code = main(["segment", "--reference", str(HC18 / "000_HC.png"), "--reference-labels", str(HC18 / "000_HC_mask.png"),
                 "--reference-spacing", SPACING, "--reference", str(image), "--reference-labels", str(labels),
                 "--target", str(HC18 / "001_HC.png"), "--target-spacing", TARGET_SPACING, "--out", str(out)])
    error = capsys.readouterr().err
    assert code == 2, error
    assert (f"reference {image.name!r} (labels {labels.name!r}) is a copy of '000_HC.png' (labels '000_HC_mask.png') "
            "for 'fetal head': the same image and the same voxels of it; it would vote twice on it") in error, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("copy", ["NRRD at a nonzero origin", "NIfTI at a nonzero origin"])
def test_evaluate_fails_the_case_with_a_placed_one_slice_copy(tmp_path, capsys, copy):
    """Before: every case scored (exit 0), case 002 with the one reference voting twice."""
    image, labels = one_slice_copy(tmp_path, copy)
    for case in ("000", "002", "003"):
        shutil.copy(HC18 / f"{case}_HC.png", tmp_path)
        shutil.copy(HC18 / f"{case}_HC_mask.png", tmp_path)
        shutil.copy(HC18 / f"{case}_HC_mask.labels.csv", tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text("target_image,target_labels,reference_image,reference_labels,target_spacing,reference_spacing\n"
                        f"002_HC.png,002_HC_mask.png,000_HC.png,000_HC_mask.png,0.062032563,{SPACING}\n"
                        f"002_HC.png,002_HC_mask.png,{image.name},{labels.name},0.062032563,\n"
                        f"003_HC.png,003_HC_mask.png,000_HC.png,000_HC_mask.png,0.091291168,{SPACING}\n")
    assert main(["evaluate", str(manifest), "--no-deformable", "--json", str(tmp_path / "r.json")]) == 1
    cases = {case["target"]: case for case in json.loads((tmp_path / "r.json").read_text())["cases"]}
    assert cases["002_HC.png"]["status"] == "error"
    assert cases["002_HC.png"]["error"] == (
        f"{manifest} line 3: reference {image.name!r} (labels {labels.name!r}) is a copy of '000_HC.png' (labels "
        f"'000_HC_mask.png', {manifest} line 2) for 'fetal head': the same image and the same voxels of it; it would vote twice on it")
    assert cases["003_HC.png"]["structures"][0]["status"] == "detected"
    assert f"failed: 002_HC.png: {cases['002_HC.png']['error']}" in capsys.readouterr().err.splitlines()
