"""benchmarks/make_jsrt_chest_xray_set.py, the chest X-ray dev set builder, on small made-up films and masks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import REPO
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import load_case

SCR_FOLDERS = ("heart", "left_lung", "right_lung", "left_clavicle", "right_clavicle")


def _films_and_masks(root, count=40):
    """``count`` 224 px films, and 1024 px SCR-style masks: the image's left half is its ``left_lung``."""
    images, masks = root / "images", root / "masks"
    images.mkdir()
    for folder in SCR_FOLDERS:
        (masks / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for number in range(count):
        name = f"JPCLN{number:03d}"
        Image.fromarray(rng.integers(0, 255, (224, 224), dtype=np.uint8)).save(images / f"{name}.png")
        for folder in SCR_FOLDERS:
            mask = np.zeros((1024, 1024), np.uint8)
            if folder == "left_lung":
                mask[200:800, 100:450] = 255
            if folder == "right_lung":
                mask[200:800, 574:924] = 255
            Image.fromarray(mask).save(masks / folder / f"{name}.png")
    return images, masks


def test_builds_manifests_with_patient_sides(tmp_path):
    images, masks = _films_and_masks(tmp_path)
    out = tmp_path / "set"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_jsrt_chest_xray_set.py"), str(images), str(masks), str(out)], check=True, capture_output=True)

    for manifest, size, spacing in (("manifest.csv", 224, 0.175 * 2048 / 224), ("manifest1024.csv", 1024, 0.35)):
        cases = read_manifest(out / manifest)
        assert len(cases) == 20
        assert len({case.target_image.name for case in cases} | {case.references[0].image.name for case in cases}) == 40
        references, target, truth = load_case(cases[0])
        assert target.ndim == 2 and target.shape[-2:] == (size, size)
        assert np.allclose(target.spacing[:2], spacing, atol=1e-6)
        right_lung = truth.masks["right lung"]
        # the patient's right lung lies on the image's left (SCR's "left_lung" folder)
        assert right_lung[..., size // 2, : size // 2].any() and not right_lung[..., size // 2, size // 2 :].any()
        assert not truth.masks["heart"].any()
        multi = read_manifest(out / manifest.replace(".csv", "_multi.csv"))
        assert [case.target_image for case in multi] == [case.target_image for case in cases]
        assert all(sorted(entry.image for entry in case.references) == sorted(c.references[0].image for c in cases) for case in multi)


def test_too_few_films_is_an_error(tmp_path):
    images, masks = _films_and_masks(tmp_path, count=3)
    finished = subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_jsrt_chest_xray_set.py"), str(images), str(masks), str(tmp_path / "set")], capture_output=True, text=True)
    assert finished.returncode != 0
    assert str(images) in finished.stderr and "40 or more" in finished.stderr
    assert not (tmp_path / "set").exists()


def test_a_missing_mask_is_an_error_before_anything_is_written(tmp_path):
    images, masks = _films_and_masks(tmp_path)
    (masks / "heart" / "JPCLN007.png").unlink()  # 40 films: every one is drawn into the pairs
    finished = subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_jsrt_chest_xray_set.py"), str(images), str(masks), str(tmp_path / "set")], capture_output=True, text=True)
    assert finished.returncode != 0
    assert f"{masks / 'heart' / 'JPCLN007.png'}: missing SCR mask" in finished.stderr
    assert not (tmp_path / "set").exists()
