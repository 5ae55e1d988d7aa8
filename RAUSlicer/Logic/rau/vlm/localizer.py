"""The VLM localizer: reference overlay + target in, presence and a box per structure out.

Each structure is asked with the best-ranked reference that has voxels of it
(:func:`reference_turns`). For each view of a reference (:mod:`rau.vlm.key_slices`) it renders
the reference slice with its requested structures outlined and tagged (:mod:`rau.render`), the
target slice plain, asks the view's structures in one request (or one request each with ``per_structure``),
reads the answer defensively (:mod:`rau.vlm.answers`) and maps boxes from the model's
coordinates (:mod:`rau.vlm.families`) to target voxels.

The VLM sees volumes in LPS voxel order, as training does (:mod:`rau.vlm.key_slices`);
each box is found on one slice of the oriented target and moved back to the same voxels
of the target's own grid. Slice numbers in the answer details (``reference_slice``,
``target_slice``) are the files' own: the index of the slice along the stored axis it lies across (:func:`file_slice`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from rau.boxes import Box
from rau.engines.base import Localization, Localizer, Progress, Reference, Request
from rau.image import Image
from rau.render import render_overlay, render_plain
from rau.user_warnings import warn
from rau.vlm.answers import StructureAnswer, parse_localization
from rau.vlm.backend import Backend, create_backend
from rau.vlm.key_slices import View, file_slice, orient_request_lps, plan_views, same_voxels
from rau.vlm.prompts import localization_answer, localization_messages

ANSWER_MARGIN_TOKENS = 32
"""Tokens allowed beyond the longest answer's characters: a code fence, and line breaks and indents between entries."""
LAYOUT_TOKENS_PER_STRUCTURE = 8
"""Tokens allowed per entry for the spaces and line breaks of an answer written one key a line."""


def answer_token_budget(names: list[str], bounds: tuple[int, int]) -> int:
    """``max_new_tokens`` for a localization answer about ``names`` (as the legend writes them) with boxes within
    ``bounds`` (the model's largest x and y): the UTF-8 bytes of the longest such answer (each structure present, its
    box's four coordinates as long as the largest, which "present": false is no longer than), as a byte-level tokenizer
    makes each token of one byte at least, plus layout margins. Decoding is greedy, so a larger limit changes no token
    generated before a smaller one: answers that fit within the limit used before are unchanged."""
    longest = localization_answer({name: [max(bounds)] * 4 for name in names})
    return len(longest.encode("utf-8")) + LAYOUT_TOKENS_PER_STRUCTURE * len(names) + ANSWER_MARGIN_TOKENS


def warn_cut_short(budget: int, unanswered: list[str]) -> None:
    """Say that the VLM's answer was cut at its token limit ``budget`` before it ended, naming the structures it left
    unanswered."""
    warn(f"the VLM's answer was cut at {budget} tokens (its limit) before it ended"
         + (f"; no answer for {', '.join(unanswered)}" if unanswered else ""))


class VLMLocalizer(Localizer):
    """Presence and boxes from a vision-language model (see module doc)."""

    def __init__(self, backend: Backend, per_structure: bool = False):
        self.backend, self.per_structure = backend, per_structure

    @classmethod
    def from_options(cls, options) -> "VLMLocalizer":
        """The localizer the engine ``options`` describe: their VLM (:func:`rau.vlm.backend.create_backend`), asked about
        each structure alone with ``vlm_per_structure``."""
        return cls(create_backend(options), per_structure=options.vlm_per_structure)

    def localize(self, request: Request, progress: Progress) -> dict[str, Localization]:
        """Ask about each requested structure with the best-ranked reference that has voxels of it
        (``request.references`` are best first): each reference in turn about those it holds that no better one holds
        (:func:`reference_turns`); a structure no reference holds is reported not asked."""
        asks = []
        for reference, listed, question in reference_turns(request):
            seen = orient_request_lps(request, listed, reference)
            shown = seen.references[0]
            views = plan_views(shown.segmentation, shown.image, seen.target, question)
            asks += [(reference, seen, view, [name]) for view in views for name in view.names] if self.per_structure else [(reference, seen, v, v.names) for v in views]
        found: dict[str, Localization] = {}
        for index, (reference, seen, view, question) in enumerate(asks):
            progress(f"asking the VLM about {', '.join(question)}", index / max(len(asks), 1))
            for name, localization in self.ask(seen, view, question).items():
                answer = dict(localization.answer, reference_slice=file_slice(view.reference_slice, seen.references[0].image, reference.image),
                              target_slice=file_slice(view.target_slice, seen.target, request.target))
                found[name] = on_target_grid(replace(localization, answer=answer), seen.target, request.target)
        for name in request.labels().names:
            if name not in found:
                reason = request.no_voxels_message()
                found[name] = Localization(request.labels().get(name), False, source="vlm", reason=reason,
                                           answer={"issues": [f"not asked: it {reason}"], "asked": False})
        progress("VLM localization done", 1.0)
        return found

    def ask(self, request: Request, view: View, question: list[str]) -> dict[str, Localization]:
        """One request about ``question`` (structures) on one view; boxes on the grid of ``request.target``."""
        reference = request.references[0]
        planes = {n: reference.segmentation.mask(n)[view.reference_slice] for n in request.labels().names}  # each made once
        legend = [n for n in planes if planes[n].any()]
        reference_slice = reference.image.array[view.reference_slice]
        target_slice = request.target.array[view.target_slice]
        source_size = (target_slice.shape[1], target_slice.shape[0])
        family = self.backend.family
        reference_size = family.model_size(reference_slice.shape[1], reference_slice.shape[0], f"reference {reference.name!r}")
        target_size = family.model_size(*source_size, request.target_called())
        masks = [planes[n] for n in legend]
        messages = localization_messages(
            render_overlay(reference_slice, masks, reference_size), render_plain(target_slice, target_size),
            legend, question, family, target_size,
        )
        budget = answer_token_budget(question, family.bounds(target_size))
        reply = self.backend.generate(messages, max_new_tokens=budget)
        answers = parse_localization(reply.text, question, family.bounds(target_size), legend, reply.cut_short)  # tags number the legend
        if reply.cut_short:
            warn_cut_short(budget, [name for name in question if answers[name].present is None])
        return {
            name: self._localization(request, view, answers[name], source_size, reply.text) for name in question
        }

    def _localization(self, request: Request, view: View, answer: StructureAnswer, source_size, text: str) -> Localization:
        box = None
        if answer.box is not None:
            x0, y0, x1, y1 = self.backend.family.from_model(answer.box, source_size)
            k = view.target_slice
            box = Box((math.floor(x0), math.floor(y0), k), (math.ceil(x1), math.ceil(y1), k + 1)).clip(request.target)
            box = None if box.empty else box
        details = {
            "text": text, "issues": answer.issues, "model_box": answer.box, "answered": answer.present is not None,
            "reference": request.references[0].name, "reference_slice": view.reference_slice, "target_slice": view.target_slice,
        }
        return Localization(
            request.labels().get(answer.name), bool(answer.present), box, answer.confidence,
            {view.target_slice: box} if box is not None else {}, "vlm", details, covers_extent=False,
        )


def reference_turns(request: Request) -> list[tuple[Reference, list[str], list[str]]]:
    """Which reference the VLM is shown for which structures: each reference of ``request`` (best-ranked first) that
    has voxels of a requested structure no better-ranked one has, with the requested structures it lists (its
    legend's, as rendered) and those it is asked about (the ones no better-ranked reference has voxels of)."""
    turns, taken = [], set()
    for reference in request.references:
        listed = [name for name in request.labels().names if name in reference.segmentation.labels.names]
        question = [name for name in listed if name not in taken and reference.segmentation.has_voxels(name)]
        if question:
            turns.append((reference, listed, question))
            taken.update(question)
    return turns


def on_target_grid(localization: Localization, seen: Image, target: Image) -> Localization:
    """A localization found on ``seen`` (the LPS-oriented target) with its box on ``target``'s own grid.

    The box stays one voxel thick along the stored axis that orientation turned into k; it is
    also the per-slice box when that axis is the stored k.
    """
    if localization.box is None:
        return localization
    box = same_voxels(localization.box, seen, target)
    slice_boxes = {box.lower[2]: box} if box.upper[2] - box.lower[2] == 1 else {}
    return replace(localization, box=box, slice_boxes=slice_boxes)
