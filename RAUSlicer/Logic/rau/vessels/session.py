"""Corrections of a vessel result, one structure at a time: ``reprompt``, ``propagate``, ``undo``.

Mirrors :class:`rau.sam2.session.Sam2Session`'s interface. A prompt's points are voxel indices
(i, j, k) with labels 1 (on the vessel) / 0 (outside the segment):

* two or more positive points: the vessel through them, in order, is traced and becomes the segment;
* one positive point: the piece under it is renamed, up to the next bifurcations;
* negative points: the segment's pieces under them are removed.
"""

from __future__ import annotations

import numpy as np

from rau.engines.base import Progress, Prompt
from rau.labels import Structure
from rau.result import StructureResult
from rau.vessels import correction


class VesselSession:
    """The label map of one vessel run on the target slice, with an undo history per structure."""

    def __init__(self, structures: list[Structure], results: dict[str, StructureResult], vesselness: np.ndarray, vessels: np.ndarray, engine: str, overwrite: bool = False):
        """``structures``' masks become one label map (structure ``n`` in ``structures`` -> value ``n + 1``)."""
        self.structures = {s.name: s for s in structures}
        self.values = {s.name: index + 1 for index, s in enumerate(structures)}
        self.results = dict(results)
        self.vesselness, self.vessels, self.engine, self.overwrite = vesselness, vessels, engine, overwrite
        self.label_map = np.zeros(vesselness.shape, np.int32)
        for name, item in results.items():
            if item.found:
                self.label_map[item.mask[0] & (self.label_map == 0)] = self.values[name]
        self.history: dict[str, list[np.ndarray]] = {name: [] for name in self.structures}

    def reprompt(self, name: str, prompt: Prompt, progress: Progress | None = None) -> StructureResult:
        """Apply one correction to ``name``; other structures keep their pixels unless ``overwrite``."""
        value = self.values[self._name(name)]
        points = self._points(prompt)
        positive = [p for p, label in zip(points, prompt.labels) if label == 1]
        negative = [p for p, label in zip(points, prompt.labels) if label == 0]
        updated = self.label_map
        if len(positive) >= 2:
            updated = correction.trace(updated, self.vesselness, self.vessels, positive, value, self.overwrite)
        elif positive:
            updated = correction.rename(updated, self.vessels, positive[0], value, self.overwrite)
        for point in negative:
            updated = correction.remove(updated, self.vessels, point, value)
        self.history[name].append(self.label_map)
        self._set(updated)
        return self._corrected(name)

    def propagate(self, name: str) -> StructureResult:
        """A 2D angiogram has no further slices: the structure's current result."""
        return self.results[self._name(name)]

    def undo(self, name: str) -> StructureResult:
        """Take back ``name``'s last correction (the whole map returns to its state before it)."""
        if not self.history[self._name(name)]:
            raise ValueError(f"nothing to undo for {name!r}")
        self._set(self.history[name].pop())
        return self.results[name]

    def _set(self, label_map: np.ndarray) -> None:
        self.label_map = label_map
        for name, value in self.values.items():
            previous = self.results.get(name)
            mask = (label_map == value)[None]
            confidence = previous.confidence if previous else 0.0
            prompts = previous.prompts if previous else {}
            self.results[name] = StructureResult(self.structures[name], mask, confidence, self.engine, prompts, message="" if mask.any() else "not found")

    def _corrected(self, name: str) -> StructureResult:
        item = self.results[name]
        item.prompts = {**item.prompts, "corrections": item.prompts.get("corrections", 0) + 1}
        item.confidence = 1.0 if item.found else 0.0
        return item

    def _name(self, name: str) -> str:
        if name not in self.structures:
            raise KeyError(f"no vessel segment {name!r}; available: {', '.join(self.structures)}")
        return name

    def _points(self, prompt: Prompt) -> list[tuple[int, int]]:
        """Prompt points as (row, col) on the slice, checked against the image."""
        if not prompt.points:
            raise ValueError("a vessel correction needs points (a box is not used on vessels)")
        if len(prompt.points) != len(prompt.labels) or any(label not in (0, 1) for label in prompt.labels):
            raise ValueError("give one label per point: 1 on the vessel, 0 outside the segment")
        rows, cols = self.label_map.shape
        points = []
        for i, j, _k in prompt.points:
            row, col = int(round(j)), int(round(i))
            if not (0 <= row < rows and 0 <= col < cols):
                raise ValueError(f"point {(i, j, _k)} lies outside the target image")
            points.append((row, col))
        return points
