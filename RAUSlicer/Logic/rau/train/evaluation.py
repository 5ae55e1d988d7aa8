"""Held-out evaluation while training: greedy answers on the validation split, VQA metrics.

Answers come from the inference backend's own ``generate``
(:class:`rau.vlm.local.TransformersBackend` around the model being trained), so
evaluation sees exactly the inputs inference builds, with inference's token limits
(:func:`answer_tokens`), and reads an answer cut at its limit as inference does. Metrics: ``presence_accuracy``,
``identity_accuracy``, ``box_mean_iou``, ``box_hit_rate`` (IoU >= 0.5) and
``format_valid`` (share of clean or repairable answers).
"""

from __future__ import annotations

from rau.train.dataset import open_image
from rau.train.rewards import answer_tokens, score_answer
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
    ious = [s["iou"] for t, s in scores if t == "box"]
    if ious:
        metrics["box_mean_iou"] = _mean(ious)
        metrics["box_hit_rate"] = _mean([v >= 0.5 for v in ious])
    return metrics


def evaluate(backend, folder, records: list[dict]) -> dict[str, float]:
    """Greedy answers of ``backend`` to ``records`` and their metrics."""
    replies = [backend.generate(record_messages(folder, r), answer_tokens(r["task"], r["truth"], r["bounds"])) for r in records]
    return vqa_metrics(records, replies)


def _mean(values) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0
