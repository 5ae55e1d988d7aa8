"""benchmarks/make_chest_film_set.py: chest films projected from slicerio's chest CT, clean and --hard; the same
bytes on every run, manifests rau reads with 2 mm pixels, bad arguments refused and nothing left by a failed write."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, script_environment
from refused_scripts import refused
from rau.evaluation.manifest import read_manifest
from rau.io import read_image, read_segmentation

SCRIPT = REPO / "benchmarks" / "make_chest_film_set.py"
NAMES = ["body", "right lung", "left lung", "lumbar spine", "cervical spine", "thoracic spine"]


def build(out, *options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *options], capture_output=True, text=True, timeout=300,
                          env=script_environment())


def contents(folder) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def pixels(folder, name: str) -> np.ndarray:
    return np.asarray(Image.open(folder / name))


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Three films built clean twice and with --hard once."""
    folder = tmp_path_factory.mktemp("films")
    for name, options in (("clean", ()), ("again", ()), ("hard", ("--hard",))):
        run = build(folder / name, "--films", "3", *options)
        assert run.returncode == 0, run.stderr
    return folder


def test_the_films_label_every_structure_and_the_manifests_read_with_2_mm_pixels(sets):
    clean = sets / "clean"
    assert sorted(contents(clean)) == sorted(["labels.csv", "manifest.csv", "manifest_back.csv",
                                              *(f"{kind}/P{i}.png" for kind in ("images", "labels") for i in range(3))])
    for name in ("manifest.csv", "manifest_back.csv"):
        cases = read_manifest(clean / name)
        step = 1 if name == "manifest.csv" else -1
        assert [(case.references[0].image.name, case.target_image.name) for case in cases] == [(f"P{(t - step) % 3}.png", f"P{t}.png") for t in range(3)]
        for case in cases:
            assert case.target_spacing == case.references[0].spacing == 2.0
            picture = read_image(case.target_image, case.target_spacing)
            truth = read_segmentation(case.target_labels, label_table=case.label_table, pixel_spacing=case.target_spacing)
            assert picture.array.dtype == np.uint8 and picture.spacing[:2] == (2.0, 2.0) and picture.shape == (1, 170, 195) and truth.geometry.same_grid(picture)
            assert truth.labels.names == NAMES and [structure.name for structure in truth.present()] == NAMES


def test_a_second_run_writes_the_same_bytes(sets):
    assert contents(sets / "again") == contents(sets / "clean")


def test_hard_films_are_cropped_recontrasted_marked_and_bordered_but_p0(sets):
    clean, hard = sets / "clean", sets / "hard"
    for kind in ("images", "labels"):
        assert (hard / kind / "P0.png").read_bytes() == (clean / kind / "P0.png").read_bytes()
    for i in (1, 2):
        film, labels, whole = pixels(hard, f"images/P{i}.png"), pixels(hard, f"labels/P{i}.png"), pixels(clean, f"images/P{i}.png")
        assert film.shape == labels.shape and all(whole.shape[a] - 60 <= film.shape[a] <= whole.shape[a] for a in (0, 1))
        border = np.ones(film.shape, bool)
        border[6:-6, 6:-6] = False
        assert not film[border].any() and not labels[border].any()
        assert (film[10:22, 10:22] == 255).all() and set(np.unique(labels)) == set(range(7))
    assert contents(hard)["manifest.csv"] == contents(clean)["manifest.csv"]


@pytest.mark.parametrize("options, said", [(["--films", "1"], "argument --films: must be from 2 to 100, got '1'"),
                                           (["--films", "six"], "argument --films: must be a whole number, got 'six'"),
                                           (["--hard=yes"], "argument --hard: ignored explicit argument 'yes'")])
def test_bad_arguments_are_refused_with_one_line_before_anything_is_made(tmp_path, monkeypatch, capsys, options, said):
    run = refused(monkeypatch, capsys, SCRIPT.stem, tmp_path / "out", *options)
    assert run.returncode == 2 and "Traceback" not in run.stderr and said in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_a_write_that_fails_leaves_nothing(tmp_path):
    """The label table's name taken by a folder: no film, manifest or folder of the set is left."""
    (tmp_path / "out" / "labels.csv").mkdir(parents=True)
    run = build(tmp_path / "out", "--films", "2")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.strip() == f"error: could not write {tmp_path / 'out' / 'labels.csv'}: a folder of that name is in the way; nothing written"
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["labels.csv"]
