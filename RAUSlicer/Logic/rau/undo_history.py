"""A correction session's undo history: each correction's :class:`Step` (with what it took from other structures,
:class:`Taking`) and the memory its arrays hold (:func:`distinct_bytes`, what ``rau serve --max-session-gb`` counts)."""

from __future__ import annotations

import dataclasses
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


def distinct_bytes(value, besides=None) -> int:
    """The bytes of every distinct numpy array ``value`` reaches (an undo history's steps, their answers, what they took,
    gave and shared, the engine's records; a session's answers and target; a result: dataclasses, dicts, lists and
    tuples of them), each counted once however many fields hold it or views of it; the arrays ``besides`` reaches
    (counted elsewhere: a result's target and masks) left out."""
    arrays: dict[int, int] = {}
    _collect(value, arrays, set())
    counted: dict[int, int] = {}
    _collect(besides, counted, set())
    return sum(nbytes for owner, nbytes in arrays.items() if owner not in counted)


def _collect(value, arrays: dict[int, int], seen: set[int]) -> None:
    """Into ``arrays``: the bytes of each array ``value`` reaches, by the array that owns its memory (:func:`_owner`)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        owner = _owner(value)
        arrays[id(owner)] = owner.nbytes
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _collect(getattr(value, item.name), arrays, seen)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, arrays, seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, arrays, seen)


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (itself, or the array it is a view of)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array
