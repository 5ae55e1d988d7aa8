"""JSON forms of prompts and corrected masks, shared by the server, the remote engine and a SAM2 answer's record of
the prompts it was given.

A mask travels as its bounding box (``lower``/``upper`` in (k, j, i) array order) and the
bits inside it, packed and base64-encoded: a re-prompted structure costs a few kilobytes.
"""

from __future__ import annotations

import base64

import numpy as np

from rau.boxes import Box
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.image import Image
from rau.io.json_text import parse_json
from rau.session import file_box, file_point, is_point_label, point_name


def json_object(text: str | bytes, what: str) -> dict:
    """``text`` read as a JSON object (:func:`~rau.io.json_text.parse_json`), else :class:`InputError` saying that
    ``what`` (``field spec``, ``the correction's body``) is not JSON, and why, or is no object."""
    try:
        data = parse_json(text)
    except ValueError as error:  # a UnicodeDecodeError (bytes that are no UTF-8) too
        raise InputError(f"{what} is not JSON ({error})") from error
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object")
    return data


def check_fields(data: dict, fields: tuple[str, ...], what: str) -> None:
    """Refuse a JSON object with a field not in ``fields`` (a misspelt one would be left out unseen), naming it."""
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise InputError(f"{what}: unknown field {unknown[0]!r}; it takes {', '.join(fields)}")


def check_object(data, fields: tuple[str, ...], what: str, expected: str) -> None:
    """Refuse anything but an object with each of ``fields``: an unknown field by :func:`check_fields`, else
    :class:`InputError` saying ``expected``."""
    if isinstance(data, dict):
        check_fields(data, fields, what)
    if not isinstance(data, dict) or len(data) != len(fields):
        raise InputError(expected)


def encode_mask(mask: np.ndarray | None) -> dict | None:
    """A boolean (k, j, i) mask as ``{"lower", "upper", "bits"}`` (None for an empty or absent mask)."""
    if mask is None or not mask.any():
        return None
    box = Box.from_mask(mask)
    lower, upper = list(box.lower[::-1]), list(box.upper[::-1])
    crop = mask[tuple(slice(a, b) for a, b in zip(lower, upper))]
    return {"lower": lower, "upper": upper, "bits": base64.b64encode(np.packbits(crop.ravel())).decode("ascii")}


def mask_from_json(payload, shape: tuple[int, int, int]) -> np.ndarray:
    """A client's :func:`encode_mask` payload (None: an empty mask) as a full-size mask of ``shape``; raises
    :class:`InputError` naming what is wrong (the box must lie in the target, the bits fill it exactly)."""
    if payload is None:
        return np.zeros(shape, bool)
    check_object(payload, ("lower", "upper", "bits"), "mask",
                 f"bad mask {payload!r:.60}: give an object with lower, upper and bits (or null for an empty mask)")
    lower, upper = payload["lower"], payload["upper"]
    corners = [value for corner in (lower, upper) if isinstance(corner, list) and len(corner) == 3 for value in corner]
    if len(corners) != 6 or not all(type(value) is int for value in corners) or not all(
            0 <= a < b <= n for a, b, n in zip(lower, upper, shape)):
        raise InputError(f"bad mask box {lower!r:.40} .. {upper!r:.40}: [k, j, i] integers with 0 <= lower < upper <= {list(shape)}")
    try:
        packed = base64.b64decode(payload["bits"], validate=True) if isinstance(payload["bits"], str) else None
    except ValueError:
        packed = None
    count = int(np.prod([b - a for a, b in zip(lower, upper)]))
    if packed is None or len(packed) != (count + 7) // 8:
        raise InputError(f"bad mask bits: give base64 of the {count} packed bits of the box")
    return decode_mask(payload, shape)


def decode_mask(payload: dict | None, shape: tuple[int, int, int]) -> np.ndarray | None:
    """The full-size mask from :func:`encode_mask`'s payload."""
    if payload is None:
        return None
    lower, upper = payload["lower"], payload["upper"]
    crop_shape = tuple(b - a for a, b in zip(lower, upper))
    bits = np.unpackbits(np.frombuffer(base64.b64decode(payload["bits"]), np.uint8), count=int(np.prod(crop_shape)))
    mask = np.zeros(shape, bool)
    mask[tuple(slice(a, b) for a, b in zip(lower, upper))] = bits.reshape(crop_shape).astype(bool)
    return mask


def prompt_to_json(prompt: Prompt, target: Image) -> dict:
    """A :class:`Prompt` on ``target`` as JSON: points and box corners in (i, j, k) indices of the target's file
    (a 2D image read from a 1-slice volume keeps the volume's axes, as ``rau correct`` and a result's boxes give them),
    and how the user gave each point (``names``: errors name a point so)."""
    return {
        "points": [list(map(float, target.stored_index(point))) for point in prompt.points],
        "labels": [int(label) for label in prompt.labels],
        "box": {"lower": list(target.stored_index(prompt.box.lower)), "upper": list(target.stored_index(prompt.box.upper))} if prompt.box else None,
        "names": list(prompt.names),
    }


def prompt_from_json(payload: dict, target: Image) -> Prompt:
    """Parse :func:`prompt_to_json`'s form for ``target``; raises :class:`InputError` naming the bad field. A point
    or box corner may also be [i, j] on a 2D target (:func:`rau.session.prompt_point`)."""
    if not isinstance(payload, dict):
        raise InputError(f"bad prompt {payload!r:.40}: give an object with points, labels and/or box")
    check_fields(payload, ("points", "labels", "box", "names"), "prompt")
    points = payload.get("points") or []
    bad_points = InputError(f"bad prompt: points {points!r:.60}: give a list of points, each [i, j, k] (or [i, j] on a 2D target)")
    if not isinstance(points, list):  # else text would be read one character at a time, as points
        raise bad_points
    try:
        points = [file_point(point, target, point_name(point)) for point in points]
    except InputError:  # a ValueError, but with its own message
        raise
    except (TypeError, ValueError):
        raise bad_points from None
    labels = payload.get("labels") or []
    if not isinstance(labels, list) or not all(map(is_point_label, labels)):
        raise InputError(f"bad prompt: labels {payload['labels']!r:.60}: give one per point, 1 inside or 0 outside")
    names = payload.get("names") or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names) or len(names) not in (0, len(points)):
        raise InputError(f"bad prompt: names {names!r:.60}: give none, or one text per point (how the user gave it)")
    box, box_name = _box(payload.get("box"), target)
    return Prompt(points, labels, box, names, box_name)


def _box(box, target: Image) -> tuple[Box | None, str]:
    """A prompt's ``box`` field: None, or ``{"lower": [i, j, k], "upper": [i, j, k]}`` (upper exclusive; by
    :func:`rau.session.file_box`, whose messages pass unchanged), with how errors name it: as sent."""
    if box is None:
        return None, ""
    expected = f'bad prompt: box {box!r:.60}: give {{"lower": [i, j, k], "upper": [i, j, k]}} (upper exclusive; [i, j] on a 2D target)'
    check_object(box, ("lower", "upper"), "prompt box", expected)
    named = f"the box {box['lower']!r:.40}..{box['upper']!r:.40}"
    return file_box(box["lower"], box["upper"], target, named), named
