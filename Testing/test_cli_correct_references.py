"""``rau correct`` of an engine that runs again on its references (vessels here) refuses a reference changed since the run:
the result records each reference as read (its voxels and geometry, label voxels, and structures' names, values and colours)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rau.cli import main


@pytest.fixture(scope="module")
def vessels_run(shared_data, tmp_path_factory):
    """``rau segment --engine vessels`` on ARCADE 350 -> 858, run once in this module, its reference copied into its
    folder; and a copy of that folder as the run left it."""
    folder, source = tmp_path_factory.mktemp("vessels_run"), shared_data / "arcade_syntax_dev"
    for name in ("arcade_train_350_img.png", "arcade_train_350_lab.png", "arcade_train_350_lab.labels.csv", "arcade_train_858_img.png"):
        shutil.copy(source / name, folder / name)
    assert main(["segment", "--engine", "vessels", "--reference", str(folder / "arcade_train_350_img.png"), "--reference-labels",
                 str(folder / "arcade_train_350_lab.png"), "--reference-spacing", "1", "--target", str(folder / "arcade_train_858_img.png"),
                 "--target-spacing", "1", "--out", str(folder / "out" / "v.png")]) == 0
    return folder, shutil.copytree(folder, tmp_path_factory.mktemp("vessels_run_as_written") / "run")


@pytest.fixture
def vessels_result(vessels_run):
    """The result of :func:`vessels_run`, its folder put back as the run left it (the test replaces its files there: the
    result records them by their paths)."""
    folder, as_written = vessels_run
    shutil.rmtree(folder)
    shutil.copytree(as_written, folder)
    return folder / "out" / "v.result.json"


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
    assert (f"{labels.resolve()}, which the result records as a reference, changed since the run (its label voxels are not those "
            "the run read)") in error, error
    assert "give the original file back, or run rau segment again" in error
    assert sorted(p.name for p in vessels_result.parent.iterdir()) == ["v.labels.csv", "v.png", "v.result.json"]


def test_a_reference_re_saved_with_the_same_pixels_corrects_and_a_result_from_before_the_record_is_not_checked(vessels_result, capsys):
    """Before, the file's bytes were hashed: a label PNG re-saved with identical pixels (another zlib level, as any viewer
    writes it) was refused as 'changed since the run ... give the original file back'."""
    from PIL import Image

    labels = vessels_result.parent.parent / "arcade_train_350_lab.png"
    before, pixels = labels.read_bytes(), np.array(Image.open(labels))
    Image.open(labels).save(labels, compress_level=0)  # the same pixels in other bytes
    assert labels.read_bytes() != before and (np.array(Image.open(labels)) == pixels).all()
    assert correct(vessels_result, vessels_result.parent / "v1.png") == 0, capsys.readouterr().err
    assert json.loads((vessels_result.parent / "v1.result.json").read_text())["inputs"]["references_read"]  # a chain keeps them
    pixels[0, 0] = pixels[pixels > 0][0]  # one voxel more of a structure
    Image.fromarray(pixels).save(labels)
    assert correct(vessels_result, vessels_result.parent / "v2.png") == 2
    assert f"{labels.resolve()}, which the result records as a reference, changed since the run (its label voxels" in capsys.readouterr().err
    saved = json.loads(vessels_result.read_text())
    del saved["inputs"]["references_read"]  # as results written before they were recorded: not checked, as before
    vessels_result.write_text(json.dumps(saved))
    assert correct(vessels_result, vessels_result.parent / "v2.png") == 0, capsys.readouterr().err


def test_a_structure_renamed_in_the_reference_s_label_table_is_refused_naming_it_and_both_names(vessels_result, capsys):
    """Before, rau correct contradicted itself: "no structure 'S5_left_main' in this result; available: Left main, ..." and,
    given that name, "--structure 'Left main' is not in ...; it has: S5_left_main, ..."."""
    table = vessels_result.parent.parent / "arcade_train_350_lab.labels.csv"
    table.write_text(table.read_text().replace("S5_left_main", "Left main"))
    capsys.readouterr()
    assert correct(vessels_result, vessels_result.parent / "v1.png") == 2
    error = capsys.readouterr().err
    labels = vessels_result.parent.parent / "arcade_train_350_lab.png"
    assert (f"{labels.resolve()}, which the result records as a reference, changed since the run ('S5_left_main' is named 'Left main' "
            "there now)") in error, error
    assert sorted(p.name for p in vessels_result.parent.iterdir()) == ["v.labels.csv", "v.png", "v.result.json"]


def test_a_reference_colour_is_compared_as_a_table_holds_it(vessels_result, capsys):
    """A colour re-saved within one 8-bit step (as a Slicer table rounds it) is no change; another colour is said as a
    table writes it ('191,117,38'). Before, exact floats were compared, and said by a second rounding rule."""
    table = vessels_result.parent.parent / "arcade_train_350_lab.labels.csv"
    text = table.read_text()
    table.write_text(text.replace("6,S6_LAD_proximal,0.7500,0.4574,0.1125", "6,S6_LAD_proximal,0.7501,0.4575,0.1126"))
    assert correct(vessels_result, vessels_result.parent / "v1.png") == 0, capsys.readouterr().err
    table.write_text(text.replace("6,S6_LAD_proximal,0.7500,0.4574,0.1125", "6,S6_LAD_proximal,0.7500,0.4574,0.1500"))
    capsys.readouterr()
    assert correct(vessels_result, vessels_result.parent / "v2.png") == 2
    assert "'S6_LAD_proximal' is coloured 191,117,38 there now, not 191,117,29" in capsys.readouterr().err
