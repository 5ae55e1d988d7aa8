"""``build_pairs``: from an annotated dataset to a written pairs dataset, in one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rau import validation
from rau.engines.base import Reference, Request, check_dimensions
from rau.errors import InputError
from rau.image import Image
from rau.io.outputs import check_folder_spares_inputs
from rau.labels import Segmentation
from rau.train.dataset import check_pairs_out, write_dataset
from rau.train.pairs import PairOptions, balance, draw_questions, partners, split_subjects
from rau.train.slices import SliceStack
from rau.train.sources import Subject, read_subjects
from rau.user_warnings import warn
from rau.vlm.families import ModelFamily


def build_pairs(source, out, family: ModelFamily, options: PairOptions | None = None, val_fraction: float = 0.2,
                seed: int = 0, overwrite: bool = False) -> dict:
    """Read ``source`` (folder or manifest), split subjects, draw and balance questions, write ``out``; returns the card."""
    options = options or PairOptions()
    check_pairs_out(Path(out), overwrite)  # before any work
    subjects = read_subjects(source)
    check_folder_spares_inputs(out, [source, *(path for s in subjects for path in (s.image, s.labels, s.label_table) if path)])
    splits = split_subjects([s.name for s in subjects], val_fraction, seed)
    loaded = [subject.load() for subject in subjects]
    _check_same_dimensions(subjects, loaded)  # first: a pixel size given would not mend a mix of 2D and 3D
    validation.check_pixel_sizes([(f"{s.place}: image {s.image.name}", s.image, s.pixel_spacing) for s in subjects])
    rng = np.random.default_rng(seed)
    questions = {}
    for split, names in splits.items():
        if not names:
            continue
        chosen = [subject for subject in subjects if subject.name in names]
        stacks = [SliceStack.build(s.name, *data) for s, data in zip(subjects, loaded) if s.name in names]
        for subject, stack in zip(chosen, stacks):
            if not stack.labelled():
                raise InputError(f"{subject.labels}: subject {subject.name} has no labelled voxel of a named structure "
                                 "(an empty mask, or values its label table does not name)")
        questions[split] = balance(draw_questions(stacks, options, rng), rng)
        if not questions[split]:
            raise InputError(f"the {split} split ({', '.join(names)}) gave no questions: {_why_no_questions(stacks, options)}")
        _warn_unasked(split, stacks, questions[split], options)
    settings = {"source": str(Path(source).resolve()), "val_fraction": val_fraction, "seed": seed, **vars(options)}
    settings["tasks"] = list(options.tasks)
    return write_dataset(questions, out, family, settings, overwrite)


def _check_same_dimensions(subjects: list[Subject], loaded: list[tuple[Image, Segmentation]]) -> None:
    """Refuse 2D pictures beside volumes, as inference refuses such a reference for such a target
    (:func:`rau.engines.base.check_dimensions`), naming the two subjects' places."""
    first, (image, segmentation) = subjects[0], loaded[0]
    reference = Reference(image, segmentation, image_path=first.image)
    for subject, (other, _) in zip(subjects[1:], loaded[1:]):
        try:
            check_dimensions(Request([reference], other, target_name=str(subject.image)))
        except InputError as error:
            raise InputError(f"{first.place} and {subject.place}: {error}; a dataset holds 2D subjects or 3D ones") from None


def _why_no_questions(stacks: list[SliceStack], options: PairOptions) -> str:
    """Why a split's subjects gave no question, and what to do: no two of them label a structure of the same name
    (:func:`partners`), or the structures they share are too small (``--min-pixels``)."""
    if not any(partners(stack, stacks) for stack in stacks):
        return ("no two of its subjects label a structure of the same name; add subjects that do, name the structures alike "
                "(label tables) or change --val-fraction")
    return (f"its subjects share no structure with a cross-section of at least {options.min_pixels} pixels (--min-pixels); "
            "add subjects, lower --min-pixels or change --val-fraction")


def _warn_unasked(split: str, stacks: list[SliceStack], questions: list, options: PairOptions) -> None:
    """Warn of the split's subjects no question shows, and why."""
    asked = {q.reference.subject for q in questions} | {q.target.subject for q in questions}
    unasked = sorted({s.subject for s in stacks} - asked)
    alone = [name for name in unasked if not any(partners(s, stacks) for s in stacks if s.subject == name)]
    if alone:
        warn(f"the {split} split's subjects {', '.join(alone)} gave no question: no other subject of the split labels a "
             "structure they label; add subjects that do")
    if set(unasked) - set(alone):
        warn(f"the {split} split's subjects {', '.join(n for n in unasked if n not in alone)} gave no question: the structures they "
             f"share with others were under {options.min_pixels} pixels (--min-pixels) in the matched slices, or their presence "
             "questions were dropped to balance yes and no")
