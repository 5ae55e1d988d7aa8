"""What an engine returns: per structure a mask, a box, a confidence and its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from rau.boxes import Box
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure, UnknownStructureError


@dataclass
class StructureResult:
    """One structure in the target. ``mask`` is None when the structure was not found."""

    structure: Structure
    mask: np.ndarray | None
    confidence: float
    engine: str
    prompts: dict = field(default_factory=dict)
    box: Box | None = None
    message: str = ""

    def __post_init__(self):
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=bool)
            if not self.mask.any():
                self.mask = None
        if self.box is None and self.mask is not None:
            self.box = Box.from_mask(self.mask)

    @property
    def found(self) -> bool:
        return self.mask is not None


def voxels(item: StructureResult, shape: tuple) -> np.ndarray:
    """``item``'s mask, all false (of ``shape``) when it is not found."""
    return item.mask if item.found else np.zeros(shape, bool)


GAVE_WAY = "every voxel it took belongs to other structures (correct it with overwrite to take them)"
"""Why a corrected structure that gave way to the others has no voxel left."""


def taken_by(name: str) -> str:
    """Why a structure has no voxel left after the correction of ``name`` took them all."""
    return f"every voxel it had went to {name!r}, corrected over it"


def giving_way(item: StructureResult, taken: np.ndarray) -> StructureResult:
    """``item`` without the ``taken`` voxels, which other structures hold (:func:`without`, :data:`GAVE_WAY`)."""
    return without(item, taken, GAVE_WAY)


def without(item: StructureResult, taken: np.ndarray, reason: str) -> StructureResult:
    """``item`` without the ``taken`` voxels (the same item when it has none of them); left with no voxel, it is
    not found, with confidence 0 and ``reason`` as its message."""
    if not item.found or not (item.mask & taken).any():
        return item
    mask = item.mask & ~taken
    if not mask.any():
        return replace(item, mask=None, box=None, confidence=0.0, message=reason)
    return replace(item, mask=mask, box=None)


@dataclass
class Result:
    """Everything found in one target image, in the target's geometry."""

    target: Image
    structures: list[StructureResult]
    engine: str
    seconds: float = 0.0
    details: dict = field(default_factory=dict)
    session: object | None = None
    """Engines that support correction keep a session here with ``reprompt(name, prompt)`` and
    ``propagate(name)``, each returning the structure's new :class:`StructureResult`."""

    def get(self, name: str) -> StructureResult:
        """The structure called exactly ``name`` (:meth:`named` matches a name as a user spells it); raises
        :class:`rau.labels.UnknownStructureError` naming the ones there are."""
        for item in self.structures:
            if item.structure.name == name:
                return item
        names = ", ".join(repr(item.structure.name) for item in self.structures) or "none"
        raise UnknownStructureError(f"no structure called exactly {name!r} in this result (Result.named matches as a user "
                                    f"spells it); available: {names}")

    @property
    def labels(self) -> LabelSet:
        """The structures (names, values, colours), in order."""
        return LabelSet(tuple(item.structure for item in self.structures))

    def named(self, name: str) -> StructureResult:
        """The structure called ``name`` as a user spells it: matched as everywhere (case, spaces and punctuation
        aside, :meth:`rau.labels.LabelSet.get`); raises :class:`rau.labels.UnknownStructureError` naming the ones there are."""
        return self.get(self.labels.get(name).name)

    def held_by_others(self, name: str) -> np.ndarray:
        """The voxels the structures other than ``name`` hold."""
        held = np.zeros(self.target.shape, bool)
        for item in self.structures:
            if item.found and item.structure.name != name:
                held |= item.mask
        return held

    def put(self, item: StructureResult, overwrite: bool = False) -> StructureResult:
        """Replace the structure ``item`` corrects. Voxels it already held stay, shared or not (structures
        may overlap, e.g. the layers of a ``.seg.nrrd``). Of the voxels it newly takes, without ``overwrite``
        it gives way to the other structures (they stay bit-identical); with ``overwrite`` they lose them."""
        name = item.structure.name
        before = self.get(name)
        held = voxels(before, self.target.shape)
        if item.found and not overwrite:
            item = giving_way(item, self.held_by_others(name) & ~held)
        gained = item.mask & ~held if item.found else None
        updated = []
        for current in self.structures:
            if current.structure.name == name:
                current = item
            elif overwrite and item.found:
                current = without(current, gained, taken_by(name))
            updated.append(current)
        self.structures = updated
        return item

    def hold(self, item: StructureResult) -> StructureResult:
        """Replace the structure ``item`` answers with ``item`` as it is (a hand edit, a mask a client wrote by its own
        rule): voxels it shares with other structures stay shared, the others stay as they are. Returns ``item``."""
        self.structures = [item if current.structure.name == item.structure.name else current for current in self.structures]
        return item

    def put_correction(self, item: StructureResult, session, overwrite: bool = False) -> StructureResult:
        """A correction that ``session`` answered, into the result as ``rau correct`` and the server write it:
        first the other structures the session changed (``session.changed``, e.g. the old owner of a renamed
        vessel piece gives it up), then ``item`` (:meth:`put`); returns ``item`` as written. ``overwrite``: the
        choice given to ``session.reprompt``. An undo gives the structure back, shared as before it, the voxels other structures
        held with it before the undone correction (``session.shared_again``). The session then goes on from what was written (a corrected structure
        that gave way, the voxels others lost; ``session.set_mask``), so corrections in one session give what a chain
        of ``rau correct`` runs gives."""
        name, before = item.structure.name, list(self.structures)
        current, kept = self.get(name), voxels(item, self.target.shape)
        if current.found and (current.mask & ~kept).any():  # the voxels it gives up are free for the others (an undo)
            self.put(replace(current, mask=current.mask & kept))
        if session.shared_again is not None:  # an undo: voxels others held with it before the undone correction stay shared
            self.hold(replace(self.get(name), mask=voxels(self.get(name), self.target.shape) | session.shared_again, box=None))
        for other in session.changed:
            if other != name:
                self.put(session.results[other])
        item = self.put(item, overwrite)
        if (kept := flagged_as_it_was(item, voxels(current, self.target.shape), current.confidence)) is not item:
            item = self.put(kept)
        for old, written in zip(before, self.structures):
            if written is old:
                continue
            if written.structure.name == name:
                session.gave_way(name, voxels(written, self.target.shape))
            elif written.structure.name in session.changed:
                session.set_mask(written.structure.name, voxels(written, self.target.shape))
            else:  # it lost voxels to the overwrite
                session.gave_up(name, written.structure.name, voxels(written, self.target.shape))
        return item

    def to_segmentation(self) -> Segmentation:
        """Every structure as a :class:`Segmentation` on the target grid, a structure not found as an empty mask
        (it keeps its name, value and color in the outputs, as in the Slicer module's result). The masks are the
        result's own, not copies (a volume's may take gigabytes): copy one before changing it."""
        labels = self.labels
        geometry = self.target.with_array(np.zeros(self.target.shape, dtype=np.uint8))
        empty = np.zeros(self.target.shape, bool)
        empty.flags.writeable = False  # shared by the structures not found
        return Segmentation(geometry, labels, {s.structure.name: s.mask if s.found else empty for s in self.structures})

    def summary(self) -> list[dict]:
        """One JSON-ready row per structure (no masks)."""
        return [
            {
                "name": s.structure.name,
                "value": s.structure.value,
                "color": [float(c) for c in s.structure.color],  # whole: the table is written from it, to 8 bits
                "terminology": s.structure.terminology,
                "found": s.found,
                "confidence": round(float(s.confidence), 4),
                "engine": s.engine,
                "box": s.box.to_dict(self.target) if s.box else None,
                "voxels": int(s.mask.sum()) if s.found else 0,
                "message": s.message,
                "prompts": s.prompts,
            }
            for s in self.structures
        ]


def flagged_as_it_was(written: StructureResult, mask: np.ndarray, confidence: float) -> StructureResult:
    """``written`` with the structure's earlier ``confidence`` when its voxels are its earlier ``mask``: a correction
    written as the structure was (it gave way to the others) leaves it flagged for review as it was, as a prompt that
    changes nothing does (:func:`rau.session.users_answer`)."""
    if written.confidence == confidence or not np.array_equal(voxels(written, mask.shape), mask):
        return written
    return replace(written, confidence=confidence)
