"""GRPO rewards, read with the same defensive parser inference uses (:mod:`rau.vlm.answers`).

Each reward has TRL's signature ``f(prompts, completions, task, truth, legend, bounds, cut_short=None, **_)``
(the next four are columns of the pairs dataset, ``truth`` a JSON string; ``cut_short``: per completion, whether it
was cut at its token limit, as :func:`limited_rewards` tells it from TRL's ``completion_ids``, cutting each at its
question's own limit) and returns
one float per completion, or None where it does not apply (TRL then leaves it out):

* :func:`format_reward`: 1 for a clean JSON answer, 0.5 when it needed repairs, 0 when unusable;
* :func:`correctness_reward`: presence and identity questions, 1 when right; for box
  questions the share of structures whose presence is right;
* :func:`box_iou_reward`: box questions, mean over structures of the box IoU (1 for a
  correctly absent structure, 0 for a wrong presence).
"""

from __future__ import annotations

import json

from rau.evaluation.vqa import ANSWER_TOKENS, box_record
from rau.vlm.answers import parse_identity, parse_localization, parse_presence
from rau.vlm.backend import cut_at_limit
from rau.vlm.localizer import answer_token_budget


def answer_tokens(task: str, truth: dict, bounds) -> int:
    """The token limit inference gives the answer to a question of ``task`` (a pairs record's ``truth`` and ``bounds``):
    a box question's :func:`answer_token_budget` for the structures it asks about, a presence or identity
    question's :data:`ANSWER_TOKENS`."""
    return answer_token_budget(list(truth["boxes"]), tuple(bounds)) if task == "box" else ANSWER_TOKENS


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


def score_answer(text: str, task: str, truth: dict, legend: list[str], bounds, cut_short: bool = False) -> dict:
    """``format`` and ``correct`` (see module doc); ``cut_short``: the answer was cut at its token limit."""
    return {"format": _format(text, task, truth, legend, bounds, cut_short),
            "correct": _correct(text, task, truth, legend, bounds, cut_short)}


def format_reward(prompts, completions, task, truth, legend, bounds, cut_short=None, **_) -> list[float]:
    """TRL reward: per completion, whether its answer has the form its task asks for."""
    return [_format(*row) for row in _rows(completions, task, truth, legend, bounds, cut_short)]


def correctness_reward(prompts, completions, task, truth, legend, bounds, cut_short=None, **_) -> list[float]:
    """TRL reward: per completion, whether its answer is right (presence, identity; for boxes, the share of structures
    it says present or absent rightly)."""
    return [_correct(*row) for row in _rows(completions, task, truth, legend, bounds, cut_short)]


def box_iou_reward(prompts, completions, task, truth, legend, bounds, cut_short=None, **_) -> list[float | None]:
    """TRL reward: per box question, the IoU of the answered box with the truth (None for other tasks)."""
    return [_iou(text, tr, names, b, cut) if t == "box" else None
            for text, t, tr, names, b, cut in _rows(completions, task, truth, legend, bounds, cut_short)]


REWARDS = {"format": format_reward, "correctness": correctness_reward, "box_iou": box_iou_reward}


def limited_rewards(names: list[str], max_completion_length: int, end_tokens, decode) -> list:
    """The rewards ``names`` (of :data:`REWARDS`, keeping their names in TRL's log) for completions generated up to
    ``max_completion_length`` tokens, each read as inference reads the reply to its question: within that question's
    own limit (:func:`answer_tokens`, at most ``max_completion_length``), as :func:`_read_within`."""
    def limited(reward):
        def read_as_inference(prompts, completions, completion_ids, task, truth, bounds, **columns):
            token_limits = [min(answer_tokens(kind, json.loads(truth_text), image_bounds), max_completion_length)
                            for kind, truth_text, image_bounds in zip(task, truth, bounds)]
            read = [_read_within(completion, ids, limit, end_tokens, decode)
                    for completion, ids, limit in zip(completions, completion_ids, token_limits)]
            texts, cut_short = [text for text, _ in read], [cut for _, cut in read]
            return reward(prompts, texts, task=task, truth=truth, bounds=bounds, cut_short=cut_short, **columns)

        read_as_inference.__name__ = read_as_inference.__qualname__ = reward.__name__
        return read_as_inference

    return [limited(REWARDS[name]) for name in names]


def _read_within(completion, ids, limit: int, end_tokens, decode) -> tuple[str, bool]:
    """What inference, stopping at ``limit`` tokens, reads of a completion (its ``ids``), and whether it was cut there:
    a longer one is its first ``limit`` tokens (``decode``: the tokenizer's, without special tokens, as TRL decodes),
    cut; one of ``limit`` tokens is cut unless the last is one of the model's ``end_tokens``."""
    if len(ids) > limit:
        return decode(list(ids[:limit])), True
    return completion_text(completion), cut_at_limit(ids, limit, end_tokens)


def _rows(completions, task, truth, legend, bounds, cut_short):
    """Per completion: (text, task, truth read, legend, bounds, whether it was cut short)."""
    cut_short = cut_short or [False] * len(completions)
    for completion, kind, truth_text, names, limits, cut in zip(completions, task, truth, legend, bounds, cut_short):
        yield completion_text(completion), kind, json.loads(truth_text), names, limits, cut


def _format(text: str, task: str, truth: dict, names: list[str], bounds, cut_short: bool) -> float:
    if task == "box":
        answers = box_answers(text, truth, names, bounds, cut_short).values()
        if not answers or any(a.present is None for a in answers):  # a question about nothing rewards nothing
            return 0.0
        return 1.0 if not any(a.issues for a in answers) else 0.5
    if task == "presence":
        answer = parse_presence(text, truth["label"], cut_short)
        usable, issues = answer.present is not None, answer.issues
    else:
        name, issues = parse_identity(text, names, cut_short)
        usable = name is not None
    if not usable:
        return 0.0
    return 1.0 if not issues else 0.5


def _correct(text: str, task: str, truth: dict, names: list[str], bounds, cut_short: bool) -> float:
    if task == "presence":
        return float(parse_presence(text, truth["label"], cut_short).present == truth["present"])
    if task == "identity":
        return float(parse_identity(text, names, cut_short)[0] == truth["label"])
    answers = box_answers(text, truth, names, bounds, cut_short)
    hits = [answers[name].present == (box is not None) for name, box in truth["boxes"].items()]
    return sum(hits) / len(hits) if hits else 0.0


def _iou(text: str, truth: dict, names: list[str], bounds, cut_short: bool) -> float:
    answers = box_answers(text, truth, names, bounds, cut_short)
    scores = []
    for name, box in truth["boxes"].items():
        answer = answers[name]
        if box is None:
            scores.append(float(answer.present is False))
        else:
            scores.append(box_record(name, box, answer.present, answer.box, box_iou)["iou"])  # IoU is symmetric
    return sum(scores) / len(scores) if scores else 0.0


def box_answers(text: str, truth: dict, legend: list[str], bounds, cut_short: bool) -> dict:
    """A box question's answers, read as inference reads them: a tag number names the structure of the ``legend``
    the question showed, which may list more structures than it asks about; the entry a cut-short answer was writing
    is no answer."""
    return parse_localization(text, list(truth["boxes"]), bounds, legend, cut_short)
