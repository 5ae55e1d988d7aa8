"""Correcting one structure of a result in its segmentation node: re-prompt, propagate, undo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rau.engines.base import Progress, Prompt
from rau.mrml.results import LOW_CONFIDENCE, RAU_TAG, Logic, tag_text, write_structure_result
from rau.mrml.segments import require_segment_id, segment_mask, write_segment_mask
from rau.result import Result, StructureResult

UNDO_DEPTH = 10


@dataclass
class _Snapshot:
    mask: np.ndarray
    tag: str
    status: int


class Correction:
    """Sends prompts for one structure through ``result.session`` and writes the answer into ``node``.

    Only that structure's segment changes. Each change first saves the segment as it is in
    the node (manual edits included), so :meth:`undo` brings back exactly what was there.
    With ``overwrite`` the new mask also clears other segments' voxels under it.
    """

    def __init__(self, result: Result, node, low_confidence: float = LOW_CONFIDENCE, overwrite: bool = False):
        if result.session is None:
            raise ValueError(f"the {result.engine!r} engine keeps no session; re-run with an engine that supports corrections")
        self.result, self.node, self.low_confidence, self.overwrite = result, node, low_confidence, overwrite
        self._undo: dict[str, list[_Snapshot]] = {}

    def update(self, name: str, prompt: Prompt, progress: Progress | None = None) -> StructureResult:
        """Re-prompt ``name`` with the user's points/box and write the new mask (a cancel changes nothing)."""
        self.sync(name)
        return self.apply(name, self.result.session.reprompt(name, prompt, progress))

    def propagate(self, name: str, progress: Progress | None = None) -> StructureResult:
        """Re-run ``name`` through all slices from its current prompts and write the new mask."""
        self.sync(name)
        return self.apply(name, self.result.session.propagate(name, progress))

    def sync(self, name: str) -> None:
        """Tell the session about hand edits of ``name`` in the node, so a correction starts from them."""
        self.result.session.edit(name, segment_mask(self.node, require_segment_id(self.node, name), self.result.target))

    def can_undo(self, name: str) -> bool:
        return bool(self._undo.get(name))

    def undo(self, name: str) -> None:
        """Put back the segment as it was before the last update or propagate."""
        if not self.can_undo(name):
            raise ValueError(f"nothing to undo for {name!r}")
        snapshot = self._undo[name].pop()
        if self.result.session.can_undo(name):
            self.result.session.undo(name)
        write_segment_mask(self.node, name, snapshot.mask, self.result.target)
        segment = self._segment(name)
        segment.SetTag(RAU_TAG, snapshot.tag)
        Logic.SetSegmentStatus(segment, snapshot.status)

    def _segment(self, name: str):
        return self.node.GetSegmentation().GetSegment(require_segment_id(self.node, name))

    def apply(self, name: str, item: StructureResult) -> StructureResult:
        """Write an answer for ``name`` computed elsewhere (e.g. ``session.reprompt`` on a worker thread)."""
        segment = self._segment(name)
        snapshot = _Snapshot(
            segment_mask(self.node, require_segment_id(self.node, name), self.result.target),
            tag_text(segment),
            Logic.GetSegmentStatus(segment),
        )
        self._undo[name] = (self._undo.get(name, []) + [snapshot])[-UNDO_DEPTH:]
        write_structure_result(self.node, item, self.result.target, self.low_confidence, self.overwrite)
        self.result.structures = [item if s.structure.name == name else s for s in self.result.structures]
        return item
