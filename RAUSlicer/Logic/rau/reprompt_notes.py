"""What a reprompt tells the user, said alike by ``rau correct``, the server and the Slicer module: the inside points
its answer leaves out, and why it changed nothing. An answer written without overwrite gives way to the structures
that hold its new voxels (:meth:`rau.result.Result.put`): what it lost there is said to have given way to them, not
blamed on the engine."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rau.engines.base import Prompt
from rau.labels import names_in_words
from rau.result import StructureResult, voxels
from rau.session import Session, same_voxels, voxel


def inside_points_left_out(prompt: Prompt, item: StructureResult, others: np.ndarray) -> list[tuple[int, int, int]]:
    """The inside points of ``prompt`` (as voxels k, j, i of this image) the answer ``item`` leaves out: a model may leave
    a click out, or the structure gave way to another there, and the user should hear of it. ``others``: the voxels the
    result's other structures hold. A click on a voxel no other structure holds counts as held when ``item`` holds a
    voxel next to it (a click a voxel off a thin vessel); one on a voxel another structure holds, only when ``item``
    holds that voxel itself."""
    inside = [voxel(point) for point, label in zip(prompt.points, prompt.labels) if label == 1]
    return [index for index in inside if not _holds(item, others, index)]


def _holds(item: StructureResult, others: np.ndarray, index: tuple[int, int, int]) -> bool:
    """Whether ``item`` holds the clicked voxel ``index`` (k, j, i) by the rule of :func:`inside_points_left_out`."""
    if not item.found:
        return False
    near = item.mask[tuple(slice(max(v - 1, 0), v + 2) for v in index)]
    return bool(item.mask[index] or (not others[index] and near.any()))


def inside_points_warning(name: str, prompt: Prompt, item: StructureResult, others: np.ndarray, engine: str,
                          overwrite_option: str | None, points_note: str = "", session: Session | None = None,
                          held: Mapping[str, np.ndarray] | None = None) -> str | None:
    """What to tell the user when the answer ``item`` (as written) leaves out inside points of ``prompt`` (None when it
    holds them all; ``others``: the voxels the result's other structures hold, :func:`inside_points_left_out`):
    ``overwrite_option`` is how this interface lets a correction take other structures' voxels (None when this
    one could); ``points_note`` is said of the points given (where they came from). Points the engine's answer
    (``session``'s :attr:`~rau.session.Session.answered`) held are said to have given way to the structures holding them
    (:func:`_holders`; ``held``: the other structures' masks by the names the user sees, default the session's answers)."""
    left_out = inside_points_left_out(prompt, item, others)
    if not left_out:
        return None
    answered = session.answered if session is not None else None
    gave_way = [index for index in left_out if answered is not None and answered.found and answered.mask[index]]
    given, at = sum(label == 1 for label in prompt.labels), tuple(np.array(gave_way).T)
    said = f"{name!r} leaves out {len(left_out)} of the {given} inside points given {points_note}"
    if gave_way and len(gave_way) == len(left_out):
        return f"{said}(its answer held them but gave way to {_in_words(_holders(session, name, at, held))} there{_taking(overwrite_option)})"
    more = "points" if engine == "vessels" else "points or a box"  # the weight-free vessel correction takes no box
    remedy = f"add {more}" + (f", or {overwrite_option} where another structure holds them" if overwrite_option else "")
    if gave_way:
        return f"{said}(the engine's answer leaves out {len(left_out) - len(gave_way)}, {len(gave_way)} gave way to {_in_words(_holders(session, name, at, held))}; {remedy})"
    return f"{said}(the engine's answer; {remedy})"


def unchanged_reason(session: Session, before: np.ndarray | None, written: StructureResult, overwrite_option: str | None,
                     held: Mapping[str, np.ndarray] | None = None) -> str | None:
    """Why a reprompt changed nothing: None when ``written`` (its answer as written) holds other voxels than ``before``
    (the structure's mask before it; None: empty); else that the engine's answer (:attr:`Session.answered`) gave way to
    the structures holding its new voxels (``overwrite_option``: how this interface takes them, None when it did), or
    the engine's reason (:attr:`Session.unchanged`, vessels), or that the prompt changes nothing. ``held``: as for
    :func:`inside_points_warning`."""
    if not same_voxels(before, written.mask):
        return None
    answered = session.answered
    if answered is not None and not same_voxels(before, answered.mask):
        lost = voxels(answered, session.target.shape) & ~voxels(written, session.target.shape)
        holders = _holders(session, written.structure.name, np.nonzero(lost), held)
        return f"its answer gave way to {_in_words(holders)}, which {'holds' if len(holders) == 1 else 'hold'} those voxels{_taking(overwrite_option)}"
    return session.unchanged or "this prompt changes nothing"


def _holders(session: Session, name: str, at: tuple[np.ndarray, ...], held: Mapping[str, np.ndarray] | None = None) -> list[str]:
    """The structures that hold any of the voxels ``at`` (index arrays k, j, i): of ``held`` (masks of the others by the
    names the user sees: the Slicer module's segments, one painted by hand among them, even under ``name``), else of
    ``session``'s answers other than ``name``'s."""
    if held is None:
        held = {other: item.mask for other, item in session.results.items() if item.found and other != name}
    return [other for other, mask in held.items() if mask[at].any()]


def _in_words(names: list[str]) -> str:
    """``names`` as a sentence says them (:func:`rau.labels.names_in_words`; "other structures" when there are none)."""
    return names_in_words(names, "other structures")


def _taking(overwrite_option: str | None) -> str:
    """The end of a gave-way note: how to take the voxels (``overwrite_option``), when this interface could."""
    return f"; {overwrite_option} to take them" if overwrite_option else ""
