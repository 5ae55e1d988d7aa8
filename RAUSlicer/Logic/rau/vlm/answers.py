"""Reading model answers defensively: never raise, sanitize, and say what was wrong.

Public functions:

* :func:`parse_localization` (text, names, bounds) -> {name: :class:`StructureAnswer`}, one per name;
* :func:`parse_presence` (text, name) -> :class:`StructureAnswer`;
* :func:`parse_identity` (text, names) -> (name or None, issues).

Boxes stay in the model's coordinates (``bounds`` = the largest x and y, see
:meth:`rau.vlm.families.ModelFamily.bounds`); every repair is written to ``issues`` and
halves the confidence. Labels may be names (any case/punctuation), tag numbers, or
``"2: spleen"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from rau.io.json_text import parse_json
from rau.labels import normalize_name

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_OBJECT = re.compile(r"\{[^{}]*\}")
_THOUGHT = (re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE), re.compile(r"^.*</think>", re.DOTALL | re.IGNORECASE))
"""A reasoning model's thinking before its answer: whole ``<think>`` blocks, then what comes before a ``</think>``
whose ``<think>`` the chat template wrote, the tags in any case. Left out as the model's own layout, not as a repair."""
_THINKING_CUT_OFF = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
"""A ``<think>`` never closed: the model was cut off while thinking (an answer before it is read)."""
CUT_OFF_WHILE_THINKING = "cut off while thinking (<think> never closed); no answer"
_TAGGED = re.compile(r"^\s*(?:structure\s*)?#?(\d{1,9})\s*(?:[:.)\-]\s*(.*))?$", re.IGNORECASE)  # a tag of 10 digits or more is none
_TRUE = {"true", "yes", "present", "visible", "1"}
MAX_ISSUES = 10
"""Issues of the whole answer kept with each structure's (:func:`_summarized`)."""
_FALSE = {"false", "no", "absent", "notvisible", "notpresent", "0"}


@dataclass
class StructureAnswer:
    """What the model said about one structure. ``present`` is None when it gave no usable answer."""

    name: str
    present: bool | None
    box: tuple[float, float, float, float] | None = None
    issues: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """1 for a clean answer, halved per repair, 0 when there was no usable answer."""
        return 0.0 if self.present is None else 0.5 ** len(self.issues)


def parse_localization(text: str, names: list[str], bounds: tuple[float, float], legend: list[str] | None = None) -> dict[str, StructureAnswer]:
    """One :class:`StructureAnswer` per name asked from a localization answer. ``legend``: the numbered list the
    question showed (default: ``names``), by which a tag number answers; answers about structures not asked are
    left out, saying so."""
    objects, issues = _json_objects(text)
    answers: dict[str, StructureAnswer] = {}
    for item in objects:
        name = _resolve(item.get("label", item.get("name", item.get("structure"))), legend or names)
        if name is None:
            issues.append(f"ignored an answer for an unknown label {item.get('label')!r}")
            continue
        if name not in names:
            issues.append(f"ignored an answer about {name!r}, which was not asked")
            continue
        if name in answers:
            if ANSWERED_TWICE not in answers[name].issues:  # once: each repeat halved the confidence (20,000 gave 0)
                answers[name].issues.append(ANSWERED_TWICE)
            continue
        answers[name] = _structure_answer(name, item, bounds)
    for name in names:
        if name not in answers:
            answers[name] = StructureAnswer(name, None, None, ["missing from the answer"])
        answers[name].issues.extend(_summarized(issues))
    return {name: answers[name] for name in names}


def parse_presence(text: str, name: str) -> StructureAnswer:
    """The yes/no answer to a presence question (JSON, or a bare yes/no)."""
    objects, issues = _json_objects(text)
    for item in objects:
        if "present" in item:
            present = _truth(item["present"])
            if present is not None:
                return StructureAnswer(name, present, None, issues)
    words = re.findall(r"[a-z]+", text.lower())
    if words and words[0] in ("yes", "no"):
        return StructureAnswer(name, words[0] == "yes", None, ["bare yes/no instead of JSON"])
    return StructureAnswer(name, None, None, ["no presence answer found"])


def parse_identity(text: str, names: list[str]) -> tuple[str | None, list[str]]:
    """The legend name the model chose for a boxed region, or None with the reason."""
    objects, issues = _json_objects(text)
    for item in objects:
        name = _resolve(item.get("label", item.get("name")), names)
        if name is not None:
            return name, issues
    name = _resolve(text.strip().strip('."'), names)
    if name is not None:
        return name, ["plain label instead of JSON"]
    return None, issues + ["no known label in the answer"]


ANSWERED_TWICE = "answered twice; the first answer was kept"


def _summarized(issues: list[str]) -> list[str]:
    """Each issue once, at most :data:`MAX_ISSUES` of them and a count of the rest (a reply of a hundred thousand
    unknown labels made a result JSON of megabytes)."""
    distinct = list(dict.fromkeys(issues))
    return distinct if len(distinct) <= MAX_ISSUES else [*distinct[:MAX_ISSUES], f"and {len(distinct) - MAX_ISSUES} more such issues"]


def _structure_answer(name: str, item: dict, bounds) -> StructureAnswer:
    issues: list[str] = []
    raw_box = next((item[k] for k in ("bbox_2d", "bbox", "box") if k in item), None)
    box = None
    if raw_box is not None:
        box = _box(raw_box, bounds, issues)
    present = _truth(item.get("present", item.get("visible")))
    if present is None:
        present = box is not None
        issues.append("no readable 'present'; inferred from the box")
    elif present is False and box is not None:
        issues.append("box given for a structure said to be absent; box ignored")
        box = None
    elif present and box is None and raw_box is None:
        issues.append("present but no box")
    return StructureAnswer(name, present, box, issues)


def _box(value, bounds, issues: list[str]):
    """Four finite numbers, corners ordered, clipped to ``bounds``; None (with an issue) otherwise."""
    if isinstance(value, dict):
        value = [value.get(k) for k in ("x1", "y1", "x2", "y2")]
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (list, tuple)) for v in value):
        value = [*value[0], *value[1]]
    if isinstance(value, str):  # "[10, 20, 30, 40]" as text: its numbers, not its characters
        issues.append("box given as text")
        value = re.findall(r"-?\d+(?:\.\d+)?", value)
    try:
        if any(isinstance(v, bool) for v in value):  # true is no coordinate, though float(True) is 1.0
            raise TypeError
        numbers = [float(v) for v in value]
    except (TypeError, ValueError, OverflowError):  # OverflowError: a whole number too large for a float
        issues.append(f"unreadable box {_shortened(value)}")
        return None
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        issues.append(f"unreadable box {_shortened(value)}")
        return None
    x0, y0, x1, y1 = numbers
    if min(numbers) >= 0 and max(numbers) <= 1 and min(bounds) > 1:  # the image is larger: fractions of it, not its coordinates
        issues.append(f"box {numbers} lies within one unit of the corner (0-1 fractions, not the image's coordinates?); ignored")
        return None
    if x0 > x1 or y0 > y1:
        issues.append("box corners swapped")
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    clipped = (min(max(x0, 0.0), bounds[0]), min(max(y0, 0.0), bounds[1]), min(max(x1, 0.0), bounds[0]), min(max(y1, 0.0), bounds[1]))
    if clipped != (x0, y0, x1, y1):
        issues.append("box reached outside the image; clipped")
    if clipped[2] - clipped[0] <= 0 or clipped[3] - clipped[1] <= 0:
        issues.append("box lies outside the image" if clipped != (x0, y0, x1, y1) else "zero-area box")
        return None
    return clipped


def _shortened(value, longest: int = 80) -> str:
    """``repr(value)``, cut to ``longest`` characters (a reply may hold a number hundreds of digits long)."""
    text = repr(value)
    return text if len(text) <= longest else text[:longest] + "..."


def _truth(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = normalize_name(value)
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    return None


def _resolve(label, names: list[str]) -> str | None:
    """A legend name for a label given as a name, a tag number or ``"2: spleen"``; None if unknown."""
    if label is None or isinstance(label, bool):
        return None
    if isinstance(label, (int, float)):  # compared before any conversion: an int may be too large for a float
        return names[int(label) - 1] if 1 <= label <= len(names) and label == int(label) else None
    text = str(label)
    keys = {normalize_name(n): n for n in names}
    if normalize_name(text) in keys:
        return keys[normalize_name(text)]
    tagged = _TAGGED.match(text)
    if tagged:
        rest = normalize_name(tagged.group(2) or "")
        if rest in keys:
            return keys[rest]
        tag = int(tagged.group(1))
        return names[tag - 1] if 1 <= tag <= len(names) and not rest else None
    containing = [n for key, n in keys.items() if key and key in normalize_name(text)]
    return containing[0] if len(containing) == 1 else None


def _json_objects(text) -> tuple[list[dict], list[str]]:
    """The JSON objects in an answer (list, single object, or wrapper), repairing common slips."""
    if not isinstance(text, str) or not text.strip():
        return [], ["empty answer"]
    text, cut_off = _without_reasoning(text)
    objects, issues = _objects_of(text)
    return objects, ([CUT_OFF_WHILE_THINKING] if cut_off and not objects else []) + issues


def _objects_of(text: str) -> tuple[list[dict], list[str]]:
    """The JSON objects in an answer without its thinking (see :func:`_json_objects`), and what reading them repaired."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    for candidate in (body, _outermost(body)):
        if candidate is None:
            continue
        for attempt, repaired in ((candidate, False), (_repair(candidate), True), (_close(_repair(candidate)), True)):
            objects = _objects_in(_loads(attempt))
            if objects is not None:
                return objects, ["answer needed JSON repairs"] if repaired else []
    objects = []
    for piece in _OBJECT.findall(body):
        value = _loads(piece)
        value = _loads(_repair(piece)) if value is None else value
        if isinstance(value, dict):
            objects.append(value)
    if objects:
        return objects, ["malformed JSON; read the objects one by one"]
    return [], ["no JSON in the answer"]


def _without_reasoning(text: str) -> tuple[str, bool]:
    """``text`` without a reasoning model's thinking (:data:`_THOUGHT`), which may quote labels and boxes that are not
    its answer, and whether it was cut off while thinking (:data:`_THINKING_CUT_OFF`)."""
    for thought in _THOUGHT:
        text = thought.sub("", text)
    answer = _THINKING_CUT_OFF.sub("", text)
    return answer, answer != text


def _loads(text: str):
    """The JSON value of ``text``, or None when it is not JSON."""
    try:
        return parse_json(text)
    except ValueError:
        return None


def _outermost(text: str) -> str | None:
    """From the first bracket to its last closer, or to the end when the answer was cut off."""
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    end = text.rfind("]" if text[start] == "[" else "}")
    return text[start: end + 1] if end > start else text[start:]


def _close(text: str) -> str:
    """An answer cut off mid-JSON, with its open brackets closed (strings are not tracked)."""
    stack = []
    for char in text:
        if char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}" and stack and stack[-1] == char:
            stack.pop()
    return text.rstrip().rstrip(",") + "".join(reversed(stack))


def _repair(text: str) -> str:
    """Single quotes, Python literals and trailing commas made into JSON."""
    text = text.replace("'", '"')
    text = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", text)))
    return re.sub(r",\s*([\]}])", r"\1", text)


def _objects_in(value) -> list[dict] | None:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        if any(k in value for k in ("label", "name", "present", "bbox_2d")):
            return [value]
        lists = [v for v in value.values() if isinstance(v, list)]
        if lists:
            return [v for v in lists[0] if isinstance(v, dict)]
        return [{"label": k, **v} for k, v in value.items() if isinstance(v, dict)] or None
    return None
