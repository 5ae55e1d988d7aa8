"""Reference/target pairs of different subjects at matching anatomy, and the questions asked about them.

Three tasks, answers always taken from the target's truth:

* ``presence``: is reference structure X visible in the target? (yes / no)
* ``identity``: which reference structure is the region boxed in the target?
* ``box``: for every reference structure, present or absent and its box in the target.

Subjects are split before any pair is drawn, so no subject appears in both
splits. Everything is drawn from one seeded generator: the same inputs and seed
give the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rau.errors import InputError
from rau.image import Image
from rau.labels import Segmentation
from rau.train.slices import SliceStack, match_slice
from rau.validation import share_below_one

TASKS = ("presence", "identity", "box")


@dataclass(frozen=True)
class PairOptions:
    """How many pairs and questions to draw (defaults suit a few hundred subjects)."""

    references_per_target: int = 4
    slices_per_pair: int = 4
    questions_per_pair: int = 4
    min_pixels: int = 20
    tasks: tuple[str, ...] = TASKS

    def __post_init__(self):
        unknown = set(self.tasks) - set(TASKS)
        if unknown or not self.tasks:
            raise InputError(f"unknown task(s) {sorted(unknown)}; choose from {', '.join(TASKS)}")
        for name in ("references_per_target", "slices_per_pair", "questions_per_pair", "min_pixels"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class View:
    """One 2D slice of one subject with its labels."""

    subject: str
    index: int
    image: Image
    segmentation: Segmentation

    def box(self, name: str) -> list[int] | None:
        """Truth box ``[x0, y0, x1, y1]`` of a structure in pixels (upper edges exclusive), None if absent."""
        mask = self.segmentation.mask(name)[0]
        if not mask.any():
            return None
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]

    def pixels(self, name: str) -> int:
        """How many pixels of this slice the structure ``name`` covers."""
        return int(self.segmentation.mask(name).sum())


@dataclass
class Question:
    """One training example: a task about a reference/target pair, with its true answer."""

    task: str
    reference: View
    target: View
    legend: list[str]  # reference structures drawn and numbered on image 1
    asked: list[str]  # the structures the question is about
    truth: dict = field(default_factory=dict)


def split_subjects(names: list[str], val_fraction: float, seed: int) -> dict[str, list[str]]:
    """Shuffle subjects with ``seed`` and hold a share out for validation (each split needs two subjects)."""
    share_below_one(val_fraction, "--val-fraction")
    names = sorted(set(names))
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    count = 0 if val_fraction == 0 else max(2, round(val_fraction * len(names)))
    if count and len(names) - count < 2:
        remedy = ("a smaller --val-fraction or --val-fraction 0 (no validation)" if len(names) >= 4  # any fraction above 0 holds out 2
                  else "--val-fraction 0 (no validation) or at least 4 subjects")
        raise InputError(f"{len(names)} subjects cannot give two training and two validation subjects; use {remedy}")
    return {"train": sorted(order[count:]), "val": sorted(order[:count])}


def draw_questions(stacks: list[SliceStack], options: PairOptions, rng: np.random.Generator) -> list[Question]:
    """Questions for pairs among ``stacks``: each target gets references of other subjects (:func:`partners`)."""
    questions = []
    for target in stacks:
        others = partners(target, stacks)
        picks = rng.choice(len(others), size=min(options.references_per_target, len(others)), replace=False)
        for reference in (others[i] for i in sorted(picks)):
            for reference_view, target_view in _matched_views(reference, target, options, rng):
                questions += _questions_for(reference_view, target_view, options, rng)
    return questions


def partners(target: SliceStack, stacks: list[SliceStack]) -> list[SliceStack]:
    """The stacks of other subjects that label a structure ``target`` labels too: the references whose slices can be
    matched to its own (:func:`rau.train.slices.match_slice`)."""
    return [s for s in stacks if s.subject != target.subject and _labelled(s) & _labelled(target)]


def _labelled(stack: SliceStack) -> set[str]:
    return {key for key, areas in stack.areas.items() if areas.any()}


def balance(questions: list[Question], rng: np.random.Generator) -> list[Question]:
    """As many present as absent answers in the presence task (surplus dropped at random)."""
    present = [q for q in questions if q.task == "presence" and q.truth["present"]]
    absent = [q for q in questions if q.task == "presence" and not q.truth["present"]]
    keep = min(len(present), len(absent))
    kept = {id(q) for group in (present, absent) for q in (group[i] for i in rng.permutation(len(group))[:keep])}
    return [q for q in questions if q.task != "presence" or id(q) in kept]


def _matched_views(reference: SliceStack, target: SliceStack, options: PairOptions, rng: np.random.Generator):
    labelled = reference.labelled()
    if not labelled:
        return
    count = min(options.slices_per_pair, len(labelled))
    chosen = sorted(rng.choice(labelled, size=count, replace=False)) if len(reference) > 1 else labelled
    for index in chosen:
        match = match_slice(reference, int(index), target)
        if match is not None:
            yield View(reference.subject, int(index), *reference.cut(int(index))), View(target.subject, match, *target.cut(match))


def _questions_for(reference: View, target: View, options: PairOptions, rng: np.random.Generator) -> list[Question]:
    legend = [s.name for s in reference.segmentation.labels if reference.pixels(s.name) > 0]  # as inference draws
    shown = [n for n in legend if reference.pixels(n) >= options.min_pixels and _target_has(target, n)]
    if not shown:
        return []
    present = [n for n in shown if target.pixels(n) >= options.min_pixels]
    absent = [n for n in shown if target.pixels(n) == 0]
    questions = []
    if "box" in options.tasks:
        truth = {n: {"present": n in present, "box": target.box(n) if n in present else None} for n in shown if n in present or n in absent}
        if truth:  # every shown structure may be a sliver in the target (neither clearly present nor absent): nothing to ask
            questions.append(Question("box", reference, target, legend, list(truth), truth))
    if "presence" in options.tasks:
        half = max(1, options.questions_per_pair // 2)
        for name in _some(present, half, rng) + _some(absent, half, rng):
            questions.append(Question("presence", reference, target, legend, [name], {"present": name in present}))
    if "identity" in options.tasks:
        for name in _some(present, options.questions_per_pair, rng):
            questions.append(Question("identity", reference, target, legend, [name], {"structure": name, "box": target.box(name)}))
    return questions


def _target_has(target: View, name: str) -> bool:
    """True when the target's label set knows the structure, so presence can be answered from truth."""
    try:
        target.segmentation.labels.get(name)
    except KeyError:
        return False
    return True


def _some(names: list[str], count: int, rng: np.random.Generator) -> list[str]:
    return [names[i] for i in sorted(rng.permutation(len(names))[:count])]
