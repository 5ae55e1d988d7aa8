"""Correcting one structure of a result in its segmentation node: re-prompt, propagate, undo."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rau.engines import ENGINES, engine_class
from rau.errors import InputError
from rau.engines.base import Progress, Prompt
from rau.labels import names_in_words
from rau.mrml.geometry import MOVED, REMOVED, node_to_world, volume_in_place
from rau.mrml.results import LOW_CONFIDENCE, RAU_TAG, Logic, review_status, tag_json, tag_text, write_structure_result
from rau.mrml.segments import binary_labelmaps, check_labelmap_source, require_segment_id, segment_mask, set_look, structure_segment_id, write_segment_mask
from rau.result import Result, StructureResult, giving_way, voxels
from rau.session import same_answer, undone_voxels


@dataclass
class _Snapshot:
    """A segment as a correction found it: voxels, tag and status, and how it looked (name, colour, terminology
    and place in the list), so that undo can also bring back a segment the user deleted since."""

    mask: np.ndarray
    tag: str
    status: int
    name: str
    color: tuple[float, float, float]
    terminology: str
    index: int


@dataclass
class _Change:
    """What undoing one correction puts back: the segments it wrote (as they were, and the voxels it added to and
    removed from each), and the voxels it took from others."""

    written: dict[str, _Snapshot]  # by structure name
    taken: dict[str, np.ndarray]  # by segment id
    number: int = 0  # the changes of all segments, in the order they were made
    added: dict[str, np.ndarray] = field(default_factory=dict)  # by structure name
    removed: dict[str, np.ndarray] = field(default_factory=dict)


class Correction:
    """Sends prompts for one structure through ``result.session`` and writes the answer into ``node``.

    Only the segments the session changed are written (``session.changed``: the corrected one, and the
    old owner of a renamed vessel piece). Each change first saves those segments as they are in the
    node (manual edits included), and :meth:`undo` takes the change back: the voxels it added to them go, those it
    removed come back, and their tags say the session's answer after the undo, with the status they had where that is
    the answer from before (a segment deleted since comes back whole); so undoing corrections of several segments in
    any order ends where they started, tags and statuses too; a segment the session's undo changed that the undone
    correction did not write (an undo out of order) goes through the same change. With ``overwrite`` it
    also records the voxels it takes from other segments; undo gives a structure back what the session's undo gives
    it, and a segment the user added the voxels taken from it that the written segments still hold, added to what each
    has now: its own later corrections stay, and a voxel another segment took since stays with that one.
    Without ``overwrite`` the new mask gives way to the node's other segments where it takes new voxels,
    as :meth:`rau.result.Result.put` does for ``rau correct`` (voxels a segment already shared with another
    layer stay); with ``overwrite`` it clears their voxels under the voxels it takes.

    The session works on the target's voxels where they were at Run. If the node's transform, or the
    ``target_node``'s placement (a transform, also once hardened), has changed since, every correction and
    undo is refused (a click would land on other voxels than it was placed on). Once the user removed the
    ``target_node`` from the scene, corrections are refused, as their clicks are placed on it and their answers
    checked against it (one loaded again is another node, maybe placed elsewhere); undo, which writes back what the
    node held, needs only the node.
    """

    def __init__(self, result: Result, node, low_confidence: float = LOW_CONFIDENCE, overwrite: bool = False, target_node=None):
        if result.session is None:
            raise ValueError(f"the {result.engine!r} engine keeps no session; re-run with an engine that supports corrections")
        self.result, self.node, self.low_confidence, self.overwrite = result, node, low_confidence, overwrite
        self.target_node = target_node
        self._undo: dict[str, list[_Change]] = {}
        self._changes = 0
        self._placed = node_to_world(node)
        self._started_from: dict[str, dict[str, np.ndarray]] = {}  # by the structure corrected: what its correction read
        self._before_undo: dict[str, dict[str, StructureResult]] = {}  # by the structure undone: the session's answers before

    def close(self) -> None:
        """Free the session (its images, a model's features, a server's session)."""
        self.result.session.close()

    def update(self, name: str, prompt: Prompt, progress: Progress | None = None) -> StructureResult:
        """Re-prompt ``name`` with the user's points/box and write the new mask (a cancel changes nothing)."""
        self.sync_work(name)()
        return self.apply(name, self.result.session.reprompt(name, prompt, progress, self.overwrite))

    def propagate(self, name: str, progress: Progress | None = None) -> StructureResult:
        """Re-run ``name`` through all slices from its current prompts and write the new mask."""
        self.sync_work(name)()
        return self.apply(name, self.result.session.propagate(name, progress))

    def sync_work(self, name: str, undoing: bool = False):
        """Main thread: read the hand edits in the node that a correction (or, ``undoing``, an undo) of ``name`` starts
        from (:meth:`hand_edits`). Returns ``sync()``, which tells the session of them, safe on a worker thread (a
        server's session takes them by upload)."""
        edits, session = self.hand_edits(name, undoing), self.result.session

        def sync():
            for edited, mask in edits.items():
                session.edit(edited, mask)

        return sync

    def hand_edits(self, name: str, undoing: bool = False) -> dict[str, np.ndarray]:
        """Main thread: the voxels, as the node holds them, of the structures a correction of ``name`` may change:
        ``name``, and every other one when the engine's corrections change others (vessels), whose answers are written
        back (a hand edit of one would be lost). A structure whose segment the user deleted counts as emptied by hand;
        before an undo (``undoing``) it is left out, as the undo brings back a segment it wrote as it was.

        A correction starts from these: :meth:`apply` refuses to write over a segment edited since (by hand while
        the correction ran), as the answer would drop that edit. A node whose masks cannot be written (its source
        representation is not the binary labelmap) is refused here, before the session changes (before, the write
        refused it after the session's undo, which closed the session)."""
        self._check_structure(name)
        check_labelmap_source(self.node)
        others = self.result.engine in ENGINES and engine_class(self.result.engine).corrects_others  # a result made by hand: no
        names = [name] + ([n for n in self.result.session.results if n != name] if others else [])
        if undoing:
            names = [n for n in names if structure_segment_id(self.node, n)]
        edits = {n: self.node_mask(n, undoing) if n == name or structure_segment_id(self.node, n) else np.zeros(self.result.target.shape, bool)
                 for n in names}
        if not undoing:
            self._started_from[name] = edits
        return edits

    def node_mask(self, name: str, undoing: bool = False) -> np.ndarray:
        """Main thread: ``name``'s voxels as the node holds them (hand edits included), on the result's target."""
        self._check_in_place(undoing)
        return segment_mask(self.node, self._segment_id(name), self.result.target)

    def can_undo(self, name: str) -> bool:
        """Whether an update or propagate of ``name`` is left to undo (:meth:`undo`)."""
        return bool(self._undo.get(name))

    def undo(self, name: str) -> None:
        """Undo the last update or propagate of ``name``: the segments it wrote as they were before it,
        and the voxels it took from others, where the written segments still hold them (see the class doc)."""
        self.undo_work(name)()
        self.write_undo(name)

    def undo_work(self, name: str):
        """Main thread: check that ``name`` has a correction to undo and that the node can take its answer (placed as
        at Run, masks writable: :meth:`hand_edits`), so a refusal leaves the session and its undos as they were; return
        ``work(progress=None)``, which tells the engine session of the hand edits made since, as before a correction
        (:meth:`sync_work`), and undoes it there (a server's round trip), safe on a worker thread; then
        :meth:`write_undo`. A ``work`` that fails (a busy server) leaves the change to undo again; one cancelled
        (``progress`` raises ``Cancelled`` before each round trip) leaves the segment, its undos and the session's steps
        as they were (the session may have been told of the hand edits already, as by a cancelled correction)."""
        self.check_undoable(name)
        self._check_in_place(undoing=True)
        session, sync = self.result.session, self.sync_work(name, undoing=True)

        def work(progress=None):
            progress = progress or Progress()
            progress(f"Undoing {name}", 0.0)
            before = dict(session.results)
            sync()
            progress(f"Undoing {name}", 0.5)  # the last chance to cancel before the session changes
            if session.can_undo(name):
                self._before_undo[name] = before
                session.undo(name)

        return work

    def check_undoable(self, name: str) -> None:
        """Refuse ``name`` unless the result spells a structure so and a correction of it is left to undo here."""
        self._check_structure(name)
        if not self.can_undo(name):
            raise ValueError(f"nothing to undo for {name!r}")

    def write_undo(self, name: str) -> None:
        """Main thread, after :meth:`undo_work`'s ``work``: write what undoing ``name`` puts back into the node. The
        session goes on from what each written segment holds (``session.gave_way``, as after ``rau correct``'s undo):
        before, it kept its answer from before the correction, voxels another segment took since too. A structure the
        correction took voxels from gets back what the session's undo gives it (:meth:`_write_others_undone`); only a
        segment the session does not know (one the user added) gets the voxels taken from it that the written segments
        hold (before, structures got both, and a voxel the session left with the undone segment went to two)."""
        self.check_undoable(name)
        self._check_in_place(undoing=True)
        change = self._undo[name].pop()
        unknown = {segment_id: taken for segment_id, taken in change.taken.items() if segment_id not in self.result.session.results}
        held = self._held(change.written) if unknown else None
        for other, snapshot in change.written.items():
            mask = snapshot.mask
            if not structure_segment_id(self.node, other):
                self._recreate(other, snapshot)
            elif other in change.added:  # what other segments' corrections and undos gave it since stays
                now = segment_mask(self.node, self._segment_id(other), self.result.target)
                mask = undone_voxels(now, change.added[other], change.removed[other])
            write_segment_mask(self.node, other, mask, self.result.target)
            self.result.session.gave_way(other, mask)  # voxels taken from it since stay with the taker, as in the node
            self._write_answer(other, snapshot)
        for other, taken in unknown.items():  # the structures it took from: _write_others_undone
            self._give_back(other, taken & held)
        self._write_others_undone(name, change.written)
        self._forget_what_it_gave(change)

    def _write_others_undone(self, name: str, written: dict[str, _Snapshot]) -> None:
        """Write the structures whose session answers the undo of ``name`` changed (the hand edits it was told of, then
        its undo) that the undone correction did not write (an undo out of order may give one voxels: before, its
        segment, tag and result kept what they were): each segment goes through the same change as the session's answer,
        on the voxels it holds now (:func:`rau.session.undone_voxels`), and the session goes on from it
        (``session.gave_way``)."""
        before, session = self._before_undo.pop(name, None), self.result.session
        if before is None or session.changed[:1] != (name,):
            return
        changed = (n for n, answer in session.results.items() if n not in written and not same_answer(before[n], answer))
        for other in (n for n in changed if structure_segment_id(self.node, n)):
            was, now = (voxels(answer, self.result.target.shape) for answer in (before[other], session.results[other]))
            mask = undone_voxels(segment_mask(self.node, self._segment_id(other), self.result.target), was & ~now, now & ~was)
            write_segment_mask(self.node, other, mask, self.result.target)
            session.gave_way(other, mask)  # as written: a server's session, which wrote the undo by its own rule, too
            self._write_answer(other)

    def _write_answer(self, name: str, snapshot: _Snapshot | None = None) -> None:
        """After an undo, tag the segment of ``name`` with the session's answer, and keep that in the result; its status
        is ``snapshot``'s where the answer is the one it had then (a status the user set comes back), else as a write
        sets it (before, the snapshot's tag and status came back also when a correction since had been undone)."""
        answer = self.result.session.results[name]
        tag, segment = tag_json(answer, self.result.target), self._segment(name)
        segment.SetTag(RAU_TAG, tag)
        kept = snapshot is not None and tag == snapshot.tag
        Logic.SetSegmentStatus(segment, snapshot.status if kept else review_status(answer, self.low_confidence))
        self.result.hold(answer)

    def _forget_what_it_gave(self, undone: _Change) -> None:
        """As if ``undone`` had never been: a later change that took or removed voxels it had added to a segment no
        longer gives them back to it on its undo, and one that gave a segment back voxels ``undone`` had taken from it
        or removed no longer removes them on its undo (before, undoing in another order than the reverse moved such
        voxels)."""
        added = {structure_segment_id(self.node, name): voxels for name, voxels in undone.added.items()}  # '' for one deleted since
        for change in (c for changes in self._undo.values() for c in changes if c.number > undone.number):
            for segment_id in added.keys() & change.taken.keys():
                change.taken[segment_id] = change.taken[segment_id] & ~added[segment_id]
            for name in undone.added.keys() & change.removed.keys():
                change.removed[name] = change.removed[name] & ~undone.added[name]
            for name, voxels in change.added.items():
                lost = undone.removed.get(name, undone.taken.get(structure_segment_id(self.node, name)))  # removed from it, or taken
                if lost is not None:
                    change.added[name] = voxels & ~lost

    def _recreate(self, name: str, snapshot: _Snapshot) -> None:
        """An empty segment for the structure ``name``, deleted since ``snapshot``, looking and placed as it was."""
        segmentation = self.node.GetSegmentation()
        segment_id = segmentation.AddEmptySegment(segmentation.GenerateUniqueSegmentID(name), snapshot.name, list(snapshot.color))
        set_look(segmentation.GetSegment(segment_id), snapshot.color, snapshot.terminology)
        segmentation.SetSegmentIndex(segment_id, min(snapshot.index, segmentation.GetNumberOfSegments() - 1))

    def _held(self, names) -> np.ndarray:
        """The voxels the segments of the structures ``names`` hold now (those deleted since hold none)."""
        held, labelmaps = np.zeros(self.result.target.shape, bool), binary_labelmaps(self.node)
        for segment_id in filter(None, (structure_segment_id(self.node, name) for name in names)):
            held |= segment_mask(self.node, segment_id, self.result.target, labelmaps)
        return held

    def _give_back(self, segment_id: str, voxels: np.ndarray) -> None:
        """Add ``voxels`` to the segment ``segment_id`` as it is now (nothing when it was deleted since)."""
        if self.node.GetSegmentation().GetSegment(segment_id) is not None and voxels.any():
            current = segment_mask(self.node, segment_id, self.result.target)
            write_segment_mask(self.node, segment_id, current | voxels, self.result.target)

    def _check_in_place(self, undoing: bool = False) -> None:
        """Refuse to go on when the result or the target was moved (a transform changed or was hardened), or the
        target's geometry changed, since the target was read for Run; and a correction (not ``undoing``) once the
        target was removed from the scene (see the class doc). Before, a removed target that had been under a
        transform counted as moved (it has none once removed), and one that had not let corrections go on."""
        removed = self.target_node is not None and self.target_node.GetScene() is None
        if removed and not undoing:
            raise ValueError(f"the target {self.target_node.GetName()!r} of {self.node.GetName()!r} {REMOVED} after Run; corrections "
                             "are placed on the target as it was at Run: load it again and press Run (undo still works)")
        placed = node_to_world(self.node, "undoing a correction" if undoing else "correcting it")
        moved = not np.allclose(placed, self._placed, atol=1e-6)
        if moved or (self.target_node is not None and not removed and not volume_in_place(self.target_node, self.result.target)):
            raise ValueError(f"{self.node.GetName()!r} or its target {MOVED} after Run; "
                             "corrections follow the target as it was at Run: put it back, or press Run again")

    def structure_of(self, name: str) -> str | None:
        """The result's structure ``name`` names, as the result spells it, or None: a structure's name, matched as
        everywhere (case, spaces and punctuation aside: :meth:`rau.labels.LabelSet.find`), or the id of the segment
        corrections of a structure go to (:func:`rau.mrml.segments.structure_segment_id`; the panel picks segments
        by id, and one the user made again under the structure's name has an id of its own). None too for a segment id
        where two segments are called as its structure (:meth:`structure_name` says so)."""
        found = self.result.labels.find(name)
        segment = self.node.GetSegmentation().GetSegment(name)
        if found is None and segment is not None:
            found = self.result.labels.find(segment.GetName())
            try:
                if found is not None and structure_segment_id(self.node, found.name) != name:
                    return None
            except InputError:  # two segments called alike: the panel greys its buttons
                return None
        return found.name if found is not None and found.name in self.result.session.results else None

    def structure_name(self, name: str) -> str:
        """:meth:`structure_of` ``name``; a segment that is no structure's (one the user added) is refused, naming
        it as the node shows it."""
        found = self.structure_of(name)
        if found is None:
            segment = self.node.GetSegmentation().GetSegment(name)
            shown = segment.GetName() if segment else name
            owner = self.structure_of(shown)
            if segment is not None and owner is not None:
                own = self.node.GetSegmentation().GetSegment(structure_segment_id(self.node, owner)).GetName()
                raise ValueError(f"segment {shown!r} of {self.node.GetName()!r} was added by hand: RAUSlicer corrects the "
                                 f"structure {owner!r} in its segment {own!r}")
            listed = names_in_words([s.structure.name for s in self.result.structures])
            raise ValueError(f"{shown!r} is not a structure RAUSlicer found in {self.node.GetName()!r}; "
                             f"only those can be corrected: {listed}")
        return found

    def _check_structure(self, name: str) -> None:
        """Refuse ``name`` unless the result spells a structure so: a correction's steps key the session, the node's
        segment and the undo record by that spelling (:meth:`structure_name` finds it from another)."""
        spelled = self.structure_name(name)
        if spelled != name:
            raise ValueError(f"{name!r}: call the structure {spelled!r}, as the result {self.node.GetName()!r} spells it")

    def _segment_id(self, name: str) -> str:
        """The segment of the structure ``name``, also after the user renamed it (its id stays the structure's name)."""
        return require_segment_id(self.node, name, structure=True)

    def _segment(self, name: str):
        return self.node.GetSegmentation().GetSegment(self._segment_id(name))

    def _snapshot(self, name: str) -> _Snapshot:
        segment_id = self._segment_id(name)
        segment = self.node.GetSegmentation().GetSegment(segment_id)
        mask = segment_mask(self.node, segment_id, self.result.target)
        return _Snapshot(mask, tag_text(segment), Logic.GetSegmentStatus(segment), segment.GetName(), tuple(segment.GetColor()),
                         segment.GetTerminology(), self.node.GetSegmentation().GetSegmentIndex(segment_id))

    def apply(self, name: str, item: StructureResult) -> StructureResult:
        """Write an answer for ``name`` computed elsewhere (e.g. ``session.reprompt`` on a worker thread),
        and the session's answers for the other structures that correction changed."""
        self._check_structure(name)
        started_from = self._started_from.pop(name, {})
        self._check_in_place()
        session = self.result.session
        others = [n for n in session.changed if n != name] if session.changed[:1] == (name,) else []
        items = {name: item, **{n: session.results[n] for n in others}}
        snapshots = {n: self._snapshot(n) for n in items}
        self._check_not_edited_since(snapshots, started_from)
        taken = {}
        if self.overwrite:  # undo gives these voxels back
            taken = self._taken(items, snapshots)
        else:
            occupied = self.voxels_of_others(set(items))
            items = {n: giving_way(written, occupied & ~snapshots[n].mask) for n, written in items.items()}
        self._changes += 1
        change = _Change(snapshots, taken, self._changes)
        self._undo[name] = (self._undo.get(name, []) + [change])[-session.undo_depth:]  # as many as the session keeps
        for n, written in items.items():
            write_structure_result(self.node, written, self.result.target, self.low_confidence, self.overwrite)
            now = segment_mask(self.node, self._segment_id(n), self.result.target)
            change.added[n], change.removed[n] = now & ~snapshots[n].mask, snapshots[n].mask & ~now
        self.result.structures = [items.get(s.structure.name, s) for s in self.result.structures]
        self._tell_session(name, items, taken)
        return items[name]

    def _tell_session(self, name: str, items: dict[str, StructureResult], taken: dict[str, np.ndarray]) -> None:
        """After writing the correction of ``name``: the session goes on from what was written, as after ``rau correct``
        (:meth:`rau.result.Result.put_correction`), not as from hand edits. An answer written giving way to other
        segments tells it so (``session.gave_way``); so does each structure whose voxels it took (overwrite; ``taken``
        by segment id: ``session.gave_up``, so the undo of ``name`` gives them back), whose tag and status then say the
        session's answer (one left with no voxel: not found, taken by ``name``). Before, such segments kept their old
        tags, and the next correction sent what they had lost as a hand edit, which undo wrote into the tags."""
        session = self.result.session
        for n, written in items.items():
            if written is not session.results[n]:
                session.gave_way(n, voxels(written, self.result.target.shape))
        for other in (segment_id for segment_id in taken if segment_id in session.results):
            session.gave_up(name, other, segment_mask(self.node, other, self.result.target))
            self._write_answer(other)

    def _check_not_edited_since(self, snapshots: dict[str, _Snapshot], started_from: dict[str, np.ndarray]) -> None:
        """Refuse to write segments edited by hand since the correction read them (``started_from``, :meth:`hand_edits`)."""
        edited = [n for n, snapshot in snapshots.items() if n in started_from and not np.array_equal(snapshot.mask, started_from[n])]
        if edited:
            raise ValueError(f"{', '.join(map(repr, edited))} of {self.node.GetName()!r} {'was' if len(edited) == 1 else 'were'} edited "
                             "while the correction ran: the correction was not written and the edit is kept; correct it again")

    def _taken(self, items: dict[str, StructureResult], snapshots: dict[str, _Snapshot]) -> dict[str, np.ndarray]:
        """The voxels that writing ``items`` with overwrite takes from each of the node's other segments."""
        gained = np.zeros(self.result.target.shape, bool)
        for n, written in items.items():
            if written.found:
                gained |= written.mask & ~snapshots[n].mask
        return {other: mask & gained for other, mask in self._others(set(items)) if (mask & gained).any()}

    def voxels_of_others(self, written: set[str]) -> np.ndarray:
        """The voxels of the node's segments other than those of the structures ``written``."""
        return self.union_of(mask for _, mask in self._others(written))

    def union_of(self, masks) -> np.ndarray:
        """The voxels any of ``masks`` (on the result's target) holds."""
        taken = np.zeros(self.result.target.shape, bool)
        for mask in masks:
            taken |= mask
        return taken

    def masks_of_others(self, written: set[str]) -> dict[str, np.ndarray]:
        """The voxels of each of the node's segments other than those of the structures ``written``, by the segment's
        name as Slicer shows it (one painted by hand, which the engine's session does not know, too): who holds what."""
        segmentation, masks = self.node.GetSegmentation(), {}
        for segment_id, mask in self._others(written):
            name = segmentation.GetSegment(segment_id).GetName()
            masks[name] = masks[name] | mask if name in masks else mask
        return masks

    def _others(self, written: set[str]):
        """(segment id, mask) of each of the node's segments that this change does not write (the structures
        ``written``)."""
        written_ids = {structure_segment_id(self.node, name) for name in written}
        segmentation, labelmaps = self.node.GetSegmentation(), binary_labelmaps(self.node)
        for index in range(segmentation.GetNumberOfSegments()):
            segment_id = segmentation.GetNthSegmentID(index)
            if segment_id not in written_ids:
                yield segment_id, segment_mask(self.node, segment_id, self.result.target, labelmaps)


