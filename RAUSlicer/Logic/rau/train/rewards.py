"""GRPO rewards, read with the same defensive parser inference uses (:mod:`rau.vlm.answers`).

Each reward has TRL's signature ``f(prompts, completions, task, truth, legend, bounds, **_)``
(the last four are columns of the pairs dataset, ``truth`` a JSON string) and returns
one float per completion, or None where it does not apply (TRL then leaves it out):

* :func:`format_reward`: 1 for a clean JSON answer, 0.5 when it needed repairs, 0 when unusable;
* :func:`correctness_reward`: presence and identity questions, 1 when right; for box
  questions the share of structures whose presence is right;
* :func:`box_iou_reward`: box questions, mean over structures of the box IoU (1 for a
  correctly absent structure, 0 for a wrong presence).
"""

from __future__ import annotations

import json

from rau.vlm.answers import parse_identity, parse_localization, parse_presence


def completion_text(completion) -> str:
    """The text of a completion: a plain string or TRL's ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    content = completion[-1]["content"] if completion else ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def box_iou(a, b) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0 when either is empty)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, width) * max(0.0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score_answer(text: str, task: str, truth: dict, legend: list[str], bounds) -> dict:
    """``format`` always; ``correct`` and, for box questions, ``iou`` (see module doc)."""
    scores = {"format": _format(text, task, truth, legend, bounds), "correct": _correct(text, task, truth, legend, bounds)}
    if task == "box":
        scores["iou"] = _iou(text, truth, legend, bounds)
    return scores


def format_reward(prompts, completions, task, truth, legend, bounds, **_) -> list[float]:
    """TRL reward: per completion, whether its answer has the form its task asks for."""
    return [_format(completion_text(c), t, json.loads(tr), names, b) for c, t, tr, names, b in zip(completions, task, truth, legend, bounds)]


def correctness_reward(prompts, completions, task, truth, legend, bounds, **_) -> list[float]:
    """TRL reward: per completion, whether its answer is right (presence, identity; for boxes, the share of structures
    it says present or absent rightly)."""
    return [_correct(completion_text(c), t, json.loads(tr), names, b) for c, t, tr, names, b in zip(completions, task, truth, legend, bounds)]


def box_iou_reward(prompts, completions, task, truth, legend, bounds, **_) -> list[float | None]:
    """TRL reward: per box question, the IoU of the answered box with the truth (None for other tasks)."""
    return [_iou(completion_text(c), json.loads(tr), names, b) if t == "box" else None
            for c, t, tr, names, b in zip(completions, task, truth, legend, bounds)]


REWARDS = {"format": format_reward, "correctness": correctness_reward, "box_iou": box_iou_reward}


def _format(text: str, task: str, truth: dict, names: list[str], bounds) -> float:
    if task == "box":
        answers = _localization(text, truth, names, bounds).values()
        if not answers or any(a.present is None for a in answers):  # a question about nothing rewards nothing
            return 0.0
        return 1.0 if not any(a.issues for a in answers) else 0.5
    if task == "presence":
        answer = parse_presence(text, truth["label"])
        usable, issues = answer.present is not None, answer.issues
    else:
        name, issues = parse_identity(text, names)
        usable = name is not None
    if not usable:
        return 0.0
    return 1.0 if not issues else 0.5


def _correct(text: str, task: str, truth: dict, names: list[str], bounds) -> float:
    if task == "presence":
        return float(parse_presence(text, truth["label"]).present == truth["present"])
    if task == "identity":
        return float(parse_identity(text, names)[0] == truth["label"])
    answers = _localization(text, truth, names, bounds)
    hits = [answers[name].present == (box is not None) for name, box in truth["boxes"].items()]
    return sum(hits) / len(hits) if hits else 0.0


def _iou(text: str, truth: dict, names: list[str], bounds) -> float:
    answers = _localization(text, truth, names, bounds)
    scores = []
    for name, box in truth["boxes"].items():
        answer = answers[name]
        if box is None:
            scores.append(float(answer.present is False))
        else:
            scores.append(box_iou(answer.box, box) if answer.present and answer.box is not None else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def _localization(text: str, truth: dict, legend: list[str], bounds) -> dict:
    """A box question's answers, read as inference reads them: a tag number names the structure of the ``legend``
    the question showed, which may list more structures than it asks about."""
    return parse_localization(text, list(truth["boxes"]), bounds, legend)
