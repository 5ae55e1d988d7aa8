"""The session of engines without a model: corrections by :func:`rau.correction.grow.correct_mask`."""

from __future__ import annotations

import numpy as np

from rau.correction.grow import Seeds, correct_mask
from rau.engines.base import Progress, Prompt
from rau.result import Result, StructureResult
from rau.session import Session, voxel

CORRECTOR = "compact watershed"


class CorrectorSession(Session):
    """Weight-free reprompt / undo for every structure of a result; each structure keeps its clicks.

    Corrections already act in 3D near each click, so ``propagate`` keeps the answer as it is.
    """

    def __init__(self, result: Result):
        super().__init__(result.target, {item.structure.name: item for item in result.structures})
        self.seeds = {name: Seeds([], []) for name in self.results}

    def _reprompt(self, name: str, prompt: Prompt, progress: Progress) -> StructureResult:
        current = self.results[name]
        new = Seeds([voxel(p) for p in prompt.points], [int(label) for label in prompt.labels])
        seeds = self.seeds[name] + new
        mask = current.mask if current.found else np.zeros(self.target.shape, bool)
        corrected = correct_mask(self.target, mask, seeds, new, prompt.box)
        self.seeds[name] = seeds
        prompts = {**current.prompts, "corrector": CORRECTOR, "clicks": len(seeds.voxels)}
        message = "" if corrected.any() else "the correction removed every voxel"
        return StructureResult(current.structure, corrected, current.confidence, current.engine, prompts, message=message)

    def _snapshot(self, name: str):
        return self.results[name], self.seeds[name]

    def _restore(self, name: str, snapshot) -> None:
        self.results[name], self.seeds[name] = snapshot


def attach_session(result: Result) -> Result:
    """Give ``result`` the weight-free session when its engine kept none."""
    if result.session is None:
        result.session = CorrectorSession(result)
    return result
