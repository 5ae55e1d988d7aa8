"""Corrections of a vessel result, one structure at a time: ``reprompt`` and ``undo`` (``propagate`` is refused: a 2D picture).

Mirrors :class:`rau.sam2.session.Sam2Session`'s interface. A prompt's points are voxel indices
(i, j, k) with labels 1 (on the vessel) / 0 (outside the segment):

* two or more positive points: the vessel through them, in order, is traced and becomes the segment;
* one positive point: the piece under it is renamed, up to the next bifurcations;
* negative points: the segment's pieces under them are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rau.engines.base import Progress, Prompt
from rau.errors import InputError
from rau.image import Image
from rau.labels import Structure, names_in_words
from rau.result import StructureResult, taken_by, voxels, without
from rau.session import EDITED_EMPTY, Session, point_names, same_answer
from rau.vessels import correction
from rau.vessels.grid import WORKING_PIXELS, WorkingGrid


class VesselSession(Session):
    """The label map of one vessel run on the working grid of the target slice; a correction (and its
    undo) acts on the whole map. Prompts and answers are on the target's own grid."""

    def __init__(self, target: Image, structures: list[Structure], results: dict[str, StructureResult], vesselness: np.ndarray, vessels: np.ndarray,
                 engine: str, grid: WorkingGrid | None = None):
        """``structures``' masks become one label map (structure ``n`` in ``structures`` -> value ``n + 1``);
        ``vesselness`` and ``vessels`` (:func:`~rau.vessels.vesselness.vesselness`, :func:`~rau.vessels.vesselness.vessel_mask`)
        lie on ``grid``'s working grid (default: the target's own)."""
        super().__init__(target, dict(results))
        self.structures = {s.name: s for s in structures}
        self.values = {s.name: index + 1 for index, s in enumerate(structures)}
        self.vesselness, self.vessels, self.engine = vesselness, vessels, engine
        self.grid = grid or WorkingGrid(vesselness.shape, vesselness.shape)
        self.label_map = self._label_map()

    def checked_prompt(self, prompt: Prompt) -> Prompt:
        """As :meth:`Session.checked_prompt`, a box refused first (:func:`check_points_only`): it is not used on vessels."""
        check_points_only(prompt)
        return super().checked_prompt(prompt)

    def _reprompt(self, name: str, prompt: Prompt, progress: Progress) -> StructureResult:
        """Apply one correction to ``name``; other structures keep their pixels unless ``reprompt`` was given
        ``overwrite``."""
        value = self.values[name]
        points = self._points(prompt)
        self._check_on_vessels(prompt, points)
        positive = [p for p, label in zip(points, prompt.labels) if label == 1]
        negative = [p for p, label in zip(points, prompt.labels) if label == 0]
        updated = self.label_map
        if len(positive) >= 2:
            updated = correction.trace(updated, self.vesselness, self.vessels, positive, value, self.overwrite)
        elif positive:
            updated = correction.rename(updated, self.vessels, positive[0], value, self.overwrite)
        for point in negative:
            updated = correction.remove(updated, self.vessels, point, value)
        self.unchanged = self._why_unchanged(name, positive, negative) if np.array_equal(updated, self.label_map) else ""
        self._set(updated, name)
        return self._corrected(name)

    def set_mask(self, name: str, mask, why_empty: str = EDITED_EMPTY) -> None:
        """A new mask for ``name`` (a hand edit too) also changes the label map later corrections start from."""
        super().set_mask(name, mask, why_empty)
        self.label_map = self._label_map()

    def _snapshot(self, name: str):
        return self.label_map, dict(self.results)

    def _restore(self, name: str, snapshot) -> None:
        self.label_map, self.results = snapshot[0], dict(snapshot[1])

    def _undone(self, name: str, snapshot) -> _Record:
        """The label maps before and after the correction, the answers before it and each one's latest correction then."""
        return _Record(snapshot[0], self.label_map, snapshot[1], {other: self._latest(other) for other in self.results})

    def _undo_to(self, name: str, undone: _Record) -> None:
        """Put back the pixels the correction changed and nothing since has (a later correction of another segment
        stays). ``name`` gets its confidence, prompts and message from before the correction again; each other structure
        whose pixels are then as before it, and whose own corrections are the same, gets its answer from then again."""
        back = (undone.before != undone.after) & (self.label_map == undone.after)
        self._set(np.where(back, undone.before, self.label_map), name)
        self.results[name] = _as_before(undone.answers[name], self.results[name])
        for other, answer in undone.answers.items():
            if undone.latest[other] == self._latest(other) and same_answer(self.results[other], answer):
                self.results[other] = answer

    def _forget(self, record: _Record, name: str, undone: _Record) -> _Record:
        """A later correction's record as if ``name``'s ``undone`` correction had never been: the pixels that one changed
        and the later one changed again were, before the later one, as before the undone one; and ``name``'s answer
        before it is the one from before the undone correction."""
        again = (undone.before != undone.after) & (record.before == undone.after) & (record.after != record.before)
        return replace(record, before=np.where(again, undone.before, record.before), answers={**record.answers, name: undone.answers[name]},
                       latest={**record.latest, name: undone.latest[name]})

    def _label_map(self) -> np.ndarray:
        label_map = np.zeros(self.grid.shape, np.int32)
        for name, item in self.results.items():
            if item.found:
                label_map[item.mask[0] & (label_map == 0)] = self.values[name]
        return self.grid.labels(label_map)

    def _set(self, label_map: np.ndarray, corrected: str) -> None:
        """The answers after a correction of ``corrected`` left ``label_map``: each structure's mask changes only where
        the label map changed to or from its value (brought back to the target's grid); every other voxel stays as it
        was (overlapping layers, detail finer than the working grid). Another structure left with no voxel is not
        found, naming ``corrected`` (:func:`rau.result.without`, the rule :meth:`rau.result.Result.put` applies)."""
        before, self.label_map = self.label_map, label_map
        for name, value in self.values.items():
            gained = self.grid.back((label_map == value) & (before != value))[None]
            lost = self.grid.back((before == value) & (label_map != value))[None]
            if name == corrected:
                self.results[name] = self._changed_answer(name, gained, lost)
            elif gained.any() or lost.any():
                self.results[name] = _moved(without(self.results[name], lost, taken_by(corrected)), gained)

    def _changed_answer(self, name: str, gained: np.ndarray, lost: np.ndarray) -> StructureResult:
        """A new answer for the corrected ``name``: its voxels with ``gained`` and without ``lost``."""
        previous = self.results[name]
        mask = (voxels(previous, self.target.shape) | gained) & ~lost
        return StructureResult(self.structures[name], mask, previous.confidence, self.engine, previous.prompts, message="" if mask.any() else "not found")

    def _corrected(self, name: str) -> StructureResult:
        item = self.results[name]
        item.prompts = {**item.prompts, "corrections": item.prompts.get("corrections", 0) + 1}
        return item

    def _why_unchanged(self, name: str, positive: list, negative: list) -> str:
        """Why a correction of ``name`` with these clicks (on vessels, (row, col)) left the label map as it was, from
        the segments that hold the pieces the clicks act on (:func:`rau.vessels.correction.piece_region`)."""
        if len(positive) >= 2 and not correction.one_stop(self.vesselness, positive):
            return f"the vessel traced through the clicks is {name!r} already, where no other segment holds it"
        reasons = []
        if positive:
            holders, piece = self._holders(positive[:1]), "the vessel piece under the inside click"
            if len(positive) >= 2:
                piece = ("the inside clicks fall on one point of the vessel, so there is no vessel to trace between them (click "
                         "further apart) and they act as one click: the vessel piece under the first")
            if holders == [name]:
                reasons.append(f"{piece} is held by {name!r} already")
            else:
                reasons.append(f"{piece} is held by {_held_by(holders)}, and overwrite is off")
        if negative:
            pieces = "piece under the outside click is" if len(negative) == 1 else "pieces under the outside clicks are"
            reasons.append(f"the vessel {pieces} held by {_held_by(self._holders(negative))}, not by {name!r}")
        return "; ".join(reasons)

    def _holders(self, points) -> list[str]:
        """The segments holding pixels of the vessel pieces the clicks at ``points`` (row, col) act on."""
        tree, held = correction.correction_tree(self.label_map, self.vessels), set()
        for point in points:
            held.update(np.unique(self.label_map[correction.piece_region(tree, point)]).tolist())
        return [name for name, value in self.values.items() if value in held]

    def _check_on_vessels(self, prompt: Prompt, points: list[tuple[int, int]]) -> None:
        """Refuse clicks that lie on no vessel (:func:`rau.vessels.correction.on_vessel`), naming them as the user gave
        them (:func:`rau.session.point_names`: before, always by their i,j in the image rau holds, which are not the
        file's on a volume stored along i, and not a Slicer markup's name and position). A
        trace (two or more inside clicks) needs one of its clicks on a vessel: the others may mark a vessel's end that
        the vessel mask misses (faint, or under a shutter's cut; 8 of 302 true segment ends of the ARCADE dev targets)."""
        off = [not correction.on_vessel(self.label_map, self.vessels, point) for point in points]
        inside = [index for index, label in enumerate(prompt.labels) if label == 1]
        if len(inside) >= 2 and not all(off[index] for index in inside):
            off = [missed and label != 1 for missed, label in zip(off, prompt.labels)]
        named = list(dict.fromkeys(name for name, missed in zip(point_names(prompt, self.target), off) if missed))  # a stroke's voxels: once
        if named:
            raise InputError(f"vessel clicks must lie on a vessel: {'; '.join(named)} {'is' if len(named) == 1 else 'are'} more than {correction.CLICK_REACH} px (on the {WORKING_PIXELS} px "
                             "working grid) from the vessel mask and from every segment")

    def _points(self, prompt: Prompt) -> list[tuple[int, int]]:
        """Prompt points as (row, col) on the slice (:meth:`checked_prompt` has checked they lie in the image)."""
        return [self.grid.to_working(int(round(j)), int(round(i))) for i, j, _k in prompt.points]


@dataclass
class _Record:
    """What undoing one correction needs: the label maps before and after it, and each structure's answer before it
    with the number of its latest correction then (:meth:`rau.session.Session._latest`)."""

    before: np.ndarray
    after: np.ndarray
    answers: dict[str, StructureResult]
    latest: dict[str, int | None]


def _as_before(before: StructureResult, now: StructureResult) -> StructureResult:
    """``now``'s voxels with ``before``'s confidence, prompts and message (``before`` itself where the voxels are the
    same): an undone correction's answer is taken back also where later corrections of others keep some pixels."""
    if same_answer(before, now):
        return before
    if not now.found:
        return replace(before, mask=None, box=None, confidence=0.0, message=now.message)
    return replace(before, mask=now.mask, box=None, message=before.message if before.found else "")


def _moved(item: StructureResult, gained: np.ndarray) -> StructureResult:
    """``item`` with the ``gained`` voxels too (an undo gives them back)."""
    if not gained.any():
        return item
    return replace(item, mask=voxels(item, gained.shape) | gained, box=None, message="")


def _held_by(names: list[str]) -> str:
    """The segments ``names`` as a message says who holds a piece ("'S5' and 'S6'"), or "no segment"."""
    return names_in_words(names, "no segment")


def check_points_only(prompt: Prompt) -> None:
    """Refuse a vessel correction with a box (it would be left unused) or without points."""
    if prompt.box is not None:
        raise InputError("a vessel correction takes points only (inside and outside clicks, strokes): a box is not used on vessels")
    if not prompt.points:
        raise InputError("a vessel correction needs at least one inside or outside point (a click or a stroke)")
