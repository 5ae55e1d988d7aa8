"""Training pairs from small written datasets: volumes cut as inference cuts them, 2D and 3D subjects never mixed,
structures counted once whatever their spelling, load errors naming the manifest line."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from PIL import Image as PILImage

from rau.cli import main
from rau.engines.base import Progress, Reference, Request
from rau.io import read_image, read_segmentation
from rau.train.build import build_pairs
from rau.train.dataset import read_records
from rau.train.pairs import PairOptions
from rau.vlm.backend import Backend, Reply
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.localizer import VLMLocalizer

STRUCTURES = {1: (30, 28, 14, 12), 2: (32, 66, 12, 10), 3: (62, 48, 7, 9)}  # value: centre row, col, radii (rows, cols)


def _labels(shape):
    """Three ellipses of values 1..3 (on every slice when ``shape`` has slices)."""
    grid = np.mgrid[tuple(slice(n) for n in shape)]
    labels = np.zeros(shape, np.uint8)
    for value, (row, col, rows, cols) in STRUCTURES.items():
        inside = ((grid[-2] - row) / rows) ** 2 + ((grid[-1] - col) / cols) ** 2
        labels[inside <= 1] = value
    return labels


def write_volume(folder, name, seed, spacing=(0.8, 0.8, 3.0)):
    """A 6 x 80 x 96 NIfTI volume and its label map (structures on slice 3 only, so training and inference show the
    same slice), stored RAS-flipped (LPS after orientation)."""
    labels = _labels((6, 80, 96))
    labels[np.arange(6) != 3] = 0
    image = np.random.default_rng(seed).normal(40, 5, labels.shape) + 60 * labels
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    nib.save(nib.Nifti1Image(image.transpose(2, 1, 0).astype(np.int16), affine), folder / f"{name}.nii.gz")
    nib.save(nib.Nifti1Image(labels.transpose(2, 1, 0), affine), folder / f"{name}_lab.nii.gz")
    return f"{name}.nii.gz", f"{name}_lab.nii.gz"


def write_picture(folder, name, seed):
    """An 80 x 96 grey PNG and its label map."""
    labels = _labels((80, 96))
    image = np.clip(np.random.default_rng(seed).normal(40, 5, labels.shape) + 60 * labels, 0, 255)
    PILImage.fromarray(image.astype(np.uint8)).save(folder / f"{name}.png")
    PILImage.fromarray(labels).save(folder / f"{name}_lab.png")
    return f"{name}.png", f"{name}_lab.png"


def write_manifest(folder, rows, table="value,name\n1,Liver\n2,Spleen\n3,Kidney\n"):
    """``rows``: (subject, image, labels, pixel size or "", label table file or None for the shared one)."""
    (folder / "t.csv").write_text(table)
    lines = ["subject,image,labels,pixel_spacing,label_table"]
    lines += [f"{subject},{image},{labels},{spacing},{own or 't.csv'}" for subject, image, labels, spacing, own in rows]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder / "manifest.csv"


class Recorder(Backend):
    """A backend that keeps every conversation it is asked and answers nothing useful."""

    family = QWEN2_5_VL

    def __init__(self):
        self.conversations = []

    def generate(self, messages, max_new_tokens):
        self.conversations.append(messages)
        return Reply("[]")


def _parts(messages):
    return [part for message in messages for part in message["content"]]


def test_volume_pairs_show_what_inference_shows(tmp_path):
    """Inference always shows a volume's axial (LPS k) slices; before, --axis coronal trained on 224 x 28 coronal cuts
    inference never sends. Each box question's text and pictures are now one of the conversations inference has."""
    rows = [(name, *write_volume(tmp_path, name, seed), "", None) for name, seed in (("v1", 1), ("v2", 3))]
    manifest = write_manifest(tmp_path, rows)
    build_pairs(manifest, tmp_path / "pairs", QWEN2_5_VL, PairOptions(tasks=("box",)), val_fraction=0)
    records = read_records(tmp_path / "pairs", "train")
    assert records
    for record in records:
        folder = {"v1": rows[0], "v2": rows[1]}
        _, ref_image, ref_labels, _, _ = folder[record["reference_subject"]]
        target = read_image(tmp_path / folder[record["target_subject"]][1])
        image = read_image(tmp_path / ref_image)
        labels = read_segmentation(tmp_path / ref_labels, geometry=image, label_table=tmp_path / "t.csv")
        backend = Recorder()
        VLMLocalizer(backend).localize(Request([Reference(image, labels)], target), Progress())
        stored = _parts(record["prompt"])
        shown = [np.asarray(PILImage.open(tmp_path / "pairs" / path)) for path in record["images"]]
        assert any(_same(_parts(conversation), stored, shown) for conversation in backend.conversations), record["images"]


def _same(sent, stored, shown) -> bool:
    """Whether a conversation inference sent has the stored record's text and pictures."""
    pictures = [np.asarray(p["image"]) for p in sent if p["type"] == "image"]
    return ([p.get("text") for p in sent] == [p.get("text") for p in stored] and len(pictures) == len(shown)
            and all(np.array_equal(a, b) for a, b in zip(pictures, shown)))


def test_a_slice_axis_inference_cannot_use_is_no_option(tmp_path, capsys):
    rows = [(name, *write_volume(tmp_path, name, seed), "", None) for name, seed in (("v1", 1), ("v2", 3))]
    manifest = write_manifest(tmp_path, rows)
    with pytest.raises(SystemExit) as exit_status:
        main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--family", "qwen2.5-vl", "--val-fraction", "0",
              "--axis", "coronal"])
    assert exit_status.value.code == 2 and "--axis" in capsys.readouterr().err
    assert not (tmp_path / "pairs").exists()


def test_pictures_and_volumes_in_one_dataset_are_refused_naming_their_lines(tmp_path, capsys):
    """Before: 2D pictures were paired with slices of volumes (which rau segment refuses), their areas in pixels
    matched against areas in mm^2."""
    rows = [(name, *write_picture(tmp_path, name, seed), "0.8", None) for name, seed in (("s1", 1), ("s2", 2))]
    rows += [(name, *write_volume(tmp_path, name, seed), "", None) for name, seed in (("v1", 3), ("v2", 4))]
    manifest = write_manifest(tmp_path, rows)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    said = capsys.readouterr().err
    assert f"{manifest} line 2" in said and f"{manifest} line 4" in said and "is 2D but" in said
    unsized = [(name, image, labels, "", table) for name, image, labels, _, table in rows[:2]] + rows[2:]
    manifest = write_manifest(tmp_path, unsized)  # told of the mix first: a pixel size given would not mend it
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    assert "is 2D but" in capsys.readouterr().err
    manifest = write_manifest(tmp_path, [rows[0], unsized[1]])  # pictures, one given a pixel size
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    said = capsys.readouterr().err
    assert f"{manifest} line 3" in said and "pixel size" in said
    assert not (tmp_path / "pairs").exists()


def test_a_structure_spelled_two_ways_is_counted_once_in_the_card(tmp_path):
    """Before: card.json and README listed "Kidney" and "KIDNEY", each with part of the counts."""
    rows = [(name, *write_picture(tmp_path, name, seed), "0.8", None) for name, seed in (("s1", 1), ("s2", 2))]
    (tmp_path / "upper.csv").write_text("value,name\n1,LIVER\n2,SPLEEN\n3,KIDNEY\n")
    rows[1] = (*rows[1][:4], "upper.csv")
    card = build_pairs(write_manifest(tmp_path, rows), tmp_path / "pairs", QWEN2_5_VL, PairOptions(min_pixels=1), val_fraction=0)
    counted = card["splits"]["train"]["structures"]
    assert len(counted) == 3 and {name.lower() for name in counted} == {"liver", "spleen", "kidney"}
    assert json.loads((tmp_path / "pairs" / "card.json").read_text())["splits"]["train"]["structures"] == counted


@pytest.mark.parametrize("table, problem", [
    ("LabelValue,Name,Color_R,Color_G,Color_B,Color_A\n1,Liver,0,0,256,255\n2,Spleen,0,255,0,255\n3,Kidney,0,0,255,255\n", "256"),
    (None, "header says"),
], ids=["bad-colour", "pixel-size-against-header"])
def test_an_error_loading_a_subject_names_its_manifest_line(tmp_path, capsys, table, problem):
    """Before: a label table or pixel size refused while loading a subject named the file but not the manifest line."""
    rows = [(name, *write_picture(tmp_path, name, seed), "0.8", None) for name, seed in (("s1", 1), ("s2", 2))]
    if table:
        (tmp_path / "slicer.csv").write_text(table)
        rows[1] = (*rows[1][:4], "slicer.csv")
    else:
        rows = [(name, *write_volume(tmp_path, name, seed), "", None) for name, seed in (("v1", 3), ("v2", 4))]
        rows[1] = (*rows[1][:3], "0.7", None)
    manifest = write_manifest(tmp_path, rows)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--val-fraction", "0"]) == 2
    said = capsys.readouterr().err
    assert f"{manifest} line 3: " in said and problem in said
    assert not (tmp_path / "pairs").exists()
