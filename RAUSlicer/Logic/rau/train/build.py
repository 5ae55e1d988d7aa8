"""``build_pairs``: from an annotated dataset to a written pairs dataset, in one call."""

from __future__ import annotations

import numpy as np

from rau.train.dataset import write_dataset
from rau.train.pairs import PairOptions, balance, draw_questions, split_subjects
from rau.train.slices import SliceStack
from rau.train.sources import read_subjects
from rau.vlm.families import ModelFamily


def build_pairs(source, out, family: ModelFamily, options: PairOptions | None = None, axis: str = "axial",
                val_fraction: float = 0.2, seed: int = 0, overwrite: bool = False) -> dict:
    """Read ``source`` (folder or manifest), split subjects, draw and balance questions, write ``out``; returns the card."""
    options = options or PairOptions()
    subjects = read_subjects(source)
    splits = split_subjects([s.name for s in subjects], val_fraction, seed)
    rng = np.random.default_rng(seed)
    questions = {}
    for split, names in splits.items():
        if not names:
            continue
        stacks = [SliceStack.build(s.name, *s.load(), axis=axis) for s in subjects if s.name in names]
        questions[split] = balance(draw_questions(stacks, options, rng), rng)
    settings = {"source": str(source), "axis": axis, "val_fraction": val_fraction, "seed": seed, **vars(options)}
    settings["tasks"] = list(options.tasks)
    return write_dataset(questions, out, family, settings, overwrite)
