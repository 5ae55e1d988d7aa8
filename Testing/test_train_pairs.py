"""Training pairs from real data: subject-disjoint splits, answers from the truth, pictures as inference draws them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from rau.engines.base import Progress, Reference, Request
from rau.errors import InputError
from rau.io import read_image, read_segmentation
from rau.train.build import build_pairs
from rau.train.dataset import read_records
from rau.train.pairs import PairOptions
from rau.train.slices import SliceStack
from rau.train.sources import read_subjects
from rau.vlm.answers import parse_localization
from rau.vlm.backend import Backend, Reply
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.localizer import VLMLocalizer
from train_data import ct_manifest, hc18_manifest


@pytest.fixture(scope="module")
def hc18_pairs(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hc18")
    manifest = hc18_manifest(shared_data, folder, 8)
    card = build_pairs(manifest, folder / "pairs", QWEN2_5_VL, PairOptions(references_per_target=1), val_fraction=0.25, seed=3)
    return manifest, folder / "pairs", card


SMALL = PairOptions(references_per_target=1)


@pytest.fixture(scope="module")
def small_pairs(shared_data, tmp_path_factory):
    """Pairs of two HC18 pictures (:data:`SMALL`), about a second to build: for the tests of where pairs are written and
    replaced, whatever they hold."""
    folder = tmp_path_factory.mktemp("small")
    manifest = hc18_manifest(shared_data, folder, 2)
    build_pairs(manifest, folder / "pairs", QWEN2_5_VL, SMALL, val_fraction=0, seed=1)
    return manifest, folder / "pairs"


@pytest.fixture(scope="module")
def ct_pairs(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ct")
    manifest = ct_manifest(shared_data, folder)
    options = PairOptions(slices_per_pair=3, questions_per_pair=6)
    card = build_pairs(manifest, folder / "pairs", QWEN2_5_VL, options, val_fraction=0, seed=1)
    return manifest, folder / "pairs", card


def test_validation_subjects_never_appear_in_training(hc18_pairs):
    _, pairs, card = hc18_pairs
    train, val = (read_records(pairs, split) for split in ("train", "val"))
    train_subjects = {r[k] for r in train for k in ("reference_subject", "target_subject")}
    val_subjects = {r[k] for r in val for k in ("reference_subject", "target_subject")}
    assert len(val_subjects) == 2 and len(train_subjects) == 6
    assert not train_subjects & val_subjects
    assert all(r["reference_subject"] != r["target_subject"] for r in train + val)
    assert card["splits"]["val"]["tasks"] == {"box": 2, "identity": 2}


def test_box_answers_are_the_target_truth_in_model_pixels(hc18_pairs):
    manifest, pairs, _ = hc18_pairs
    subjects = {s.name: s for s in read_subjects(manifest)}
    for record in read_records(pairs, "train"):
        if record["task"] != "box":
            continue
        mask = np.asarray(PILImage.open(subjects[record["target_subject"]].labels)) > 0
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        truth = QWEN2_5_VL.to_model((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1), (mask.shape[1], mask.shape[0]))
        answer = parse_localization(record["answer"], ["fetal_head"], record["bounds"])["fetal_head"]
        assert answer.present and not answer.issues
        assert list(answer.box) == truth == record["truth"]["boxes"]["fetal_head"]


class Recorder(Backend):
    """A backend that keeps the conversation it is asked and answers nothing useful."""

    family = QWEN2_5_VL

    def generate(self, messages, max_new_tokens):
        self.messages = messages
        return Reply("[]")


def test_pictures_and_prompt_are_what_inference_sends(hc18_pairs):
    manifest, pairs, _ = hc18_pairs
    subjects = {s.name: s for s in read_subjects(manifest)}
    record = next(r for r in read_records(pairs, "train") if r["task"] == "box")
    reference, target = subjects[record["reference_subject"]], subjects[record["target_subject"]]
    image = read_image(reference.image, reference.pixel_spacing)
    labels = read_segmentation(reference.labels, geometry=image, label_table=reference.label_table, pixel_spacing=reference.pixel_spacing)
    request = Request([Reference(image, labels)], read_image(target.image, target.pixel_spacing))
    backend = Recorder()
    VLMLocalizer(backend).localize(request, Progress())
    sent = [part for message in backend.messages for part in message["content"]]
    stored = [part for message in record["prompt"] for part in message["content"]]
    assert [p.get("text") for p in sent] == [p.get("text") for p in stored]
    pictures = [np.asarray(p["image"]) for p in sent if p["type"] == "image"]
    for picture, path in zip(pictures, record["images"], strict=True):
        assert np.array_equal(picture, np.asarray(PILImage.open(pairs / path)))


def test_ct_slices_are_matched_and_presence_is_balanced_and_true(ct_pairs):
    manifest, pairs, card = ct_pairs
    records = read_records(pairs, "train")
    stacks = {s.name: SliceStack.build(s.name, *s.load()) for s in read_subjects(manifest)}
    presence = [r for r in records if r["task"] == "presence"]
    assert presence and sum(r["truth"]["present"] for r in presence) * 2 == len(presence)
    for record in presence:
        _, target = stacks[record["target_subject"]].cut(record["target_slice"])
        assert bool(target.mask(record["truth"]["label"]).any()) == record["truth"]["present"]
    for record in records:  # matched slices share anatomy: most reference structures are in the target slice
        _, target = stacks[record["target_subject"]].cut(record["target_slice"])
        shared = [n for n in record["legend"] if target.labels.names.count(n) and target.mask(n).any()]
        assert len(shared) >= len(record["legend"]) / 2
    assert set(card["splits"]["train"]["tasks"]) == {"presence", "identity", "box"}
    assert card["splits"]["train"]["structures"]["liver"]["box"] > 0


def test_same_seed_same_pairs(ct_pairs, tmp_path):
    manifest, pairs, _ = ct_pairs
    options = PairOptions(slices_per_pair=3, questions_per_pair=6)
    build_pairs(manifest, tmp_path / "again", QWEN2_5_VL, options, val_fraction=0, seed=1)
    assert (tmp_path / "again" / "train.jsonl").read_text() == (pairs / "train.jsonl").read_text()
    with pytest.raises(InputError, match="is not empty; pass --overwrite"):  # before: FileExistsError, an internal error
        build_pairs(manifest, tmp_path / "again", QWEN2_5_VL, options, val_fraction=0, seed=1)


def test_pairs_are_written_into_the_current_folder_given_as_dot(small_pairs, tmp_path, monkeypatch):
    """Before: --out . failed ("could not write .: . is no longer empty": the temporary folder was made inside it), and
    with --overwrite was an internal error (PosixPath('.') has an empty name)."""
    manifest, pairs = small_pairs
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    for overwrite in (False, True):
        build_pairs(manifest, Path("."), QWEN2_5_VL, SMALL, val_fraction=0, seed=1, overwrite=overwrite)
        assert (tmp_path / "here" / "train.jsonl").read_text() == (pairs / "train.jsonl").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["here"]


def test_pairs_built_from_two_working_folders_are_byte_identical_and_name_their_source(shared_data, tmp_path, monkeypatch):
    """Before: card.json and README.md recorded the dataset as typed (hc18.csv, or data/hc18.csv one folder up), so the same
    pairs differed, and where they came from could not be found from elsewhere; now its absolute path."""
    (tmp_path / "data").mkdir()
    manifest = hc18_manifest(shared_data, tmp_path / "data", 3)
    for folder, given in ((tmp_path / "data", "hc18.csv"), (tmp_path, "data/hc18.csv")):
        monkeypatch.chdir(folder)
        build_pairs(given, tmp_path / folder.name / "pairs", QWEN2_5_VL, PairOptions(references_per_target=1), val_fraction=0)
    outs = (tmp_path / "data" / "pairs", tmp_path / tmp_path.name / "pairs")
    built = [{path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()} for out in outs]
    assert built[0] == built[1]
    assert json.loads(built[0][Path("card.json")])["settings"]["source"] == str(manifest.resolve())


def test_a_failed_rebuild_leaves_the_earlier_pairs_as_they_were(small_pairs, tmp_path, monkeypatch):
    """Before: --overwrite deleted the earlier pairs first, and a failure left half a folder without its card."""
    import rau.train.dataset

    manifest, pairs = small_pairs
    kept = shutil.copytree(pairs, tmp_path / "pairs")
    before = {path.relative_to(kept): path.read_bytes() for path in kept.rglob("*") if path.is_file()}
    monkeypatch.setattr(rau.train.dataset, "render_target", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(InputError, match="disk full"):
        build_pairs(manifest, kept, QWEN2_5_VL, SMALL, val_fraction=0, seed=1, overwrite=True)
    assert {path.relative_to(kept): path.read_bytes() for path in kept.rglob("*") if path.is_file()} == before
    assert [path.name for path in tmp_path.iterdir()] == ["pairs"]


def test_a_rebuild_neither_is_blocked_by_nor_removes_what_an_earlier_killed_rebuild_set_aside(small_pairs, tmp_path):
    """Before: the earlier pairs were set aside under the fixed name .pairs-replaced, so the one a rebuild killed between
    its two renames left made every later --overwrite fail after all the work ('[Errno 39] Directory not empty'), and an
    empty one was replaced without a word."""
    manifest, pairs = small_pairs
    kept = shutil.copytree(pairs, tmp_path / "pairs")
    leftover = tmp_path / ".pairs-replaced"
    for files in ({"train.jsonl": b"earlier pairs"}, {}):
        shutil.rmtree(leftover, ignore_errors=True)
        leftover.mkdir()
        for name, data in files.items():
            (leftover / name).write_bytes(data)
        build_pairs(manifest, kept, QWEN2_5_VL, SMALL, val_fraction=0, seed=1, overwrite=True)
        assert (kept / "train.jsonl").read_bytes() == (pairs / "train.jsonl").read_bytes()
        assert {path.name: path.read_bytes() for path in leftover.iterdir()} == files
        assert sorted(path.name for path in tmp_path.iterdir()) == [".pairs-replaced", "pairs"]


def test_a_rebuild_into_the_folder_that_holds_its_manifest_is_refused_and_deletes_nothing(ct_pairs, tmp_path):
    """Before: build-pairs --overwrite into a pairs folder holding the manifest (and its label table) replaced the
    folder as a whole, and the inputs were gone."""
    manifest, pairs, _ = ct_pairs
    kept = shutil.copytree(pairs, tmp_path / "pairs")
    shutil.copy(manifest, kept / "manifest.csv")
    shutil.copy(manifest.parent / "total.labels.csv", kept)  # the label table the manifest names, beside it
    before = {path.relative_to(kept): path.read_bytes() for path in kept.rglob("*") if path.is_file()}
    with pytest.raises(InputError, match=f"--out {kept} holds the input {kept / 'manifest.csv'}, which writing --out would delete"):
        build_pairs(kept / "manifest.csv", kept, QWEN2_5_VL, val_fraction=0, overwrite=True)
    assert {path.relative_to(kept): path.read_bytes() for path in kept.rglob("*") if path.is_file()} == before
    data = tmp_path / "data"
    for number in (0, 1):  # a dataset folder: a subject folder each
        (data / f"s{number}").mkdir(parents=True)
        for name in ("image.nii.gz", "labels.nii.gz"):
            (data / f"s{number}" / name).write_text(f"s{number}/{name}")  # found, not loaded, before the check; no two alike
    with pytest.raises(InputError, match=f"--out {data / 'pairs'} lies in the input folder {data}"):
        build_pairs(data, data / "pairs", QWEN2_5_VL)
    assert not (data / "pairs").exists()


def test_bad_datasets_are_refused_clearly(tmp_path, shared_data):
    (tmp_path / "bad.csv").write_text("image,mask\na.png,b.png\n")
    with pytest.raises(ValueError, match="lacks column"):
        read_subjects(tmp_path / "bad.csv")
    one = hc18_manifest(shared_data, tmp_path, 1)
    with pytest.raises(ValueError, match="at least two subjects"):
        read_subjects(one)
    with pytest.raises(ValueError, match="two training and two validation"):
        build_pairs(hc18_manifest(shared_data, tmp_path, 3), tmp_path / "p", QWEN2_5_VL, val_fraction=0.5)
    with pytest.raises(ValueError, match="unknown task"):
        PairOptions(tasks=("segmentation",))


def _edited(manifest, line: int, column: str, value: str, name: str = "bad.csv"):
    """A copy of ``manifest`` (beside it) whose ``column`` on 1-based ``line`` reads ``value``."""
    rows = [row.split(",") for row in manifest.read_text().splitlines()]
    rows[line - 1][rows[0].index(column)] = value
    (manifest.parent / name).write_text("\n".join(",".join(row) for row in rows) + "\n")
    return manifest.parent / name


@pytest.mark.parametrize("column, value, message", [
    ("pixel_spacing", "-3", "line 3: pixel_spacing must be a positive number, got '-3'"),
    ("pixel_spacing", "nan", "line 3: pixel_spacing must be a positive number, got 'nan'"),
    ("image", "gone.png", "line 3: image {folder}/gone.png does not exist"),
    ("label_table", "gone.labels.csv", "line 3: label_table {folder}/gone.labels.csv does not exist"),
], ids=["negative-spacing", "nan-spacing", "missing-image", "missing-label-table"])
def test_bad_manifest_rows_are_refused_naming_file_and_line(shared_data, tmp_path, capsys, column, value, message):
    from rau.cli import main

    manifest = _edited(hc18_manifest(shared_data, tmp_path, 3), 3, column, value)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs")]) == 2
    assert f"{manifest} {message.format(folder=tmp_path)}" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_a_subject_without_labelled_voxels_is_refused_naming_its_file(shared_data, tmp_path, capsys):
    """Before, an all-zero mask was dropped without a word: here the validation split was left without questions (exit 0)."""
    from PIL import Image as Picture

    from rau.cli import main

    Picture.fromarray(np.zeros((540, 800), np.uint8)).save(tmp_path / "zero_mask.png")
    manifest = _edited(hc18_manifest(shared_data, tmp_path, 5), 4, "labels", str(tmp_path / "zero_mask.png"))
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0.34"]) == 2
    image = shared_data / "hc18_fetal_head_us" / "images" / "002_HC.png"
    assert f"{tmp_path}/zero_mask.png: no labelled voxels, every value is 0 (the labels of '{image}')" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_a_min_pixels_no_structure_reaches_is_named_as_the_cause(shared_data, tmp_path, capsys):
    """Before: "its subjects share no structure", though they all have the fetal head: --min-pixels left it out."""
    from rau.cli import main

    manifest = hc18_manifest(shared_data, tmp_path, 5)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0.4",
                 "--min-pixels", "100000000"]) == 2
    assert "share no structure with a cross-section of at least 100000000 pixels (--min-pixels)" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_each_image_of_a_subject_is_shown_with_its_own_truth(shared_data, tmp_path):
    """Before: two images of one subject (rows sharing a subject) at one slice index made one pair: both questions showed
    the first image, one with the second's truth box, and the second was never shown as a reference."""
    lines = hc18_manifest(shared_data, tmp_path, 3).read_text().splitlines()
    rows = [lines[0]] + [f"{name},{line.split(',', 1)[1]}" for name, line in zip("TTR", lines[1:])]
    (tmp_path / "two_images.csv").write_text("\n".join(rows) + "\n")
    build_pairs(tmp_path / "two_images.csv", tmp_path / "pairs", QWEN2_5_VL, PairOptions(tasks=("box",)), val_fraction=0)
    records = read_records(tmp_path / "pairs", "train")

    def shown(record, picture):
        return (tmp_path / "pairs" / record["images"][picture]).read_bytes()

    onto_t = [r for r in records if r["target_subject"] == "T"]
    assert len({shown(r, 1) for r in onto_t}) == len({str(r["truth"]) for r in onto_t}) == 2
    assert len({shown(r, 0) for r in records if r["reference_subject"] == "T"}) == 2


def test_a_subject_sharing_no_structure_is_warned_of_and_not_drawn_as_a_reference(shared_data, tmp_path, capsys):
    """Before: a subject whose structures no other subject names gave no question, without a word, and was still drawn
    as a reference (using up one of --references-per-target)."""
    manifest = hc18_manifest(shared_data, tmp_path, 4)
    (tmp_path / "other.labels.csv").write_text("value,name\n255,other_head\n")
    lines = manifest.read_text().splitlines()
    lines[4] = lines[4].replace("hc18.labels.csv", "other.labels.csv")
    manifest.write_text("\n".join(lines) + "\n")
    alone = lines[4].split(",")[0]
    build_pairs(manifest, tmp_path / "pairs", QWEN2_5_VL, PairOptions(references_per_target=1), val_fraction=0)
    assert f"warning: the train split's subjects {alone} gave no question: no other subject of the split labels a structure" in capsys.readouterr().err
    records = read_records(tmp_path / "pairs", "train")
    assert {r["target_subject"] for r in records} == {line.split(",")[0] for line in lines[1:4]}  # each with a reference it shares with
    assert alone not in {r["reference_subject"] for r in records}


def test_rows_without_subject_are_subjects_of_their_own_though_their_images_share_a_name(shared_data, tmp_path):
    """Before: subjA_ct/image.nii.gz and subjB_ct/image.nii.gz were one subject "image.nii.gz" ("found 1")."""
    rows = [line.split(",", 1)[1] for line in ct_manifest(shared_data, tmp_path).read_text().splitlines()]
    (tmp_path / "unnamed.csv").write_text("\n".join(rows) + "\n")
    names = [subject.name for subject in read_subjects(tmp_path / "unnamed.csv")]
    assert names == [row.split(",")[0] for row in rows[1:]] and "subjA_ct/image.nii.gz" in names[0]


def test_a_sam2_model_folder_is_named_as_not_a_vision_language_model(shared_data, tmp_path, capsys):
    """Before: "unknown vision-language model family for 'sam2_video' ... (set --vlm-family ...)", an option build-pairs
    lacks, naming neither --model nor the folder."""
    from rau.cli import main

    sam2 = tmp_path / "sam2"
    sam2.mkdir()
    (sam2 / "config.json").write_text('{"model_type": "sam2_video"}')
    manifest = hc18_manifest(shared_data, tmp_path, 3)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--model", str(sam2)]) == 2
    assert f"--model {sam2}: model_type 'sam2_video' is not a vision-language model" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


@pytest.mark.parametrize("family, refusal", [
    ("gpt-4", "--family 'gpt-4': unknown vision-language model family"),
    ("qwen3-vl", "--family qwen3-vl contradicts {config}, whose model_type 'qwen2_5_vl' is a qwen2.5-vl model; leave --family out"),
])
def test_a_family_that_is_unknown_or_contradicts_the_model_is_refused(shared_data, tiny_qwen, tmp_path, capsys, family, refusal):  # noqa: F811
    """Before: with --model, --family was not looked at: ``--family gpt-4`` was ignored without a word."""
    from rau.cli import main

    manifest = hc18_manifest(shared_data, tmp_path, 3)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--model", str(tiny_qwen),
                 "--family", family, "--val-fraction", "0"]) == 2
    assert f"rau train build-pairs: error: {refusal.format(config=tiny_qwen / 'config.json')}" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_an_image_given_as_its_own_labels_is_refused(shared_data, tmp_path, capsys):
    from rau.cli import main

    manifest = hc18_manifest(shared_data, tmp_path, 3)
    image = manifest.read_text().splitlines()[2].split(",")[1]
    manifest = _edited(manifest, 3, "labels", image)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    assert f"{manifest} line 3: labels {image}: the labels are the image file itself" in capsys.readouterr().err  # before: no line


def test_an_image_under_two_subjects_is_refused(shared_data, tmp_path, capsys):
    """Before: accepted; the image was paired with itself as two subjects (and could be both trained and validated on)."""
    from rau.cli import main

    manifest = hc18_manifest(shared_data, tmp_path, 3)
    image = manifest.read_text().splitlines()[1].split(",")[1]
    manifest = _edited(_edited(manifest, 4, "image", image), 4, "subject", "again")
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    assert f"{manifest} line 4: image {image} is the image of line 2 too; give each image once" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()
    shutil.copy(image, tmp_path / "copy.png")  # the same picture under another name
    manifest = _edited(manifest, 4, "image", str(tmp_path / "copy.png"))
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    assert f"{manifest} line 4: image {tmp_path / 'copy.png'} is a copy of {image}, the image of line 2" in capsys.readouterr().err


def test_a_copied_subject_folder_is_refused_as_its_manifest_row_is(shared_data, tmp_path, capsys):
    """Before: a folder layout took a byte copy of a subject as another subject (trained on and validated on)."""
    from rau.cli import main

    folder = shared_data / "hc18_fetal_head_us"
    for number in (0, 1):
        (tmp_path / "data" / f"s{number}").mkdir(parents=True)
        shutil.copy(folder / f"images/{number:03d}_HC.png", tmp_path / "data" / f"s{number}" / "image.png")
        shutil.copy(folder / f"masks/{number:03d}_HC_mask.png", tmp_path / "data" / f"s{number}" / "label.png")
    shutil.copytree(tmp_path / "data" / "s0", tmp_path / "data" / "t0")
    data = tmp_path / "data"
    assert main(["train", "build-pairs", "--data", str(data), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    assert (f"{data / 't0'}: image {data / 't0' / 'image.png'} is a copy of {data / 's0' / 'image.png'}, the image of {data / 's0'}; "
            "give each image once") in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_manifests_from_spreadsheets_are_read_or_refused_clearly(shared_data, tmp_path):
    manifest = hc18_manifest(shared_data, tmp_path, 2)
    (tmp_path / "bom.csv").write_text("\ufeff" + manifest.read_text(), encoding="utf-8")
    assert [s.name for s in read_subjects(tmp_path / "bom.csv")] == [s.name for s in read_subjects(manifest)]
    (tmp_path / "semicolons.csv").write_text(manifest.read_text().replace(",", ";"))
    with pytest.raises(ValueError, match="separated by ';'"):
        read_subjects(tmp_path / "semicolons.csv")


def test_with_one_shared_structure_the_matched_slice_is_the_one_of_its_size():
    """Before: every slice showing the structure matched equally, and the first, a sliver, won."""
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation, Structure
    from rau.train.slices import match_slice

    def stack(name, radii):
        rows, cols = np.mgrid[:32, :32]
        masks = np.stack([(rows - 16) ** 2 + (cols - 16) ** 2 < r * r for r in radii])
        image = Image(masks.astype(np.float32), spacing=(1, 1, 2))
        return SliceStack.build(name, image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet((Structure("liver", 1),)), {"liver": masks}))

    reference, target = stack("a", [1, 4, 8, 12, 8, 4]), stack("b", [1, 3, 6, 9, 12, 9, 6, 3])
    assert match_slice(reference, 3, target) == 4 and match_slice(reference, 1, target) in (1, 7)


def test_a_subject_folder_may_hold_the_label_table_of_its_labels(shared_data, tmp_path):
    """Before: ``label.labels.csv`` beside ``label.png`` was taken for a second label file and the folder refused."""
    import shutil

    from rau.train.sources import read_subjects

    folder = shared_data / "hc18_fetal_head_us"
    for number in (0, 1):
        subject = tmp_path / "data" / f"s{number}"
        subject.mkdir(parents=True)
        shutil.copy(folder / f"images/{number:03d}_HC.png", subject / "image.png")
        shutil.copy(folder / f"masks/{number:03d}_HC_mask.png", subject / "label.png")
        (subject / "label.labels.csv").write_text("value,name\n255,fetal head\n")
    subjects = read_subjects(tmp_path / "data")
    assert [(s.name, s.labels.name) for s in subjects] == [("s0", "label.png"), ("s1", "label.png")]


def test_pairs_and_model_files_nested_too_deeply_are_refused_naming_them(tmp_path):
    """Before: RecursionError, an internal error (exit 70), from a card.json, a records file or a model's config.json."""
    from rau.models.loader import ModelSource
    from rau.train.dataset import read_card
    from rau.vlm.local import model_family

    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "card.json").write_text(deep)
    with pytest.raises(InputError, match=r"card.json: cannot read the pairs card \(nested too deeply"):
        read_card(tmp_path)
    (tmp_path / "train.jsonl").write_text(deep + "\n")
    with pytest.raises(InputError, match=r"train.jsonl, line 1: not a whole JSON record \(nested too deeply"):
        read_records(tmp_path, "train")
    (tmp_path / "config.json").write_text(deep)
    with pytest.raises(InputError, match=r"config.json: cannot read this model file \(nested too deeply"):
        model_family(ModelSource(str(tmp_path)))



def test_pipes_and_names_in_another_encoding_are_refused_in_a_dataset(shared_data, tmp_path):
    """Before: a stale pipe named as a manifest row's label table hung build-pairs; a pipe given as the dataset was
    "no such dataset folder or manifest"; a subject folder named in Latin-1 was written into the pairs as escaped
    bytes, which strict JSON readers refuse."""
    import os
    import shutil

    manifest = hc18_manifest(shared_data, tmp_path, 3)
    os.remove(tmp_path / "hc18.labels.csv")
    os.mkfifo(tmp_path / "hc18.labels.csv")
    with pytest.raises(InputError, match=r"hc18.csv line 2: label_table .*hc18.labels.csv: not a regular file \(a pipe, socket or device\)"):
        read_subjects(manifest)
    with pytest.raises(InputError, match=r"hc18.labels.csv: not a regular file \(a pipe, socket or device\); give a dataset folder or a manifest CSV"):
        read_subjects(tmp_path / "hc18.labels.csv")
    folder = shared_data / "hc18_fetal_head_us"
    for name in (b"s0", b"s\xe91"):
        subject = os.fsdecode(os.fsencode(tmp_path / "data") + b"/" + name)
        os.makedirs(subject)
        shutil.copy(folder / "images/000_HC.png", os.path.join(subject, "image.png"))
        shutil.copy(folder / "masks/000_HC_mask.png", os.path.join(subject, "label.png"))
    with pytest.raises(InputError, match=r"data/s\\xe91: this name is not UTF-8 text"):
        read_subjects(tmp_path / "data")
