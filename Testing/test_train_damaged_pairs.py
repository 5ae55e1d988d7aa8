"""``rau train`` on a pairs folder whose records, card or pictures are damaged: refused naming the file, exit 2, no OUT."""

from __future__ import annotations

import json
import shutil

import pytest

from rau.cli import main
from rau.models.loader import ModelSource
from rau.train.build import build_pairs
from rau.train.pairs import PairOptions
from rau.vlm.local import model_family
from train_data import hc18_manifest

REBUILD = "copy the pairs folder again or rebuild it with `rau train build-pairs`"


@pytest.fixture(scope="module")
def pairs(shared_data, tiny_qwen, tmp_path_factory):
    """Pairs of four HC18 images rendered for the tiny Qwen (so that a run reads them after loading it)."""
    folder = tmp_path_factory.mktemp("pairs")
    family = model_family(ModelSource(str(tiny_qwen)))
    build_pairs(hc18_manifest(shared_data, folder, 4), folder / "pairs", family, PairOptions(references_per_target=1), val_fraction=0.5, seed=0)
    return folder / "pairs"


def _refused(data, tiny_qwen, out, capsys) -> str:
    """What ``rau train sft`` says of ``data``, refused with exit 2 and no ``out`` left."""
    assert main(["train", "sft", "--model", str(tiny_qwen), "--data", str(data), "--out", str(out), "--device", "cpu",
                 "--max-steps", "1", "--eval-steps", "0"]) == 2
    assert not out.exists()
    return capsys.readouterr().err


@pytest.mark.parametrize(("split", "field"), [("train", "answer"), ("val", "truth")])
def test_a_record_without_a_field_is_named_with_its_file_and_line(pairs, tiny_qwen, tmp_path, capsys, split, field):
    """Before: a train record without "answer" was an internal error, exit 70 (KeyError: 'answer'), naming no file; a
    held-out one without "truth" failed the final evaluation after the whole run (its metrics lost), exit 0."""
    data = shutil.copytree(pairs, tmp_path / "data")
    lines = (data / f"{split}.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    del record[field]
    damaged = "\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n"
    (data / f"{split}.jsonl").write_text(damaged)
    said = _refused(data, tiny_qwen, tmp_path / "out", capsys)
    assert f'{data / f"{split}.jsonl"}, line 2: the record has no "{field}"; {REBUILD}' in said
    assert (data / f"{split}.jsonl").read_text() == damaged


@pytest.mark.parametrize(("field", "value", "message"), [
    ("images", None, '"images" is null, not a non-empty list of file names'),
    ("images", [], '"images" is [], not a non-empty list of file names'),
    ("answer", None, '"answer" is null, not a text'),
    ("task", "xyz", '"task" is "xyz", not one of presence, identity, box'),
    ("truth", None, '"truth" is null, not an object'),
    ("truth", {}, '"truth" has no "label" (task identity: its truth holds label)'),
])
def test_a_record_with_a_field_of_the_wrong_form_is_named_with_its_file_line_and_field(pairs, tiny_qwen, tmp_path, capsys, field, value, message):
    """Before: "images": null was an internal error, exit 70 (TypeError: 'NoneType' object is not iterable); a null
    answer or truth, no images or an unknown task were trained on, exit 0."""
    data = shutil.copytree(pairs, tmp_path / "data")
    lines = (data / "train.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    assert record["task"] == "identity"  # the truth case's wording
    record[field] = value
    (data / "train.jsonl").write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    said = _refused(data, tiny_qwen, tmp_path / "out", capsys)
    assert f"{data / 'train.jsonl'}, line 2: the record's {message}; {REBUILD}" in said


@pytest.mark.parametrize(("edit", "message"), [
    (lambda card: card["family"].pop("factor"), 'the card has no "family.factor"'),
    (lambda card: card.pop("family"), 'the card has no "family"'),
    (lambda card: card.update(splits=["train"]), 'the card has no "splits"'),
    (lambda card: card["family"].update(patch=14), 'the card\'s family has a setting RAU does not know ("patch")'),
])
def test_a_card_without_its_family_or_splits_is_named(pairs, tiny_qwen, tmp_path, capsys, edit, message):
    """Before: a card without family.factor was an internal error, exit 70 (TypeError: ModelFamily.__init__() missing 1
    required positional argument: 'factor'), naming no file; one without "splits" a KeyError."""
    data = shutil.copytree(pairs, tmp_path / "data")
    card = json.loads((data / "card.json").read_text())
    edit(card)
    (data / "card.json").write_text(json.dumps(card))
    assert f"{data / 'card.json'}: {message}; {REBUILD}" in _refused(data, tiny_qwen, tmp_path / "out", capsys)


def test_a_cut_off_picture_is_said_to_be_unreadable(pairs, tiny_qwen, tmp_path, capsys):
    """Before: "... a picture of the pairs dataset DATA is cannot read it: image file is truncated ..."."""
    data = shutil.copytree(pairs, tmp_path / "data")
    picture = data / json.loads((data / "train.jsonl").read_text().splitlines()[0])["images"][0]
    picture.write_bytes(picture.read_bytes()[: picture.stat().st_size // 2])
    said = _refused(data, tiny_qwen, tmp_path / "out", capsys)
    assert f"{picture}: a picture of the pairs dataset {data} is unreadable (image file is truncated" in said


def test_a_refused_run_leaves_none_of_the_folders_made_for_its_out(tiny_qwen, tmp_path, capsys):
    """Before: with ``--out a/b/ad``, the write check made a/b/ad, and a refusal after it removed only ad."""
    (tmp_path / "data").mkdir()
    said = _refused(tmp_path / "data", tiny_qwen, tmp_path / "a" / "b" / "ad", capsys)
    assert f"--data {tmp_path / 'data'} is not a pairs dataset (no card.json)" in said
    assert [path.name for path in tmp_path.iterdir()] == ["data"]
