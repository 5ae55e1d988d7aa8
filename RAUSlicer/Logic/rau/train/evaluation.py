"""Held-out evaluation while training: greedy answers on the validation split, VQA metrics.

Answers come from the inference backend's own ``generate``
(:class:`rau.vlm.local.TransformersBackend` around the model being trained), so
evaluation sees exactly the inputs inference builds. Metrics: ``presence_accuracy``,
``identity_accuracy``, ``box_mean_iou``, ``box_hit_rate`` (IoU >= 0.5) and
``format_valid`` (share of clean or repairable answers).
"""

from __future__ import annotations

from rau.train.dataset import open_image
from rau.train.rewards import score_answer

MAX_NEW_TOKENS = 256


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


def vqa_metrics(records: list[dict], answers: list[str]) -> dict[str, float]:
    """Metrics (see module doc) of ``answers`` to ``records``; a task without records is left out."""
    scores = [(r["task"], score_answer(a, r["task"], r["truth"], r["legend"], r["bounds"])) for r, a in zip(records, answers)]
    metrics = {"format_valid": _mean([s["format"] > 0 for _, s in scores])}
    for task, key in (("presence", "presence_accuracy"), ("identity", "identity_accuracy")):
        values = [s["correct"] for t, s in scores if t == task]
        if values:
            metrics[key] = _mean(values)
    ious = [s["iou"] for t, s in scores if t == "box"]
    if ious:
        metrics["box_mean_iou"] = _mean(ious)
        metrics["box_hit_rate"] = _mean([v >= 0.5 for v in ious])
    return metrics


def evaluate(backend, folder, records: list[dict]) -> dict[str, float]:
    """Greedy answers of ``backend`` to ``records`` and their metrics."""
    answers = [backend.generate(record_messages(folder, r), MAX_NEW_TOKENS).text for r in records]
    return vqa_metrics(records, answers)


def _mean(values) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0
