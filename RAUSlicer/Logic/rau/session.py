"""The one correction interface every engine's ``Result.session`` implements.

A session holds the current answer for each structure of one run and changes one structure
at a time: ``reprompt(name, prompt)`` (points and/or a box), ``propagate(name)`` (carry the
corrections through the volume) and ``undo(name)``. Each correction checks the prompt against
the target first (a bad prompt raises :class:`~rau.errors.InputError`), honours
:class:`~rau.engines.base.Progress` (cancel included) and only replaces the structure's answer
when it finishes: a failed or cancelled correction leaves the structure as it was.

Engines implement :meth:`Session._reprompt` (and :meth:`Session._propagate` when they can);
model-free engines get :class:`rau.correction.CorrectorSession`.
"""

from __future__ import annotations

import abc
import math
import numbers
from dataclasses import replace

import numpy as np

from rau.boxes import Box, check_corners
from rau.engines.base import Progress, Prompt
from rau.errors import InputError
from rau.image import Image
from rau.labels import names_in_words, normalize_name
from rau.result import GAVE_WAY, StructureResult, taken_by, voxels
from rau.held_memory import distinct_bytes
from rau.undo_history import Step, Taking

AXIS_LETTERS = "kji"
EDITED_EMPTY = "every voxel was removed by an edit"
"""Why a structure a hand edit (:meth:`Session.edit`) emptied is not found."""


class Session(abc.ABC):
    """Per-structure answers of one run with reprompt / propagate / undo (see the module doc).

    ``changed``: the structures the last ``reprompt``/``propagate``/``undo`` changed, the corrected one
    first. Usually just that one; a vessel piece renamed away from a wrong name also changes its old
    owner. Whoever writes a correction (Slicer, the server, ``rau correct``) writes all of them.
    """

    undo_depth = 20
    """How many corrections of each structure :meth:`undo` can take back; the Slicer module's node undoes as many."""
    closed_reason: str | None = None
    """Why this session takes no more corrections (a server closed it), or None while it does."""
    overwrite = False
    """The choice of the last :meth:`reprompt`: may its answer take voxels other structures hold? An engine whose
    structures share one map (vessels) acts on it while correcting; other answers are cut where they are written."""
    unchanged = ""
    """Why the last :meth:`reprompt` changed nothing, where the engine can tell (vessels; a server's session: as the server
    says it); empty otherwise."""
    answered: StructureResult | None = None
    """The last :meth:`reprompt`'s answer as the engine gave it, before it was written (written without ``overwrite``,
    it gives way to other structures: :mod:`rau.reprompt_notes` says so)."""
    shared_again: np.ndarray | None = None
    """After an :meth:`undo`: the voxels its answer takes back that other structures held with it before the undone
    correction and hold still (a hand edit painted one over another), written shared again
    (:meth:`rau.result.Result.put_correction`); None after any other correction, or when there are none."""

    def __init__(self, target: Image, results: dict[str, StructureResult]):
        self.target = target
        self.results = results
        self._steps: dict[str, list[Step]] = {}  # each structure's corrections to undo, the latest last
        self._corrections = 0  # all structures' corrections so far: each step's number
        self._undone_last: str | None = None  # the structure whose correction the last change undid
        self._emptied: dict[str, tuple[float, str, str]] = {}  # confidence and message before a mask emptied each, and why empty
        self._edits: dict[str, int] = {}  # how many hand edits (:meth:`edit`) changed each structure
        self.changed: tuple[str, ...] = ()  # see the class doc

    # --- the interface -------------------------------------------------------------------------
    def reprompt(self, name: str, prompt: Prompt, progress: Progress | None = None, overwrite: bool = False) -> StructureResult:
        """Correct ``name`` with the user's points and/or box; returns its new answer (:func:`users_answer`).
        Points may be given as i,j on a 2D target (:func:`prompt_point`). ``overwrite``: the answer may take voxels
        of other structures; give the same choice to :meth:`rau.result.Result.put_correction`, which writes it."""
        name = self._name(name)
        prompt = self.checked_prompt(prompt)
        self.overwrite, self.unchanged = overwrite, ""
        before = self.results[name]
        self.answered = self._change(name, lambda progress: users_answer(before, self._reprompt(name, prompt, progress)), progress, "correcting")
        return self.answered

    def checked_prompt(self, prompt: Prompt) -> Prompt:
        """``prompt`` as a correction takes it: points given as i,j on a 2D target put on its slice, checked
        (:func:`check_prompt`), a box reaching past the edge cut to the image, as Slicer cuts an ROI."""
        prompt = replace(prompt, points=[prompt_point(point, self.target, f"the point {point!r:.40}") for point in prompt.points])
        check_prompt(prompt, self.target)
        return replace(prompt, box=prompt.box.clip(self.target)) if prompt.box is not None else prompt

    @property
    def propagates(self) -> bool:
        """Whether :meth:`propagate` carries corrections further (SAM2 tracks them through the slices); an engine whose
        corrections already act on the whole target refuses it."""
        return type(self)._propagate is not Session._propagate

    def propagate(self, name: str, progress: Progress | None = None) -> StructureResult:
        """Carry ``name``'s corrections through the whole target; returns its new answer. Refused (:class:`InputError`,
        nothing changed, no undo step) where the session does not :attr:`propagate <propagates>`."""
        name = self._name(name)
        if not self.propagates:
            raise InputError(f"nothing to propagate for {name!r}: this engine's corrections already act on the whole target")
        return self._change(name, lambda progress: self._propagate(name, progress), progress, "propagating")

    def can_undo(self, name: str) -> bool:
        """Whether ``name`` has a correction to undo."""
        return bool(self._steps.get(name))

    def undo(self, name: str) -> StructureResult:
        """Go back to ``name``'s answer (and correction state) before its last reprompt or propagate."""
        name = self._name(name)
        if not self.can_undo(name):
            raise InputError(f"nothing to undo for {name!r}")
        before, step = dict(self.results), self._steps[name].pop()
        self.answered = None  # the last reprompt's answer, no longer held by an undo step
        self._undo_to(name, step.undone)
        self.keep_emptied(name, step.emptied)
        if step.gifts:  # taken before the correction, given back since: the answer from before it gets them too
            self.set_mask(name, voxels(self.results[name], self.target.shape) | np.logical_or.reduce([gift for _, gift in step.gifts]))
            for taker, gift in step.gifts:
                self._remember_gift(name, gift, taker)
        if self._edits.get(name, 0) != step.edits:  # edited by hand since: the edit stays, as in the Slicer module
            self.set_mask(name, undone_voxels(voxels(before[name], self.target.shape), *step.voxels_changed(self.target.shape)))
        self._taken_from_as_undone(name, step.number)
        self._as_never_made(name, step)
        self._give_back(name, before[name], step.taken, step.number)
        self._pass_on_owed(name, step)
        self.shared_again = self._still_shared(name, step.shared)
        self.changed, self._undone_last = self._changed_since(name, before), name
        return self.results[name]

    def close(self) -> None:
        """Free what the session holds elsewhere (a server's session); here, nothing."""

    def send_untold(self) -> None:
        """Tell a server's session what :meth:`gave_way` and :meth:`gave_up` heard since its last round trip (they ask
        it nothing, so that writing a correction on Slicer's GUI thread never waits for a server); here, nothing."""

    def held_bytes(self, besides=None) -> int:
        """Memory this session holds, estimated: every distinct array of its answers, its target and its undo
        (:func:`rau.held_memory.distinct_bytes`), less those ``besides`` reaches (a result's, counted with it: an answer
        the result holds as it is); an engine adds what it keeps itself (SAM2: the images it reads, cached features, its memory)."""
        return distinct_bytes(self._held(), besides)

    def _held(self) -> tuple:
        """What this session's arrays are reached from: its undo, its answers, its target (an engine's session adds its
        own records)."""
        return self._steps, self.results, self.target

    def edit(self, name: str, mask) -> None:
        """The user changed ``name`` by hand: later corrections start from ``mask`` (:meth:`set_mask`), and undoing an
        earlier correction keeps the edit (:func:`undone_voxels`). The edit itself is not undoable here."""
        name = self._name(name)
        before = self.results[name]
        self.set_mask(name, mask)
        if self.results[name] is not before:
            self._edits[name] = self._edits.get(name, 0) + 1

    def set_mask(self, name: str, mask, why_empty: str = EDITED_EMPTY) -> None:
        """``name`` goes on from ``mask``, as written where the session's answers are kept (not a hand edit: undo takes
        back the corrections before it as it would without it). A ``mask`` with no voxel leaves it not found, with
        ``why_empty`` as its message. A structure this emptied gets its confidence and message from before that back
        with its voxels, also when an undo gives them back (before, it kept confidence 0 and "every voxel was removed
        by an edit")."""
        name = self._name(name)
        mask = np.asarray(mask, bool)
        if mask.shape != self.target.shape:
            raise InputError(f"the edited mask of {name!r} has shape {mask.shape}; the target's is {self.target.shape}")
        current = self.results[name]
        if (current.mask is None and not mask.any()) or (current.mask is not None and np.array_equal(current.mask, mask)):
            return
        if not mask.any():  # emptied: not found, as a correction that removes every voxel leaves it
            self._emptied[name] = (current.confidence, current.message, why_empty)
            self.results[name] = replace(current, mask=None, box=None, confidence=0.0, message=why_empty)
            return
        confidence, message, why = self._emptied.get(name) or (current.confidence, current.message, None)
        if current.message == why:  # still as this emptied it: its confidence and message from before come back
            del self._emptied[name]
        else:
            confidence, message = current.confidence, current.message
        self.results[name] = replace(current, mask=mask.copy(), box=None, confidence=confidence, message=message)

    def keep_emptied(self, name: str, emptied: tuple[float, str, str] | None) -> None:
        """Set what :meth:`edit` gives back to ``name`` when it fills it again after an edit emptied it (None: nothing;
        undo and a hand edit the server did not take put back what was kept before)."""
        if emptied is None:
            self._emptied.pop(name, None)
        else:
            self._emptied[name] = emptied

    def resume(self, saved: StructureResult) -> None:
        """Go on from a saved answer: its mask, confidence, prompts (the correction count) and message, as a session
        rebuilt for a result read from disk does, so that a chain of ``rau correct`` runs ends where one session
        ends (not undoable here)."""
        name = self._name(saved.structure.name)
        self.set_mask(name, voxels(saved, self.target.shape))
        self.results[name] = replace(self.results[name], confidence=saved.confidence, prompts=dict(saved.prompts), message=saved.message)

    def gave_up(self, taker: str, name: str, mask) -> None:
        """Where it was written, ``taker``'s last correction took voxels from ``name`` (overwrite): ``name`` goes on
        from ``mask`` (:meth:`set_mask`; left with none, its message says ``taker`` took them, as the written result's
        does), and undoing that correction gives them back where ``taker`` gives them up."""
        before = self.results[name]
        self.set_mask(name, mask, taken_by(taker))
        if self._steps.get(taker):
            self._owe(taker, name, Taking(before, self._latest(name), voxels(before, self.target.shape) & ~np.asarray(mask, bool)))

    def gave_way(self, name: str, mask) -> None:
        """Where it was written, ``name``'s answer gave way to other structures, keeping ``mask``: ``name`` goes on from
        it (:meth:`set_mask`; left with none, its message says why). After an undo of ``name``, a structure whose latest correction holds voxels it gave way on
        gives them to it when that correction is undone, as a Slicer node (where segments may overlap) ends."""
        answer, kept = self.results[name], np.asarray(mask, bool)
        self.set_mask(name, kept, GAVE_WAY)
        wanted = voxels(answer, self.target.shape) & ~kept
        if self._undone_last != name or not wanted.any():
            return
        for other, item in self.results.items():
            held = wanted & voxels(item, self.target.shape)
            if other != name and self._steps.get(other) and held.any():
                self._owe(other, name, Taking(answer, self._latest(name), held, owed=True))

    def _owe(self, holder: str, name: str, taking: Taking) -> None:
        """Record on ``holder``'s latest correction that undoing it gives ``name`` the voxels of ``taking``."""
        recorded = self._steps[holder][-1].taken.setdefault(name, taking)
        if recorded is not taking:
            recorded.lost |= taking.lost

    # --- for engines ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _reprompt(self, name: str, prompt: Prompt, progress: Progress) -> StructureResult:
        """The new answer for ``name``; may update correction state (restored on failure)."""

    def _propagate(self, name: str, progress: Progress) -> StructureResult:
        """The new answer for ``name``, its corrections carried through the target: engines that can override it
        (:attr:`propagates`); the others' corrections already act in 3D."""
        raise NotImplementedError

    def _snapshot(self, name: str):
        """Everything a correction of ``name`` may change; engines with more state extend it."""
        return self.results[name]

    def _restore(self, name: str, snapshot) -> None:
        self.results[name] = snapshot

    def _undone(self, name: str, snapshot):
        """What undoing the correction of ``name`` that just ended needs: by default its :meth:`_snapshot` from before."""
        return snapshot

    def _undo_to(self, name: str, undone) -> None:
        """Take back one correction of ``name`` (:meth:`_undone`'s record): by default, restore the snapshot."""
        self._restore(name, undone)

    def _forget(self, record, name: str, undone):
        """``record`` (:meth:`_undone`'s) of a later correction, as if ``name``'s correction with the record ``undone`` had
        never been: by default as it is (a record that holds only its own structure's answer)."""
        return record

    # --- plumbing ------------------------------------------------------------------------------
    def _change(self, name: str, work, progress: Progress | None, verb: str) -> StructureResult:
        progress = progress or Progress()
        progress(f"{verb} {name}", 0.0)
        snapshot, before, emptied = self._snapshot(name), dict(self.results), self._emptied.get(name)
        try:
            item = work(progress)
            progress(f"{verb} {name}", 1.0)  # the last chance to cancel before anything changes
        except BaseException:
            self._restore(name, snapshot)
            raise
        self.results[name] = item
        self._corrections, self._undone_last, self.shared_again = self._corrections + 1, None, None
        step = Step(self._undone(name, snapshot), self._corrections, emptied, self._edits.get(name, 0), before[name], item,
                    shared=self._shared_lost(name, before, item))
        self._steps[name] = (self._steps.get(name, []) + [step])[-self.undo_depth :]
        self.changed = self._changed_since(name, before)
        return item

    def _shared_lost(self, name: str, before: dict[str, StructureResult], item: StructureResult) -> dict[str, np.ndarray]:
        """The voxels ``name``'s new answer ``item`` lost that another structure held with it (``before``: the answers
        before the correction), by that structure: its undo gives them back shared (:attr:`shared_again`)."""
        lost = voxels(before[name], self.target.shape) & ~voxels(item, self.target.shape)
        box = Box.from_mask(lost)
        if box is None:
            return {}
        region, shared = box.slices(), {}  # looked at within the lost voxels' box only
        for other, answer in before.items():
            if other != name and answer.found and (part := lost[region] & answer.mask[region]).any():
                shared[other] = np.zeros(self.target.shape, bool)
                shared[other][region] = part
        return shared

    def _still_shared(self, name: str, shared: dict[str, np.ndarray]) -> np.ndarray | None:
        """Of ``shared`` (:meth:`_shared_lost`), the voxels ``name`` holds again that the same structures still hold;
        None when there are none."""
        held = voxels(self.results[name], self.target.shape)
        still = [mask & held & voxels(self.results[other], self.target.shape) for other, mask in shared.items()]
        union = np.logical_or.reduce(still) if still else None
        return union if union is not None and union.any() else None

    def _latest(self, name: str) -> int | None:
        """The number of ``name``'s latest correction not undone (None: none)."""
        steps = self._steps.get(name)
        return steps[-1].number if steps else None

    def _taken_from_as_undone(self, name: str, number: int) -> None:
        """``name``'s correction ``number`` was just undone: where other corrections took voxels from the answer it gave,
        their undo gives back what ``name`` holds now instead (before, an undo in another order than the reverse gave
        ``name`` voxels that only its undone correction had given it)."""
        for step in (step for steps in self._steps.values() for step in steps):
            taking = step.taken.get(name)
            if taking is not None and taking.latest == number:
                taking.before, taking.latest = self.results[name], self._latest(name)

    def _as_never_made(self, name: str, undone: Step) -> None:
        """``name``'s correction ``undone`` was just undone: the engine's records of the corrections made since go on as
        if it had never been (:meth:`_forget`; before, undoing one of those put back ``name``'s answer from it)."""
        for step in (step for steps in self._steps.values() for step in steps if step.number > undone.number):
            step.undone = self._forget(step.undone, name, undone.undone)

    def _pass_on_owed(self, name: str, undone: Step) -> None:
        """Voxels ``undone`` owed another structure (:meth:`gave_way`) that ``name`` still holds may come from its earlier
        correction: that one's undo gives them."""
        for owed_to, taking in undone.taken.items():
            still = taking.lost & voxels(self.results[name], self.target.shape)
            if taking.owed and self._steps.get(name) and still.any():
                self._owe(name, owed_to, replace(taking, lost=still))

    def _remember_gift(self, name: str, gift: np.ndarray, taker: int) -> None:
        """Undoing correction number ``taker`` gives ``name`` back ``gift``, which it took: if that came before ``name``'s
        latest correction, whose undo restores an answer that lacks them, that undo adds them again."""
        latest = self._latest(name)
        if latest is not None and latest > taker and gift.any():
            self._steps[name][-1].gifts.append((taker, gift))

    def _give_back(self, name: str, undone: StructureResult, taken: dict[str, Taking], number: int) -> None:
        """Give the structures ``taken`` from by ``name``'s undone correction ``number`` the voxels ``name`` held
        (``undone``) and now gives up where they held them before, added to what they hold now; one left as it was
        before is that answer again (its confidence too)."""
        given_up = voxels(undone, self.target.shape) & ~voxels(self.results[name], self.target.shape)
        for other, taking in taken.items():
            self.set_mask(other, voxels(self.results[other], self.target.shape) | (voxels(taking.before, self.target.shape) & given_up))
            self._remember_gift(other, taking.lost, number)
            if same_answer(self.results[other], taking.before):
                self.results[other] = taking.before

    def _changed_since(self, name: str, before: dict) -> tuple[str, ...]:
        others = [n for n, item in self.results.items() if n != name and not same_answer(before.get(n), item)]
        return (name, *others)

    def _name(self, name: str) -> str:
        """The structure ``name`` as the session spells it, matched as everywhere (case, spaces and punctuation
        aside: :func:`rau.labels.normalize_name`)."""
        if name in self.results:
            return name
        found = next((known for known in self.results if normalize_name(known) == normalize_name(name)), None)
        if found is None:
            raise InputError(f"no structure {name!r} in this result; available: {names_in_words(list(self.results), 'none')}")
        return found


def undone_voxels(now: np.ndarray, added: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """The one rule for undoing a correction of a structure edited by hand since (the session's :meth:`Session.undo`,
    the Slicer module's): its voxels ``now`` without those the correction ``added``, with those it ``removed``."""
    return (now & ~added) | removed


def users_answer(before: StructureResult, item: StructureResult) -> StructureResult:
    """A structure the user corrected is their answer: confidence 1 when it has voxels (no longer flagged for
    review), 0 when the correction removed them all. A correction that changed no voxel of ``before`` (e.g. a click
    on no vessel) keeps its confidence: a structure flagged for review stays flagged."""
    if same_answer(before, item):
        return replace(item, confidence=before.confidence)
    return replace(item, confidence=1.0 if item.found else 0.0)


def same_answer(first: StructureResult | None, second: StructureResult | None) -> bool:
    """True when two answers for a structure hold the same voxels (both empty counts as the same)."""
    return first is second or same_voxels(*(item.mask if item is not None else None for item in (first, second)))


def same_voxels(first: np.ndarray | None, second: np.ndarray | None) -> bool:
    """True when two masks (None: empty) hold the same voxels (both empty counts as the same)."""
    masks = [mask if mask is not None and mask.any() else None for mask in (first, second)]
    if masks[0] is None or masks[1] is None:
        return masks[0] is None and masks[1] is None
    return np.array_equal(masks[0], masks[1])


def check_prompt(prompt: Prompt, target: Image) -> None:
    """Raise :class:`InputError` for a prompt no session can use (empty, mislabelled, outside the image)."""
    if not prompt.points and prompt.box is None:
        raise InputError("a prompt needs at least one point or a box")
    if len(prompt.points) != len(prompt.labels) or not all(map(is_point_label, prompt.labels)):
        raise InputError("give one label per point: 1 inside, 0 outside")
    size = target.size
    for point in prompt.points:
        if len(point) != 3 or any(not -0.5 <= v < n - 0.5 for v, n in zip(point, size)):
            raise InputError(f"the point {tuple(point)} lies outside the target image (voxels 0..{size[0] - 1}, 0..{size[1] - 1}, 0..{size[2] - 1} along i, j, k)")
    inside = {voxel(p) for p, label in zip(prompt.points, prompt.labels) if label == 1}
    if both := sorted(inside & {voxel(p) for p, label in zip(prompt.points, prompt.labels) if label == 0}):
        named = "; ".join(name for p, name in zip(prompt.points, prompt.names) if voxel(p) == both[0])  # as the user gave them
        raise InputError(f"the voxel {target.stored_index(both[0][::-1])} (i, j, k) is given as both inside and outside{f' ({named})' if named else ''}; keep one")
    if prompt.box is not None:
        check_corners(prompt.box.lower, prompt.box.upper)
        if prompt.box.clip(target).empty:
            raise InputError(f"{box_name(prompt)} lies outside the target image")
        _check_inside_points_in_box(prompt, target)


def _check_inside_points_in_box(prompt: Prompt, target: Image) -> None:
    """Refuse an inside point outside the box given with it where the box acts on ``target``
    (:meth:`rau.boxes.Box.acts_on`: a flat box on a volume's slice acts on that slice only): a correction keeps the
    structure inside its box there, so the answer could never hold that point."""
    box = prompt.box
    acting = box.acts_on(target)
    for point, label, name in zip(prompt.points, prompt.labels, point_names(prompt, target)):
        if label == 1 and acting[voxel(point)] and not all(lower <= v < upper for v, lower, upper in zip(voxel(point)[::-1], box.lower, box.upper)):
            raise InputError(f"{name} lies outside {box_name(prompt)}, given with it: a correction keeps the structure inside its box, "
                             "so the answer could not hold that inside point; move the point or the box")


def box_name(prompt: Prompt) -> str:
    """How errors name the box of ``prompt``: as the user gave it (``prompt.box_name``), else by its corners."""
    lower, last = prompt.box.lower, tuple(v - 1 for v in prompt.box.upper)
    return prompt.box_name or f"the box {','.join(map(str, lower))} to {','.join(map(str, last))} (i,j,k, corners inclusive)"


def point_names(prompt: Prompt, target: Image) -> list[str]:
    """How errors name each point of ``prompt``: as the user gave it (``prompt.names``), else by its indices in the
    target's file (:func:`file_indices`), as ``rau correct`` and the server take them."""
    return prompt.names or [point_name(file_indices(point, target)) for point in prompt.points]


def point_name(values) -> str:
    """The one way errors name a point given without a name, by its indices in the target's file: "the point
    [10, 0, 99]" (10.0 sent is 10; a value that is no number, as sent)."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        return f"the point {values!r:.40}"
    text = ", ".join(f"{v:.15g}" if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) else repr(v) for v in values)
    return f"the point [{text:.60}]"


def is_point_label(label) -> bool:
    """The one rule for a point's label: the integer 1 (inside) or 0 (outside); not 0.9, "1" or True."""
    return isinstance(label, numbers.Integral) and not isinstance(label, (bool, np.bool_)) and label in (0, 1)


def prompt_point(values, target: Image, what: str, k: int = 0) -> tuple:
    """The one rule for a user's point or box corner: i,j on a 2D target lie on its one slice (``k`` is added:
    0, or 1 for a box's exclusive upper corner); i,j,k are kept as they are. Any other count raises
    :class:`InputError` naming ``what``, as does anything but voxel indices (:func:`voxel_indices`)."""
    values = voxel_indices(values, what)
    if len(values) == 2 == target.ndim:
        return (*values, k)
    if len(values) != 3:
        raise InputError(f"{what}: give {'i,j or i,j,k' if target.ndim == 2 else 'i,j,k'} for this {target.ndim}D target")
    return values


def file_point(values, target: Image, what: str) -> tuple:
    """A point a user gave in the target's file (``rau correct``, the server) as this image's own (i, j, k): [i, j]
    on a 2D target by :func:`prompt_point`; [i, j, k] are the file's indices (:func:`file_corner`). A point outside
    the file is refused in the indices it was given in, naming ``what``."""
    point = prompt_point(values, target, what)
    size = file_size(target, len(values))
    if not all(-0.5 <= v < n - 0.5 for v, n in zip(values, size)):
        raise InputError(f"{what}: outside the target ({voxel_ranges(size)})")
    return file_corner(point, target) if len(values) == 3 else point


def file_box(lower, upper, target: Image, what: str, upper_included: bool = False) -> Box:
    """The one rule for a box a user gave in the target's file (``rau correct --box``, the server): corners ``lower``
    and ``upper`` (exclusive unless ``upper_included``) both as i,j (of a 2D target, spanning its one slice) or both
    as i,j,k of the file (:func:`file_corner`), as this image's own box. A box outside the file or with corners of another count is
    refused naming ``what`` and the indices as given; inverted corners by :func:`rau.boxes.check_corners`."""
    lower, upper = voxel_indices(lower, what), voxel_indices(upper, what)
    counts = (2, 3) if target.ndim == 2 else (3,)
    if len(lower) != len(upper) or len(lower) not in counts:
        forms = "i,j (i0,j0,i1,j1) or both as i,j,k (i0,j0,k0,i1,j1,k1)" if target.ndim == 2 else "i,j,k (i0,j0,k0,i1,j1,k1)"
        raise InputError(f"{what}: give both corners as {forms} for this {target.ndim}D target")
    check_corners(lower, upper, empty_ok=upper_included, name=what)  # as given (equal corners typed inclusive are one voxel)
    if upper_included:
        upper = tuple(v + 1 for v in upper)
    count = len(lower)
    lower, upper = prompt_point(lower, target, what), prompt_point(upper, target, what, k=1)
    size = file_size(target, count)
    if not all(low < n and high > 0 for low, high, n in zip(lower, upper, size)):
        raise InputError(f"{what}: outside the target ({voxel_ranges(size)})")
    return Box(file_corner(lower, target), file_corner(upper, target)) if count == 3 else Box(lower, upper)


def file_corner(values, target: Image):
    """Three indices of the target's file as this image's own: a 2D image read from a 1-slice volume keeps the
    volume's axes in its file (stored along j: i, 0, k); anything else as given."""
    return tuple(target.working_index(values)) if isinstance(values, (list, tuple)) and len(values) == 3 else values


def file_indices(point, target: Image) -> tuple:
    """A point (i, j, k) of the target as its file numbers it (:attr:`rau.image.Image.stored_ndim`): i,j of a picture
    or 2D file, else the file's i,j,k (:meth:`rau.image.Image.stored_index`: a 1-slice volume stored along j: i, 0, k)."""
    return tuple(target.stored_index(point)[:target.stored_ndim])


def file_size(target: Image, count: int) -> tuple[int, ...]:
    """The target's size in indices of ``count`` values: i,j of its 2D image, else i,j,k of its file."""
    return tuple(target.size[:2]) if count == 2 else tuple(target.stored_index(target.size))


def voxel_ranges(size) -> str:
    """``voxels 0..a, 0..b along i, j`` for a size in voxels."""
    return f"voxels {', '.join(f'0..{n - 1}' for n in size)} along {', '.join('ijk'[: len(size)])}"


def voxel_indices(values, what: str) -> tuple[int, ...]:
    """The one rule for a user's voxel indices (``rau correct``, the server): whole numbers (3.0 is 3; 3.5, text,
    true/false, inf and nan are refused with :class:`InputError` naming ``what``), as ints."""
    values = _finite_numbers(values, what)
    if any(value != round(value) for value in values):
        raise InputError(f"{what}: voxel indices are whole numbers (a voxel's i,j,k as the target's file numbers them)")
    return tuple(int(value) for value in values)


def _finite_numbers(values, what: str) -> tuple:
    """``values`` (a list or tuple of finite numbers) as a tuple, else :class:`InputError` naming ``what``."""
    try:
        finite = isinstance(values, (list, tuple, np.ndarray)) and all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) for v in values
        )
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise InputError(f"{what}: give a list of finite numbers")
    return tuple(values)


def voxel(point) -> tuple[int, int, int]:
    """The (k, j, i) array index of an (i, j, k) prompt point."""
    return tuple(int(round(v)) for v in point[::-1])


def prompt_slice(prompt: Prompt, axis: int, descending: bool = False) -> int:
    """The slice along array ``axis`` (0 = k, 1 = j, 2 = i) a prompt was placed on, from its points or box.

    Points must share that slice; a box alone gives its middle slice (:func:`middle_slice`). Works whatever view the
    prompt came from (but see :func:`check_box_across_slices`).
    """
    if prompt.points:
        slices = {voxel(p)[axis] for p in prompt.points}
        if len(slices) > 1:
            raise InputError(f"the points lie on different slices along {AXIS_LETTERS[axis]} ({sorted(slices)}); place them on one slice")
        return slices.pop()
    return middle_slice(prompt.box.lower[::-1][axis], prompt.box.upper[::-1][axis], descending)


def check_box_across_slices(prompt: Prompt, axis: int, target: Image) -> None:
    """Refuse a new correction's box drawn flat on a view across the slices a correction is made on (within the
    target, one voxel thick along another axis and several slices along ``axis``): on the slice it would cut the
    structure to one row (before, silently). Saved corrections are not checked again, so older results go on."""
    if prompt.box is None:
        return
    box = prompt.box.clip(target)
    sizes = [upper - lower for lower, upper in zip(box.lower[::-1], box.upper[::-1])]  # (k, j, i)
    flat = [AXIS_LETTERS[other] for other in range(3) if other != axis and sizes[other] == 1]
    if flat and sizes[axis] > 1:
        raise InputError(f"the box is one voxel thick along {' and '.join(flat)} but spans {sizes[axis]} slices along "
                         f"{AXIS_LETTERS[axis]}, the axis the correction is made on: draw it on one slice along {AXIS_LETTERS[axis]}")


def middle_slice(lower: int, upper: int, descending: bool = False) -> int:
    """The middle of slices [lower, upper); of an even number, the first of the two middle ones in the order the slices
    are shown (``descending``: falling, as :func:`rau.sam2.frames.shown_slices` shows a volume stored the other way
    round), so one box gives one slice of the body whatever the file's order."""
    return upper - 1 - (upper - lower - 1) // 2 if descending else (lower + upper - 1) // 2
