"""``rau segment --engine vessels`` refuses a picture too small or too elongated to show a coronary tree, and takes any
real angiogram."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as Picture

from rau.cli import main
from rau.vessels.grid import MIN_SIDE_PIXELS


@pytest.fixture
def arcade(shared_data):
    return shared_data / "arcade_syntax_dev"


def segment(arcade, out, target, reference="arcade_train_350_img.png", labels="arcade_train_350_lab.png"):
    """``rau segment --engine vessels`` of ``target`` from one reference (``reference`` and ``labels``: names in the
    dev set, or paths)."""
    return main(["segment", "--engine", "vessels", "--reference", str(arcade / reference), "--reference-labels", str(arcade / labels),
                 "--label-table", str(arcade / "labels.csv"), "--target", str(target), "--out", str(out)])


def saved(array: np.ndarray, path):
    Picture.fromarray(array).save(path)
    return path


CROPS = {"3 x 3": lambda film: film[200:203, 200:203], "5 x 5": lambda film: film[200:205, 200:205],
         "512 x 3": lambda film: film[:3], "63 x 512": lambda film: film[:, :63]}
"""Crops of a 512 px angiogram by their size (columns x rows)."""


@pytest.mark.parametrize("size", CROPS)
def test_a_crop_of_an_angiogram_too_small_to_show_a_coronary_tree_is_refused_naming_the_target(arcade, tmp_path, capsys, size):
    """Before, a 3 x 3 px crop of background was enlarged to the 512 px working grid and segments were "found" with
    confidence 0.97-1.00 (exit 0); a 3 x 512 strip was taken too."""
    film = np.asarray(Picture.open(arcade / "arcade_train_858_img.png"))
    target = saved(np.ascontiguousarray(CROPS[size](film)), tmp_path / "crop.png")
    before = target.read_bytes()
    assert segment(arcade, tmp_path / "out" / "t.png", target) == 2
    said = capsys.readouterr().err
    assert f"the target 'crop.png' is {size} pixels, too small to show a coronary tree: the vessels engine needs at least " \
           f"{MIN_SIDE_PIXELS} pixels along each side, and its shorter side at least 1/8 of its longer" in said, said
    assert not (tmp_path / "out").exists() and target.read_bytes() == before


@pytest.mark.parametrize("size", [(1024, 120), (2000, 200)])
def test_an_angiogram_too_elongated_to_show_a_coronary_tree_is_refused_as_too_elongated_not_too_small(arcade, tmp_path, capsys, size):
    """Before, a 2000 x 200 px strip (400 000 pixels, 200 px high) was called "too small"; it is refused because its
    shorter side is under 1/8 of its longer (on its 512 px wide working grid it is 51 px high)."""
    film = Picture.open(arcade / "arcade_train_858_img.png")
    target = saved(np.asarray(film.resize(size, Picture.BILINEAR)), tmp_path / "strip.png")
    assert segment(arcade, tmp_path / "out" / "t.png", target) == 2
    said = capsys.readouterr().err
    assert f"the target 'strip.png' is {size[0]} x {size[1]} pixels, too elongated to show a coronary tree: the vessels " \
           f"engine needs at least {MIN_SIDE_PIXELS} pixels along each side, and its shorter side at least 1/8 of its longer" in said, said
    assert "too small" not in said
    assert not (tmp_path / "out").exists()


def test_a_reference_too_small_to_show_a_coronary_tree_is_refused_naming_it(arcade, tmp_path, capsys):
    film = np.asarray(Picture.open(arcade / "arcade_train_350_img.png"))
    labels = np.asarray(Picture.open(arcade / "arcade_train_350_lab.png"))
    rows, cols = np.nonzero(labels)
    row, col = rows[len(rows) // 2], cols[len(cols) // 2]  # a labelled pixel, so the crop has labels
    image = saved(film[row - 20:row + 20, col - 20:col + 20].copy(), tmp_path / "ref.png")
    label_map = saved(labels[row - 20:row + 20, col - 20:col + 20].copy(), tmp_path / "ref_lab.png")
    assert segment(arcade, tmp_path / "out" / "t.png", arcade / "arcade_train_858_img.png", image, label_map) == 2
    assert "reference 'ref.png' is 40 x 40 pixels, too small to show a coronary tree" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_angiogram_downsampled_to_128_or_to_the_fewest_pixels_taken_is_segmented(arcade, tmp_path, capsys):
    film = Picture.open(arcade / "arcade_train_858_img.png")
    for side in (128, MIN_SIDE_PIXELS):
        target = saved(np.asarray(film.resize((side, side), Picture.BILINEAR)), tmp_path / f"{side}.png")
        assert segment(arcade, tmp_path / f"out{side}" / "t.png", target) == 0
        assert ": found, confidence" in capsys.readouterr().out
        assert np.asarray(Picture.open(tmp_path / f"out{side}" / "t.png")).shape == (side, side)
