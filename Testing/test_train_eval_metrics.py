"""The held-out box metrics in a training log mean what `rau evaluate --vqa`'s do: per structure present in the truth."""

from __future__ import annotations

import pytest

from rau.train.evaluation import vqa_metrics
from rau.vlm.backend import Reply


def _box_question(boxes: dict) -> dict:
    return {"task": "box", "truth": {"boxes": boxes}, "legend": ["A", "B", "C"], "bounds": [252, 168]}


def test_held_out_box_metrics_count_each_present_structure_as_rau_evaluate_vqa_does():
    """Before: a mean per question in which a truly absent structure said absent counted IoU 1 (0.75 IoU and a hit rate
    of 1.0 here, A's half-missed question a hit), under names close to --vqa's (box_mean_iou), which are per present
    structure (2/3 and 2/3)."""
    records = [_box_question({"A": [10, 10, 50, 50], "B": None}), _box_question({"A": [10, 10, 50, 50], "C": [100, 100, 150, 150]})]
    replies = [Reply('[{"label": "A", "present": true, "bbox_2d": [10, 10, 50, 50]}, {"label": "B", "present": false}]'),
               Reply('[{"label": "A", "present": true, "bbox_2d": [10, 10, 50, 50]}, {"label": "C", "present": false}]')]
    metrics = vqa_metrics(records, replies)
    assert metrics["mean_box_iou"] == pytest.approx(2 / 3) and metrics["box_hit_rate"] == pytest.approx(2 / 3)
    assert "box_mean_iou" not in metrics


def test_box_questions_whose_structures_are_all_absent_give_no_box_metrics():
    """Before: such a question scored IoU 1 and a hit for saying 'absent'."""
    metrics = vqa_metrics([_box_question({"B": None})], [Reply('[{"label": "B", "present": false}]')])
    assert "mean_box_iou" not in metrics and "box_hit_rate" not in metrics
