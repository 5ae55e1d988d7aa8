"""``build_pairs``: from an annotated dataset to a written pairs dataset, in one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rau.errors import InputError
from rau.io.outputs import check_folder_spares_inputs
from rau.train.dataset import check_pairs_out, write_dataset
from rau.train.pairs import PairOptions, balance, draw_questions, split_subjects
from rau.train.slices import SliceStack
from rau.train.sources import read_subjects
from rau.vlm.families import ModelFamily


def build_pairs(source, out, family: ModelFamily, options: PairOptions | None = None, axis: str = "axial",
                val_fraction: float = 0.2, seed: int = 0, overwrite: bool = False) -> dict:
    """Read ``source`` (folder or manifest), split subjects, draw and balance questions, write ``out``; returns the card."""
    options = options or PairOptions()
    check_pairs_out(Path(out), overwrite)  # before any work
    subjects = read_subjects(source)
    check_folder_spares_inputs(out, [source, *(path for s in subjects for path in (s.image, s.labels, s.label_table) if path)])
    splits = split_subjects([s.name for s in subjects], val_fraction, seed)
    rng = np.random.default_rng(seed)
    questions = {}
    for split, names in splits.items():
        if not names:
            continue
        chosen = [subject for subject in subjects if subject.name in names]
        stacks = [SliceStack.build(s.name, *s.load(), axis=axis) for s in chosen]
        for subject, stack in zip(chosen, stacks):
            if not stack.labelled():
                raise InputError(f"{subject.labels}: subject {subject.name} has no labelled voxel of a named structure "
                                 "(an empty mask, or values its label table does not name)")
        questions[split] = balance(draw_questions(stacks, options, rng), rng)
        if not questions[split]:
            raise InputError(f"the {split} split ({', '.join(names)}) gave no questions: its subjects share no structure with a "
                             f"cross-section of at least {options.min_pixels} pixels (--min-pixels); add subjects, lower "
                             "--min-pixels or change --val-fraction")
    settings = {"source": str(source), "axis": axis, "val_fraction": val_fraction, "seed": seed, **vars(options)}
    settings["tasks"] = list(options.tasks)
    return write_dataset(questions, out, family, settings, overwrite)
