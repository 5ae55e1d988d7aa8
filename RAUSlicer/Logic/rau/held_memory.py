"""The memory a session holds: the bytes of the distinct arrays and tensors its records reach
(:func:`distinct_bytes`, what ``rau serve --max-session-gb`` counts)."""

from __future__ import annotations

import dataclasses

import numpy as np


def distinct_bytes(value, besides=None) -> int:
    """The bytes of every distinct numpy array and torch tensor ``value`` reaches (an undo history's steps, their
    answers, what they took, gave and shared, the engine's records; a session's answers and target; a result; SAM2's
    cached features and memory: dataclasses, dicts, lists and tuples of them), each counted once however many fields
    hold it or views of it; the arrays ``besides`` reaches (counted elsewhere: a result's target and masks) left out."""
    arrays: dict[tuple, int] = {}
    _collect(value, arrays, set())
    counted: dict[tuple, int] = {}
    _collect(besides, counted, set())
    return sum(nbytes for owner, nbytes in arrays.items() if owner not in counted)


def _collect(value, arrays: dict[tuple, int], seen: set[int]) -> None:
    """Into ``arrays``: the bytes of each array ``value`` reaches, by the array that owns its memory (:func:`_owner`),
    and of each tensor, by its storage."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        owner = _owner(value)
        arrays["array", id(owner)] = owner.nbytes
    elif hasattr(value, "untyped_storage"):  # a torch tensor (torch is imported only where a model runs)
        storage = value.untyped_storage()
        arrays["tensor", storage.data_ptr()] = storage.nbytes()
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
