"""A question turned into the exact conversation inference sends, plus the ideal answer.

Pictures come from :mod:`rau.render` and wording from :mod:`rau.vlm.prompts`, the
modules inference uses, each image resized to its family's model size as inference
does; boxes in answers and truth are in the model's coordinates
(:meth:`rau.vlm.families.ModelFamily.to_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rau import render
from rau.train.pairs import Question, View
from rau.vlm import prompts
from rau.vlm.families import ModelFamily


@dataclass
class Conversation:
    """Messages (images inline as PIL), the ideal answer, and the truth the rewards score against."""

    messages: list[dict]
    answer: str
    truth: dict
    bounds: tuple[int, int]


def source_size(view: View) -> tuple[int, int]:
    """(width, height) of a view's slice."""
    rows, cols = view.image.array.shape[1:]
    return cols, rows


def render_reference(view: View, legend: list[str], family: ModelFamily):
    """Image 1: the reference slice with the legend's structures outlined and numbered."""
    masks = [view.segmentation.mask(name)[0] for name in legend]
    return render.render_overlay(view.image.array[0], masks, family.model_size(*source_size(view)))


def render_target(view: View, family: ModelFamily, box=None):
    """Image 2: the target slice plain, or with ``box`` (slice pixel edges) outlined for the identity question."""
    size = family.model_size(*source_size(view))
    if box is None:
        return render.render_plain(view.image.array[0], size)
    return render.render_boxed(view.image.array[0], box, size)


def conversation(question: Question, family: ModelFamily, reference_image=None, target_image=None) -> Conversation:
    """The conversation for ``question``; pass already rendered images to reuse them across a pair's questions."""
    if reference_image is None:
        reference_image = render_reference(question.reference, question.legend, family)
    if target_image is None and question.task != "identity":
        target_image = render_target(question.target, family)
    size = source_size(question.target)
    model_size = family.model_size(*size)
    bounds = family.bounds(model_size)
    if question.task == "box":
        boxes = {n: family.to_model(t["box"], size) if t["present"] else None for n, t in question.truth.items()}
        messages = prompts.localization_messages(reference_image, target_image, question.legend, question.asked, family, model_size)
        return Conversation(messages, prompts.localization_answer(boxes), {"boxes": boxes}, bounds)
    name = question.asked[0]
    if question.task == "presence":
        present = question.truth["present"]
        messages = prompts.presence_messages(reference_image, target_image, question.legend, name)
        return Conversation(messages, prompts.presence_answer(name, present), {"label": name, "present": present}, bounds)
    if question.task == "identity":
        boxed = render_target(question.target, family, question.truth["box"])
        messages = prompts.identity_messages(reference_image, boxed, question.legend)
        return Conversation(messages, prompts.identity_answer(name), {"label": name}, bounds)
    raise ValueError(f"unknown task {question.task!r}")
