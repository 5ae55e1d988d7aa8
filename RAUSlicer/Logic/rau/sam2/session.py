"""Propagation through the target and the correction loop (``reprompt`` / ``propagate``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rau.boxes import Box
from rau.engines.base import Progress, Prompt
from rau.errors import InputError, UnavailableError
from rau.labels import Structure
from rau.result import StructureResult
from rau.sam2.frames import SliceGeometry, slice_index
from rau.sam2.tracker import Tracker
from rau.serve.wire import prompt_from_json, prompt_to_json
from rau.session import Session, check_box_across_slices, prompt_slice


@dataclass
class Plan:
    """How one structure is tracked: its start slice and its prompts per target slice (SAM2 point inputs).

    ``span``: the slices [first, last) it may be tracked on (its localized extent plus a margin), or None
    for the whole target. ``corrections``: corrected slice -> SAM2 output, each a conditioning frame of
    the structure from the next ``propagate`` on. ``boxes``: the user's box of a corrected slice, which keeps the
    structure inside it there, also through later clicks on that slice.
    """

    structure: Structure
    start: int
    prompts: dict[int, dict] = field(default_factory=dict)
    source: str = "memory"
    span: tuple[int, int] | None = None
    corrections: dict[int, dict] = field(default_factory=dict)
    boxes: dict[int, Box] = field(default_factory=dict)

    def allows(self, k: int) -> bool:
        """Whether slice ``k`` lies in the span this plan tracks (every slice without one)."""
        return self.span is None or self.span[0] <= k < self.span[1]


class Sam2Session(Session):
    """SAM2 state of one run, kept in ``Result.session`` so a user can correct one structure at a time.

    Masks live on the target grid. First-run overlaps go to the structure with the highest logit;
    a correction (``reprompt``/``propagate``) changes only the corrected structure.

    ``order``: the target's slices in the order SAM2 is shown them (:func:`rau.sam2.frames.shown_slices`; default
    the file's), frames ``first_target_frame`` on. Propagation runs forward and back along that order; slice numbers
    given and recorded (prompts, start and visited slices) are the file's own.
    """

    def __init__(self, tracker: Tracker, target, axis: int, geometry: SliceGeometry, first_target_frame: int, engine: str,
                 order: list[int] | None = None):
        super().__init__(target, {})
        self.tracker, self.axis, self.geometry = tracker, axis, geometry
        self.first_target_frame, self.engine = first_target_frame, engine
        self.order = list(range(self.slices)) if order is None else list(order)
        self._shown = {k: position for position, k in enumerate(self.order)}
        self.plans: dict[str, Plan] = {}
        self.visited: dict[str, list[int]] = {}

    def held_bytes(self, besides=None) -> int:
        """What :meth:`rau.session.Session.held_bytes` counts, with the tracker's memory (also where undo keeps it), and
        the tracker's images and cached features (:meth:`rau.sam2.tracker.Tracker.held_bytes`)."""
        return super().held_bytes(besides) + self.tracker.held_bytes(besides=self.target)

    def _held(self) -> tuple:
        return *super()._held(), self.tracker.memory()

    @property
    def slices(self) -> int:
        """The number of target slices along SAM2's axis."""
        return self.target.shape[self.axis]

    def shown_position(self, k: int) -> int:
        """Where target slice ``k`` is in the order SAM2 is shown the slices (:attr:`order`)."""
        return self._shown[k]

    def frame(self, k: int) -> int:
        """The SAM2 frame of target slice ``k``."""
        return self.first_target_frame + self._shown[k]

    @property
    def descending(self) -> bool:
        """Whether the slices are shown in falling order (the file runs the other way round, :attr:`order`)."""
        return self.order[0] > self.order[-1]

    # --- first run ---------------------------------------------------------------------------------
    def run(self, names: list[str], progress: Progress | None = None) -> dict[str, StructureResult]:
        """Propagate ``names`` together, frame by frame, forward then backward from their start slices (along :attr:`order`).

        On each slice the structures still alive there are one batch: the frame is encoded once and SAM2's
        memory attention, mask decoder and memory encoder each run once per batch, not once per structure.
        Where structures overlap the highest logit wins (:meth:`_write`), also on a slice between two start slices,
        which one structure reaches forward and another backward (:meth:`_settle`; before, both kept the voxels).
        """
        progress = progress or Progress()
        masks = {n: np.zeros(self.target.shape, dtype=bool) for n in names}
        scores = {n: [] for n in names}
        visited = {n: [] for n in names}
        starts = {n: self.plans[n].start for n in names}
        shown_starts = {n: self._shown[k] for n, k in starts.items()}
        present_at_start, covered = set(names), set()
        forward: dict[int, tuple] = {}  # slices the backward pass visits too: the forward pass's best logits there
        total, done = 2 * self.slices, 0
        for reverse in (False, True):
            alive = set(present_at_start)
            positions = range(min(shown_starts.values()), self.slices) if not reverse else range(max(shown_starts.values()) - 1, -1, -1)
            for position in positions:
                k = self.order[position]
                stepping = [n for n in names if n in alive and (position < shown_starts[n] if reverse else position >= shown_starts[n])
                            and self.plans[n].allows(k)]
                found, logits = self._step(stepping, k, reverse)
                kept = []
                for index, (name, score) in enumerate(found):
                    visited[name].append(k)
                    if score <= 0 and k not in self.plans[name].prompts:
                        alive.discard(name)
                        if k == starts[name]:
                            present_at_start.discard(name)
                        continue
                    scores[name].append(score)
                    kept.append(index)
                if kept:
                    written, written_logits = [found[i][0] for i in kept], logits if len(kept) == len(found) else logits[kept]
                    covered |= self._write(masks, written, written_logits, k)
                    if reverse and k in forward:
                        covered |= self._settle(masks, forward.pop(k), written, written_logits, k)
                    elif not reverse and position < max(shown_starts.values()):
                        forward[k] = (written, *written_logits.max(dim=0))  # the best logit and whose (the first on a tie)
                done += 1
                progress(f"SAM2 slice {k + 1}/{self.slices}", min(done / total, 1.0))
        for name in names:
            self.visited[name] = sorted(visited[name])
            self.results[name] = self._result(name, masks[name], scores[name], name in covered)
        return {n: self.results[n] for n in names}

    def _step(self, names: list[str], k: int, reverse: bool) -> tuple[list, object]:
        """``names`` on target slice k in one batch: ([(name, object score)], their logits on the slice grid
        (n, rows, cols)), in the tracker's answer order."""
        import torch

        if not names:
            return [], None
        frame = self.frame(k)
        prompts = {n: self.plans[n].prompts[k] for n in names if k in self.plans[n].prompts}
        found = self.tracker.step(names, frame, reverse, prompts)
        for name in names:
            start_frame = self.frame(self.plans[name].start)
            self.tracker.trim(name, frame, range(start_frame, start_frame + self.tracker.memory_frames))
        logits = self.geometry.from_frame(torch.stack([low_res for low_res, _ in found.values()]))
        return [(n, score) for n, (_, score) in found.items()], logits

    def _write(self, masks: dict, names: list[str], logits, k: int) -> set[str]:
        """Threshold the slice ``logits`` (one row per name); where structures overlap, the highest logit wins
        (the first on a tie). Returns the names that lost pixels to another.

        The winner is looked for only on pixels where two or more structures are positive: elsewhere a
        positive structure is the only one above zero, so it wins anyway.
        """
        import torch

        positive = logits > 0
        flat = positive.view(len(names), -1)
        contested = (positive.sum(dim=0, dtype=torch.int16) > 1).flatten().nonzero()[:, 0]
        losers = set()
        if contested.numel():
            before = flat.sum(dim=1)
            owner = torch.full(flat.shape[1:], -1, dtype=torch.int64, device=flat.device)  # -1: not contested
            owner[contested] = logits.reshape(len(names), -1).t().index_select(0, contested).argmax(dim=1)
            flat &= (owner == -1) | (owner == torch.arange(len(names), device=flat.device)[:, None])
            losers = {name for name, lost in zip(names, (flat.sum(dim=1) < before).tolist()) if lost}
        positive = positive.cpu().numpy()
        for index, name in enumerate(names):
            masks[name][slice_index(self.axis, k)] = positive[index]
        return losers

    def _settle(self, masks: dict, forward: tuple, names: list[str], logits, k: int) -> set[str]:
        """Slice k, written by the forward pass (``forward``: its names, best logit and whose it is) and now by the
        backward pass (``names``, ``logits``): a voxel both claim goes to the higher logit (the forward one's on a tie).
        Returns the names that lost voxels. Only the forward pass's best logit is kept per voxel, not each structure's."""
        earlier, best, owner = forward
        backward_best = logits.max(dim=0).values
        contested = (best > 0) & (backward_best > 0)
        forward_wins = (contested & (best >= backward_best)).cpu().numpy()
        backward_wins = (contested & (best < backward_best)).cpu().numpy()
        owner = owner.cpu().numpy()
        where = slice_index(self.axis, k)
        losers = set()
        for name, lost in [(name, forward_wins) for name in names] + [(name, backward_wins & (owner == index)) for index, name in enumerate(earlier)]:
            lost = lost & masks[name][where]
            if lost.any():
                masks[name][where] &= ~lost
                losers.add(name)
        return losers

    def _result(self, name: str, mask: np.ndarray, scores: list[float], covered: bool = False) -> StructureResult:
        plan = self.plans[name]
        if not np.isfinite(scores).all():  # NaN is never above zero: every structure would read as "no object"
            raise UnavailableError(f"SAM2 (--sam2-model) gave no finite object score for {name!r}: its weights hold or overflow to NaN or "
                                   "infinite values (a damaged checkpoint); copy the model folder again")
        confidence = float(np.mean(1 / (1 + np.exp(-np.asarray(scores))))) if scores else 0.0
        prompts = {
            "source": plan.source,
            "slice_axis": self.target.file_axis(self.axis),
            "start_slice": plan.start,
            "prompted_slices": sorted(plan.prompts),
        }
        message = ""
        if not mask.any():  # ``covered``: other structures won every pixel it had
            message = ("covered by neighbouring structures" if covered else
                       "SAM2 saw the object but its mask is empty on the target" if any(score > 0 for score in scores) else
                       "SAM2 found no object (object score below zero)")
        return StructureResult(plan.structure, mask, confidence, self.engine, prompts, message=message)

    # --- corrections -------------------------------------------------------------------------------
    def _reprompt(self, name: str, prompt: Prompt, progress: Progress) -> StructureResult:
        """New points and/or a box for ``name`` on one slice; only that slice of that structure changes (within the
        box, when one is given), and the corrected slice joins the structure's memory on ``propagate``.

        Points alone are added to the slice's earlier prompt (SAM2's click behaviour); a box replaces it, and the
        structure stays inside the slice's last box through later clicks there. In 2D (and on the slice a structure last visited) only SAM2's prompt encoder and mask decoder run,
        on cached image and memory-conditioned features. The answer's prompts record what was given
        (``given_prompts``), so that a session rebuilt from a saved result goes on from them (:meth:`resume`), and
        the corrected slice as ``start_slice``, where ``propagate`` starts (before, the first run's stayed there).
        """
        check_box_across_slices(prompt, self.axis, self.target)
        k, box, output = self._prompt_slice(name, prompt)
        mask = self.results[name].mask
        mask = np.zeros(self.target.shape, dtype=bool) if mask is None else mask.copy()
        mask[slice_index(self.axis, k)] = (self.geometry.from_frame(output["pred_masks"][0, 0]) > 0).cpu().numpy()
        if box is not None:  # a box keeps the structure inside it, on the slice it prompts
            mask[slice_index(self.axis, k)] &= box.mask(self.target.shape)[slice_index(self.axis, k)]
        previous = self.results[name]
        corrected = sorted(set(previous.prompts.get("corrected_slices", [])) | {k})
        kept = [entry for entry in previous.prompts.get("given_prompts", []) if prompt.box is None or entry["slice"] != k]
        given = [*kept, {"slice": k, "prompt": prompt_to_json(prompt, self.target)}]  # a box starts its slice's prompt again
        return StructureResult(self.plans[name].structure, mask, previous.confidence, self.engine,
                               {**previous.prompts, "start_slice": k, "corrected_slices": corrected, "given_prompts": given})

    def _prompt_slice(self, name: str, prompt: Prompt) -> tuple[int, Box | None, dict]:
        """Give ``prompt`` to SAM2 for ``name`` on its slice (see :meth:`_reprompt`): that slice, its box (the last
        one given there, or None) and SAM2's answer there, kept as the slice's conditioning frame."""
        k, inputs = self._prompt_inputs(prompt)
        plan = self.plans[name]
        earlier = plan.prompts.get(k)
        if prompt.box is not None:
            plan.boxes[k] = prompt.box  # a box replaces the slice's prompt
        elif earlier is not None:
            inputs = _append_points(earlier, inputs)
        plan.prompts[k] = inputs
        box = plan.boxes.get(k)
        output = self.tracker.correct(name, self.frame(k), inputs)
        if box is not None:
            output = self._within_box(output, box)
        plan.corrections[k] = output
        plan.start = k
        if plan.span is not None:
            plan.span = (min(plan.span[0], k), max(plan.span[1], k + 1))
        return k, box, output

    def resume(self, saved: StructureResult) -> None:
        """As :meth:`Session.resume`; the prompts the saved answer was given are given to SAM2 again, in their order,
        so that a later click on a corrected slice adds to them (inside its box) and ``propagate`` is conditioned on
        those slices, as in the session that made the answer (before, a chain of ``rau correct`` runs lost them)."""
        super().resume(saved)
        name = self._name(saved.structure.name)
        where = f"the saved prompts of {name!r} (prompts.given_prompts)"
        for number, entry in enumerate(saved.prompts.get("given_prompts", []), 1):  # their form: checked as rau correct reads them
            try:  # checked as reprompt checks a prompt: the result file may have been edited
                self._prompt_slice(name, self.checked_prompt(prompt_from_json(entry["prompt"], self.target)))
            except InputError as error:
                raise InputError(f"{where}, entry {number}: {error}") from None

    def _propagate(self, name: str, progress: Progress) -> StructureResult:
        """Every corrected slice becomes a conditioning frame; the structure is tracked again from the last one."""
        before = self.results[name].prompts
        corrected = before.get("corrected_slices", [])
        self.tracker.forget_target(name)
        plan = self.plans[name]
        self.tracker.condition_on(name, {self.frame(k): output for k, output in plan.corrections.items()})
        result = self.run([name], progress)[name]
        result.prompts["corrected_slices"] = corrected
        if "given_prompts" in before:
            result.prompts["given_prompts"] = before["given_prompts"]
        return result

    def _snapshot(self, name: str):
        if name not in self.plans:
            raise InputError(f"{name!r} is empty in every reference, so SAM2 has no memory of it to segment it from")
        plan = self.plans[name]
        return self.results[name], dict(plan.prompts), plan.start, plan.span, dict(plan.corrections), dict(plan.boxes), self.tracker.state(name)

    def _restore(self, name: str, snapshot) -> None:
        plan = self.plans[name]
        self.results[name], prompts, plan.start, plan.span, corrections, boxes, state = snapshot
        plan.prompts, plan.corrections, plan.boxes = prompts, corrections, boxes
        self.tracker.restore(name, state)

    def _box_in_frame(self, box) -> list[float]:
        """A box (the part inside the target) on its slice as SAM2 frame ``[x0, y0, x1, y1]``."""
        row_axis, col_axis = [a for a in range(3) if a != self.axis]
        clipped = box.clip(self.target)
        lower, upper = clipped.lower[::-1], clipped.upper[::-1]  # (k, j, i) order
        return self.geometry.box_to_frame(lower[row_axis], lower[col_axis], upper[row_axis], upper[col_axis])

    def _within_box(self, output: dict, box) -> dict:
        """SAM2's output with its mask logits outside ``box`` set to SAM2's "no object" score, so that the memory
        made from it on ``propagate`` (:meth:`Tracker.condition_on`) stays inside the box too."""
        import torch

        x0, y0, x1, y1 = self._box_in_frame(box)
        masks = output["pred_masks"]
        rows, cols = ((torch.arange(n, device=masks.device) + 0.5) * self.geometry.size / n for n in masks.shape[-2:])
        inside = ((rows >= y0) & (rows < y1))[:, None] & ((cols >= x0) & (cols < x1))[None, :]
        return {**output, "pred_masks": masks.masked_fill(~inside, _no_object_score())}

    def _prompt_inputs(self, prompt: Prompt) -> tuple[int, dict]:
        """A prompt (already checked by :func:`rau.session.check_prompt`) as SAM2 point inputs on its slice."""
        import torch

        k = prompt_slice(prompt, self.axis, self.descending)
        row_axis, col_axis = [a for a in range(3) if a != self.axis]
        coords, labels = [], []
        if prompt.box is not None:
            lower, upper = prompt.box.lower[::-1], prompt.box.upper[::-1]  # (k, j, i) order
            if not lower[self.axis] <= k < upper[self.axis]:
                raise InputError(f"the box does not cross slice {k}")
            x0, y0, x1, y1 = self._box_in_frame(prompt.box)
            coords += [[x0, y0], [x1, y1]]
            labels += [2, 3]
        for point, label in zip(prompt.points, prompt.labels):
            index = [int(round(v)) for v in point[::-1]]  # (k, j, i)
            coords.append(self.geometry.point_to_frame(index[row_axis], index[col_axis]))
            labels.append(label)
        return k, {
            "point_coords": torch.tensor([[coords]], dtype=torch.float32),
            "point_labels": torch.tensor([[labels]], dtype=torch.int32),
        }


def _no_object_score() -> float:
    from transformers.models.sam2_video.modeling_sam2_video import NO_OBJ_SCORE

    return float(NO_OBJ_SCORE)


def _append_points(earlier: dict, new: dict) -> dict:
    """SAM2 point inputs with ``new``'s points after ``earlier``'s."""
    import torch

    return {key: torch.cat([earlier[key], new[key]], dim=2) for key in ("point_coords", "point_labels")}
