"""The session of engines without a model: corrections by :func:`rau.correction.grow.correct_mask`."""

from __future__ import annotations

from rau.correction.grow import Seeds, correct_mask
from rau.engines.base import Progress, Prompt
from rau.errors import InputError
from rau.result import Result, StructureResult, voxels
from rau.session import Session, voxel

CORRECTOR = "compact watershed"


class CorrectorSession(Session):
    """Weight-free reprompt / undo for every structure of a result; each structure keeps its clicks.

    The clicks are kept in the structure's ``prompts`` too (``"seeds"``: [k, j, i, 1 inside / 0 outside] each),
    so a result saved and reopened (``rau correct``) goes on from the same clicks as one session would.
    Corrections already act in 3D near each click: ``propagate`` is refused (:attr:`~rau.session.Session.propagates`).
    """

    def __init__(self, result: Result):
        super().__init__(result.target, {item.structure.name: item for item in result.structures})
        self.seeds = {item.structure.name: _saved_seeds(item, self.target.shape) for item in result.structures}

    def _reprompt(self, name: str, prompt: Prompt, progress: Progress) -> StructureResult:
        current = self.results[name]
        new = Seeds([voxel(p) for p in prompt.points], [int(label) for label in prompt.labels])
        seeds = self.seeds[name] + new
        mask = voxels(current, self.target.shape)
        corrected = correct_mask(self.target, mask, seeds, new, prompt.box)
        self.seeds[name] = seeds
        saved = [[k, j, i, label] for (k, j, i), label in zip(seeds.voxels, seeds.labels)]
        prompts = {**current.prompts, "corrector": CORRECTOR, "clicks": len(seeds.voxels), "seeds": saved}
        message = "" if corrected.any() else current.message if not mask.any() else "the correction removed every voxel"  # empty before: why stays
        return StructureResult(current.structure, corrected, current.confidence, current.engine, prompts, message=message)

    def _snapshot(self, name: str):
        return self.results[name], self.seeds[name]

    def _restore(self, name: str, snapshot) -> None:
        self.results[name], self.seeds[name] = snapshot


def _saved_seeds(item: StructureResult, shape: tuple) -> Seeds:
    """The clicks ``item.prompts`` keep (see :class:`CorrectorSession`); none for a fresh answer."""
    saved = item.prompts.get("seeds") or []
    usable = isinstance(saved, list) and all(
        isinstance(seed, list) and len(seed) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in seed)
        and all(0 <= v < n for v, n in zip(seed, shape)) and seed[3] in (0, 1)
        for seed in saved
    )
    if not usable:
        raise InputError(f"{item.structure.name!r}: its saved clicks (prompts.seeds) are not [k, j, i, 0 or 1] voxels of the target")
    return Seeds([tuple(seed[:3]) for seed in saved], [seed[3] for seed in saved])


def attach_session(result: Result) -> Result:
    """Give ``result`` the weight-free session when its engine kept none."""
    if result.session is None:
        result.session = CorrectorSession(result)
    return result
