"""Prompt templates and answer formats, shared by inference and training.

A conversation is a list of chat messages in the Hugging Face / OpenAI shape::

    [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
     {"role": "user", "content": [{"type": "text", ...}, {"type": "image", "image": <PIL>}, ...]}]

Image 1 is the reference rendered by :func:`rau.render.render_overlay`, image 2 the
target (:func:`rau.render.render_plain`, or :func:`rau.render.render_boxed` for the
identity question). Every answer is JSON; the ``*_answer`` functions write the exact
text a perfect model would answer (training targets), and :mod:`rau.vlm.answers`
reads model answers back.

Public functions:

* :func:`localization_messages` (reference, target, names, question_names, family, model_size)
* :func:`presence_messages` (reference, target, names, name)
* :func:`identity_messages` (reference, boxed_target, names)
* :func:`localization_answer` ({name: model-coordinate box or None}) -> str
* :func:`presence_answer` (name, present) -> str
* :func:`identity_answer` (name) -> str
"""

from __future__ import annotations

import json

from rau.render import legend
from rau.vlm.families import ModelFamily

SYSTEM = (
    "You are an expert in medical image anatomy. You compare an annotated reference image "
    "with a target image of the same kind and find the reference structures in the target."
)


def _conversation(reference, target, names, task: str) -> list[dict]:
    """System turn + one user turn: intro and legend, image 1, image 2, task."""
    intro = (
        "Image 1 is the reference. Each structure is outlined in color and marked with its number:\n"
        f"{legend(names)}\n"
    )
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": intro},
                {"type": "image", "image": reference},
                {"type": "text", "text": "Image 2 is the target."},
                {"type": "image", "image": target},
                {"type": "text", "text": task},
            ],
        },
    ]


def localization_messages(reference, target, names, question_names, family: ModelFamily, model_size) -> list[dict]:
    """Ask, for each of ``question_names`` (a subset of the legend ``names``), presence and a box in image 2."""
    listed = ", ".join(f"{names.index(n) + 1}: {n}" for n in question_names)
    task = (
        f"For each of these reference structures: {listed}, say whether it is visible in image 2 and, "
        f"if it is, give its bounding box [x1, y1, x2, y2] {family.coordinate_phrase(model_size)}. "
        'Answer with JSON only: a list with one object per structure, for example '
        '[{"label": "name", "present": true, "bbox_2d": [x1, y1, x2, y2]}, {"label": "other", "present": false}].'
    )
    return _conversation(reference, target, names, task)


def presence_messages(reference, target, names, name: str) -> list[dict]:
    """Ask whether structure ``name`` of the legend is visible in image 2."""
    task = (
        f"Is the reference structure {names.index(name) + 1}: {name} visible in image 2? "
        f'Answer with JSON only: {{"label": "{name}", "present": true}} or {{"label": "{name}", "present": false}}.'
    )
    return _conversation(reference, target, names, task)


def identity_messages(reference, boxed_target, names) -> list[dict]:
    """Ask which legend structure lies in the yellow box drawn on image 2."""
    task = (
        "Which reference structure corresponds to the region boxed in yellow in image 2? "
        'Answer with JSON only: {"label": "name"}, using a name from the list above.'
    )
    return _conversation(reference, boxed_target, names, task)


def localization_answer(boxes: dict) -> str:
    """The ideal localization answer: ``boxes`` maps name -> [x1, y1, x2, y2] (model coordinates) or None (absent)."""
    items = [
        {"label": name, "present": True, "bbox_2d": [int(v) for v in box]} if box is not None else {"label": name, "present": False}
        for name, box in boxes.items()
    ]
    return json.dumps(items)


def presence_answer(name: str, present: bool) -> str:
    """The ideal presence answer."""
    return json.dumps({"label": name, "present": bool(present)})


def identity_answer(name: str) -> str:
    """The ideal identity answer."""
    return json.dumps({"label": name})


def images_of(messages: list[dict]) -> list:
    """The images of a conversation, in order."""
    return [part["image"] for message in messages for part in message["content"] if part["type"] == "image"]
