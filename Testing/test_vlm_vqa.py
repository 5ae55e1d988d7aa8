"""VQA evaluation: presence, identity and box metrics against truth, with a loopback model server."""

import json

import numpy as np
import pytest

from chat_server import ChatServer
from rau.evaluation.vqa import evaluate_pair, summarize
from rau.io import read_image
from rau.references import load_reference
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.server import ServerBackend


@pytest.fixture(scope="module")
def pair(shared_data):
    folder = shared_data / "hc18_fetal_head_us"
    spacing = [float(r.split(",")[1]) for r in (folder / "pixel_size_and_HC.csv").read_text().splitlines()[1:3]]
    reference = load_reference(folder / "images/000_HC.png", folder / "masks/000_HC_mask.png", spacing[0])
    truth = load_reference(folder / "images/001_HC.png", folder / "masks/001_HC_mask.png", spacing[1]).segmentation
    return reference, read_image(folder / "images/001_HC.png", spacing[1]), truth


def oracle(truth, target, shift=0, name=None):
    """Answers like a perfect model (boxes moved right by ``shift`` model pixels) about the truth's one structure,
    called ``name`` as the reference names it (default: as the truth does)."""
    rows, cols = np.nonzero(truth.mask(truth.labels.names[0])[0])
    name = name or truth.labels.names[0]
    box = QWEN2_5_VL.to_model((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), (target.shape[2], target.shape[1]))
    box = [box[0] + shift, box[1], box[2] + shift, box[3]]

    def answer(body):
        question = body["messages"][1]["content"][-1]["text"]
        if question.startswith("Is the reference structure"):
            return json.dumps({"label": name, "present": True})
        if question.startswith("Which reference structure"):
            return json.dumps({"label": name})
        return json.dumps([{"label": name, "present": True, "bbox_2d": box}])

    return answer


def test_a_perfect_model_scores_one_and_a_shifted_box_scores_less(pair):
    reference, target, truth = pair
    with ChatServer(oracle(truth, target)) as server:
        summary = summarize(evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), reference, target, truth))
    assert len(server.requests) == 3  # presence, identity, localization
    assert summary["presence_accuracy"] == 1.0 and summary["identity_accuracy"] == 1.0
    assert summary["mean_box_iou"] > 0.97 and summary["box_hit_rate"] == 1.0
    with ChatServer(oracle(truth, target, shift=400)) as server:
        shifted = summarize(evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), reference, target, truth))
    assert shifted["mean_box_iou"] < 0.5 and shifted["box_hit_rate"] == 0.0


def test_garbage_answers_count_as_wrong(pair):
    reference, target, truth = pair
    with ChatServer(lambda body: "banana") as server:
        summary = summarize(evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), reference, target, truth))
    assert summary["presence_accuracy"] == 0.0 and summary["identity_accuracy"] == 0.0
    assert summary["mean_box_iou"] == 0.0 and summary["boxes"] == 1
    assert summarize([])["presence_accuracy"] is None


def test_a_truth_without_names_is_matched_by_label_value(pair, tmp_path, shared_data):
    """As rau evaluate matches; before, a named reference's structures were all "absent" from an unnamed truth:
    presence accuracy 0 for a perfect model, and no identity or box questions."""
    _, target, truth = pair
    folder = shared_data / "hc18_fetal_head_us"
    (tmp_path / "table.csv").write_text("value,name\n255,fetal head\n")
    spacing = float((folder / "pixel_size_and_HC.csv").read_text().splitlines()[1].split(",")[1])
    named = load_reference(folder / "images/000_HC.png", folder / "masks/000_HC_mask.png", spacing, tmp_path / "table.csv")
    with ChatServer(oracle(truth, target, name="fetal head")) as server:
        summary = summarize(evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), named, target, truth))
    assert summary["presence_accuracy"] == 1.0 and summary["identity_questions"] == 1 and summary["boxes"] == 1


def test_per_structure_asks_for_each_box_alone(tmp_path):
    """Before: --vqa ignored --vlm-per-structure: one localization request for a pair of two structures."""
    from PIL import Image as Picture

    picture, labels = np.zeros((64, 64), np.uint8), np.zeros((64, 64), np.uint8)
    picture[8:24, 8:24], picture[40:56, 30:60] = 200, 120
    labels[8:24, 8:24], labels[40:56, 30:60] = 1, 2
    Picture.fromarray(picture).save(tmp_path / "image.png")
    Picture.fromarray(labels).save(tmp_path / "labels.png")
    (tmp_path / "table.csv").write_text("value,name\n1,square\n2,bar\n")
    reference = load_reference(tmp_path / "image.png", tmp_path / "labels.png", 1.0, tmp_path / "table.csv")
    target = read_image(tmp_path / "image.png", 1.0)
    for per_structure, boxes_asked in ((False, 1), (True, 2)):
        with ChatServer(lambda body: "[]") as server:
            evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), reference, target, reference.segmentation, per_structure=per_structure)
        questions = [request["body"]["messages"][1]["content"][-1]["text"] for request in server.requests]
        assert sum(not q.startswith(("Is the reference structure", "Which reference structure")) for q in questions) == boxes_asked
