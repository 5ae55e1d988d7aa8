"""``rau correct`` of an engine that runs again on its references (vessels here) refuses a reference changed since the run:
the result records each reference file's SHA-256."""

from __future__ import annotations

import json
import shutil

import pytest

from rau.cli import main


@pytest.fixture
def vessels_result(shared_data, tmp_path):
    """``rau segment --engine vessels`` on ARCADE 350 -> 858, its reference copied to ``tmp_path`` (its files replaced there)."""
    folder = shared_data / "arcade_syntax_dev"
    for name in ("arcade_train_350_img.png", "arcade_train_350_lab.png", "arcade_train_350_lab.labels.csv", "arcade_train_858_img.png"):
        shutil.copy(folder / name, tmp_path / name)
    assert main(["segment", "--engine", "vessels", "--reference", str(tmp_path / "arcade_train_350_img.png"), "--reference-labels",
                 str(tmp_path / "arcade_train_350_lab.png"), "--reference-spacing", "1", "--target", str(tmp_path / "arcade_train_858_img.png"),
                 "--target-spacing", "1", "--out", str(tmp_path / "out" / "v.png")]) == 0
    return tmp_path / "out" / "v.result.json"


def correct(result, out):
    return main(["correct", str(result), "--structure", "S6_LAD_proximal", "--inside", "108,117", "--out", str(out)])


def test_a_reference_label_map_replaced_since_the_run_is_refused_naming_it_and_nothing_is_written(vessels_result, shared_data, capsys):
    """Before, the engine ran again on the new labels: 'no structure 'S6_LAD_proximal' in this result; available: ...' (the
    new reference's structures), and a structure both hold was corrected against the changed reference without a word."""
    labels = vessels_result.parent.parent / "arcade_train_350_lab.png"
    shutil.copy(shared_data / "arcade_syntax_dev" / "arcade_train_115_lab.png", labels)  # another frame's annotation
    capsys.readouterr()
    assert correct(vessels_result, vessels_result.parent / "v1.png") == 2
    error = capsys.readouterr().err
    assert f"{labels.resolve()}, which the result records as a reference, changed since the run" in error, error
    assert "give the original file back, or run rau segment again" in error
    assert sorted(p.name for p in vessels_result.parent.iterdir()) == ["v.labels.csv", "v.png", "v.result.json"]


def test_an_unchanged_reference_corrects_and_a_result_from_before_the_digests_is_not_checked(vessels_result, capsys):
    from PIL import Image

    assert correct(vessels_result, vessels_result.parent / "v1.png") == 0, capsys.readouterr().err
    assert json.loads((vessels_result.parent / "v1.result.json").read_text())["inputs"]["reference_sha256"]  # a chain keeps them
    labels = vessels_result.parent.parent / "arcade_train_350_lab.png"
    before = labels.read_bytes()
    Image.open(labels).save(labels, compress_level=0)  # the same pixels in other bytes
    assert labels.read_bytes() != before
    assert correct(vessels_result, vessels_result.parent / "v2.png") == 2
    saved = json.loads(vessels_result.read_text())
    del saved["inputs"]["reference_sha256"]  # as results written before they were recorded: not checked, as before
    vessels_result.write_text(json.dumps(saved))
    assert correct(vessels_result, vessels_result.parent / "v2.png") == 0, capsys.readouterr().err


def test_a_folder_reference_s_digest_follows_each_file_in_it(tmp_path):
    """A DICOM series is a folder: its digest changes when any file in it does, and with a file's name."""
    from rau.io.run_outputs import input_digest

    series = tmp_path / "series"
    (series / "sub").mkdir(parents=True)
    (series / "a.dcm").write_bytes(b"slice a")
    (series / "sub" / "b.dcm").write_bytes(b"slice b")
    before = input_digest(series)
    assert input_digest(series) == before
    (series / "sub" / "b.dcm").write_bytes(b"slice B")
    changed = input_digest(series)
    (series / "sub" / "b.dcm").write_bytes(b"slice b")
    (series / "a.dcm").rename(series / "c.dcm")
    assert len({before, changed, input_digest(series)}) == 3
