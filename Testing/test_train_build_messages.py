"""What `rau train build-pairs` says when its subjects cannot give questions, or --val-fraction cannot split them."""

from __future__ import annotations

import pytest

from rau.cli import main
from train_data import hc18_manifest


def test_a_split_whose_subjects_share_no_structure_name_says_so_not_min_pixels(shared_data, tmp_path, capsys):
    """Before: "its subjects share no structure with a cross-section of at least 1 pixels (--min-pixels); add subjects,
    lower --min-pixels ...", though no pixel count would give a question."""
    manifest = hc18_manifest(shared_data, tmp_path, 2)
    (tmp_path / "skull.labels.csv").write_text("value,name\n255,skull\n")
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([*lines[:2], lines[2].replace("hc18.labels.csv", "skull.labels.csv")]) + "\n")
    code = main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--family", "qwen2.5-vl",
                 "--val-fraction", "0", "--min-pixels", "1"])
    error = capsys.readouterr().err
    assert code == 2
    assert "no two of its subjects label a structure of the same name" in error
    assert "--min-pixels" not in error
    assert not (tmp_path / "pairs").exists()


def test_val_fraction_is_checked_with_the_arguments_naming_the_option(tmp_path, capsys):
    """Before: "--val-fraction (val_fraction) must be in [0, 1), got 1.0", and only once the manifest was read."""
    for given in ("1", "-0.1", "nan", "half"):
        with pytest.raises(SystemExit) as stop:
            main(["train", "build-pairs", "--data", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "pairs"),
                  "--family", "qwen2.5-vl", "--val-fraction", given])
        assert stop.value.code == 2
        error = capsys.readouterr().err
        assert "--val-fraction" in error and "(val_fraction)" not in error and given in error
        assert "nowhere.csv" not in error  # refused before the manifest is looked at


def test_too_few_subjects_for_the_val_fraction_suggest_a_smaller_one(shared_data, tmp_path, capsys):
    """Before: "use --val-fraction 0 or more subjects", though a smaller fraction works too."""
    manifest = hc18_manifest(shared_data, tmp_path, 4)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--family", "qwen2.5-vl",
                 "--val-fraction", "0.9"]) == 2
    assert "a smaller --val-fraction" in capsys.readouterr().err


def test_three_subjects_are_not_told_a_smaller_val_fraction(shared_data, tmp_path, capsys):
    """Before: 3 subjects were told "use a smaller --val-fraction", though any fraction above 0 holds out 2 of them."""
    manifest = hc18_manifest(shared_data, tmp_path, 3)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--family", "qwen2.5-vl",
                 "--val-fraction", "0.1"]) == 2
    error = capsys.readouterr().err
    assert "smaller --val-fraction" not in error and "--val-fraction 0 (no validation) or at least 4 subjects" in error, error
    assert not (tmp_path / "pairs").exists()
