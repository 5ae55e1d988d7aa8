"""A correction session's undo history: each correction's :class:`Step` (with what it took from other structures,
:class:`Taking`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rau.result import StructureResult, voxels


@dataclass
class Taking:
    """What a correction written with overwrite took from another structure: that structure's answer before it, the
    number of that structure's latest correction then (None: none), and the voxels it lost."""

    before: StructureResult
    latest: int | None
    lost: np.ndarray
    owed: bool = False
    """Recorded by :meth:`rau.session.Session.gave_way`: voxels the structure gave way on, which an earlier correction
    of the holder may have taken; what this correction's undo does not give back goes on to the holder's previous one."""


@dataclass
class Step:
    """One correction of a structure as its undo needs it: the engine's record from before it
    (:meth:`rau.session.Session._undone`), its number, what an edit that had emptied it kept
    (:meth:`rau.session.Session.edit`), the structure's count of hand edits then, its answers before and after it, what
    it took from other structures (:meth:`rau.session.Session.gave_up`), the voxels undoing earlier corrections (by
    their number) gave back to the structure since, and the voxels it lost that other structures held with it
    (:meth:`rau.session.Session._shared_lost`)."""

    undone: object
    number: int
    emptied: tuple[float, str, str] | None
    edits: int
    before: StructureResult
    after: StructureResult
    taken: dict[str, Taking] = field(default_factory=dict)
    gifts: list[tuple[int, np.ndarray]] = field(default_factory=list)
    shared: dict[str, np.ndarray] = field(default_factory=dict)

    def voxels_changed(self, shape) -> tuple[np.ndarray, np.ndarray]:
        """The voxels this correction added to its structure and those it removed."""
        before, after = voxels(self.before, shape), voxels(self.after, shape)
        return after & ~before, before & ~after
