"""Held-out evaluation while training: greedy answers on the validation split, VQA metrics.

Answers come from the inference backend's own ``generate``
(:class:`rau.vlm.local.TransformersBackend` around the model being trained), so
evaluation sees exactly the inputs inference builds, with inference's token limits
(:func:`answer_tokens`), and reads an answer cut at its limit as inference does. Metrics: ``presence_accuracy``,
``identity_accuracy``, ``mean_box_iou`` and ``box_hit_rate`` (per structure present in the truth, as ``rau evaluate
--vqa`` scores them: :func:`rau.evaluation.vqa.box_record`) and ``format_valid`` (share of clean or repairable answers).
"""

from __future__ import annotations

from rau.train.dataset import open_image
from rau.evaluation.vqa import box_record
from rau.train.rewards import answer_tokens, box_answers, box_iou, score_answer
from rau.vlm.backend import Reply


def record_messages(folder, record: dict) -> list[dict]:
    """A pairs record's prompt with its images put back in place."""
    images = iter(record["images"])
    messages = []
    for message in record["prompt"]:
        content = []
        for part in message["content"]:
            if part["type"] == "image":
                part = {"type": "image", "image": open_image(folder, next(images))}
            content.append(part)
        messages.append({**message, "content": content})
    return messages


def vqa_metrics(records: list[dict], replies: list[Reply]) -> dict[str, float]:
    """Metrics (see module doc) of ``replies`` to ``records``; a task without records is left out."""
    scores = [(r["task"], score_answer(a.text, r["task"], r["truth"], r["legend"], r["bounds"], a.cut_short))
              for r, a in zip(records, replies)]
    metrics = {"format_valid": _mean([s["format"] > 0 for _, s in scores])}
    for task, key in (("presence", "presence_accuracy"), ("identity", "identity_accuracy")):
        values = [s["correct"] for t, s in scores if t == task]
        if values:
            metrics[key] = _mean(values)
    boxes = [box for r, a in zip(records, replies) if r["task"] == "box" for box in _box_records(r, a)]
    if boxes:
        metrics["mean_box_iou"] = _mean([box["iou"] for box in boxes])
        metrics["box_hit_rate"] = _mean([box["hit"] for box in boxes])
    return metrics


def _box_records(record: dict, reply: Reply) -> list[dict]:
    """The box question ``record``'s records (:func:`rau.evaluation.vqa.box_record`), one per structure present in its truth."""
    answers = box_answers(reply.text, record["truth"], record["legend"], record["bounds"], reply.cut_short)
    return [box_record(name, box, answers[name].present, answers[name].box, box_iou)
            for name, box in record["truth"]["boxes"].items() if box is not None]


def evaluate(backend, folder, records: list[dict]) -> dict[str, float]:
    """Greedy answers of ``backend`` to ``records`` and their metrics."""
    replies = [backend.generate(record_messages(folder, r), answer_tokens(r["task"], r["truth"], r["bounds"])) for r in records]
    return vqa_metrics(records, replies)


def _mean(values) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0
