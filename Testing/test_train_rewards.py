"""GRPO rewards against hand-checked answers."""

from __future__ import annotations

import json

import pytest

from rau.train.evaluation import vqa_metrics
from rau.train.rewards import box_iou, box_iou_reward, correctness_reward, format_reward
from rau.vlm.backend import Reply

BOUNDS = [100, 80]
BOX_TRUTH = json.dumps({"boxes": {"liver": [10, 10, 30, 30], "spleen": None}})


def rewards(function, text, task="box", truth=BOX_TRUTH, legend=("liver", "spleen")):
    completion = [{"role": "assistant", "content": text}]
    return function(None, [completion], [task], [truth], [list(legend)], [BOUNDS])[0]


def answer(liver_box, spleen_present=False):
    return json.dumps([{"label": "liver", "present": True, "bbox_2d": liver_box}, {"label": "spleen", "present": spleen_present}])


def test_box_iou_by_hand():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)


def test_perfect_box_scores_one_and_disjoint_box_zero():
    assert rewards(box_iou_reward, answer([10, 10, 30, 30])) == 1.0
    assert rewards(box_iou_reward, answer([50, 50, 70, 70])) == pytest.approx(0.5)  # liver 0, spleen correctly absent 1
    assert rewards(box_iou_reward, answer([50, 50, 70, 70], spleen_present=True)) == 0.0
    assert rewards(box_iou_reward, answer([10, 10, 30, 30]), task="presence", truth=json.dumps({"label": "liver", "present": True})) is None


def test_malformed_answers_get_the_format_penalty():
    assert rewards(format_reward, answer([10, 10, 30, 30])) == 1.0
    assert rewards(format_reward, "[{'label': 'liver', 'present': True, 'bbox_2d': [10, 10, 30, 30]}, {'label': 'spleen', 'present': False},]") == 0.5
    assert rewards(format_reward, "the liver is on the left") == 0.0
    assert rewards(box_iou_reward, "the liver is on the left") == 0.0
    assert rewards(format_reward, "I cannot say", truth=json.dumps({"boxes": {}}), legend=()) == 0.0  # before: 1.0 for any text


def test_presence_and_identity_correctness():
    truth = json.dumps({"label": "spleen", "present": False})
    assert rewards(correctness_reward, '{"label": "spleen", "present": false}', "presence", truth) == 1.0
    assert rewards(correctness_reward, '{"label": "spleen", "present": true}', "presence", truth) == 0.0
    identity = json.dumps({"label": "spleen"})
    assert rewards(correctness_reward, '{"label": "2: spleen"}', "identity", identity) == 1.0
    assert rewards(correctness_reward, '{"label": "liver"}', "identity", identity) == 0.0
    assert rewards(correctness_reward, answer([0, 0, 5, 5], spleen_present=True)) == 0.5


def test_vqa_metrics_average_per_task():
    records = [
        {"task": "presence", "truth": {"label": "liver", "present": True}, "legend": ["liver"], "bounds": BOUNDS},
        {"task": "presence", "truth": {"label": "liver", "present": False}, "legend": ["liver"], "bounds": BOUNDS},
        {"task": "box", "truth": json.loads(BOX_TRUTH), "legend": ["liver", "spleen"], "bounds": BOUNDS},
    ]
    answers = ['{"label": "liver", "present": true}', '{"label": "liver", "present": true}', answer([10, 10, 30, 30])]
    metrics = vqa_metrics(records, [Reply(a) for a in answers])
    assert metrics == {"format_valid": 1.0, "presence_accuracy": 0.5, "mean_box_iou": 1.0, "box_hit_rate": 1.0}


def test_a_tag_number_names_the_structure_of_the_legend_the_question_showed():
    """Before: the rewards numbered the structures asked, inference the legend shown (which may list more): a right
    answer by tag scored 0 and a wrong one 1."""
    legend = ("kidney", "liver", "spleen")  # the question showed three and asked about two
    right = json.dumps([{"label": 2, "present": True, "bbox_2d": [10, 10, 30, 30]}, {"label": 3, "present": False}])
    wrong = json.dumps([{"label": 1, "present": True, "bbox_2d": [10, 10, 30, 30]}, {"label": 2, "present": False}])
    for function in (format_reward, correctness_reward, box_iou_reward):
        assert rewards(function, right, legend=legend) == 1.0
        assert rewards(function, wrong, legend=legend) < 1.0


def test_a_box_of_one_source_pixel_keeps_a_unit_of_width_in_the_model_s_frame():
    """Before: a 1-pixel vessel of a 2000-pixel picture (seen at 896) had a box of no width, which no answer could match."""
    from rau.vlm.families import QWEN2_5_VL, QWEN3_VL

    assert QWEN2_5_VL.to_model((1001, 900, 1002, 1100), (2000, 2000)) == [448, 403, 449, 493]
    assert QWEN2_5_VL.to_model((1999, 0, 2000, 1), (2000, 2000)) == [895, 0, 896, 1]  # at the edge: within the frame
    assert QWEN3_VL.to_model((10, 20, 300, 400), (512, 512)) == [20, 39, 586, 781]  # a wide box: rounded as before
