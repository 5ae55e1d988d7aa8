"""Reading model answers defensively: never raise, sanitize, and say what was wrong.

Public functions:

* :func:`parse_localization` (text, names, bounds, legend, cut_short) -> {name: :class:`StructureAnswer`}, one per name;
* :func:`parse_presence` (text, name, cut_short) -> :class:`StructureAnswer`;
* :func:`parse_identity` (text, names, cut_short) -> (name or None, issues).

``cut_short``: the reply was cut at its token limit; what it finished before the cut is read.

Boxes stay in the model's coordinates (``bounds`` = the largest x and y, see
:meth:`rau.vlm.families.ModelFamily.bounds`); every repair is written to ``issues`` and
halves the confidence. Labels may be names (any case/punctuation), tag numbers, or
``"2: spleen"``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from rau.io.json_text import parse_json
from rau.labels import normalize_name

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_OBJECT = re.compile(r"\{[^{}]*\}")
_OPENER = re.compile(r"[\[{]")
_THOUGHT = (re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE), re.compile(r"^.*</think>", re.DOTALL | re.IGNORECASE))
"""A reasoning model's thinking before its answer: whole ``<think>`` blocks, then what comes before a ``</think>``
whose ``<think>`` the chat template wrote, the tags in any case. Left out as the model's own layout, not as a repair."""
_THINKING_CUT_OFF = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
"""A ``<think>`` never closed: the model was cut off while thinking (an answer before it is read)."""
CUT_OFF_WHILE_THINKING = "cut off while thinking (<think> never closed); no answer"
CUT_OFF_WHILE_ANSWERING = "cut off (token limit) while answering about this structure; no answer"
_BOX_KEYS = ("bbox_2d", "bbox", "box")
"""The keys an entry may give its box by, the first found read."""
_LEFT_OPEN = "\u0000left open"
"""The key :func:`_close` adds to each object it closes: an object the answer left open (cut off, or ended early).
Its value is true, or :data:`_LAST_VALUE_LEFT_OPEN`."""
_LAST_VALUE_LEFT_OPEN = "its last value too"
""":data:`_LEFT_OPEN`'s value for an object whose last value (a box's list) was left open too: its last number may be
cut short."""
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


def parse_localization(text: str, names: list[str], bounds: tuple[float, float], legend: list[str] | None = None,
                       cut_short: bool = False) -> dict[str, StructureAnswer]:
    """One :class:`StructureAnswer` per name asked from a localization answer. ``legend``: the numbered list the
    question showed (default: ``names``), by which a tag number answers; answers about structures not asked are
    left out, saying so. ``cut_short``: the reply was cut at its token limit, so the entry it was writing (left open)
    is no answer (:data:`CUT_OFF_WHILE_ANSWERING`): its last number may be cut short too."""
    objects, issues = _json_objects(text)
    answers: dict[str, StructureAnswer] = {}
    for item in objects:
        name = _resolve(item.get("label", item.get("name", item.get("structure"))), legend or names)
        if cut_short and item.get(_LEFT_OPEN):
            if name in names and name not in answers:
                answers[name] = StructureAnswer(name, None, None, [CUT_OFF_WHILE_ANSWERING])
            continue
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


def parse_presence(text: str, name: str, cut_short: bool = False) -> StructureAnswer:
    """The yes/no answer to a presence question (an ``Answer:`` in front left out): JSON, a bare yes/no
    (:data:`_BARE_YES_NO`), ``present: true`` lines that agree (:func:`_present_lines`), or one plain sentence
    (:func:`_sentence_presence`); None for anything less plain. ``cut_short``: the reply was cut at its token limit,
    so only a JSON object closed before the cut is read (:func:`_closed_objects`)."""
    objects, issues = _closed_objects(text, cut_short)
    for item in objects:
        if "present" in item:
            present = _truth(item["present"])
            if present is not None:
                return StructureAnswer(name, present, None, issues)
    if cut_short:
        return StructureAnswer(name, None, None, [CUT_OFF_WHILE_ANSWERING, *issues])
    answer = _ANSWER_LABEL.sub("", _without_reasoning(text)[0], count=1)  # a thinking model's answer follows its thought
    bare = _BARE_YES_NO.match(answer)
    if bare and _agrees(bare.group(1).lower() == "yes", answer[bare.end():], name):
        return StructureAnswer(name, bare.group(1).lower() == "yes", None, ["bare yes/no instead of JSON"])
    present = _present_lines(answer)
    if present is not None:
        return StructureAnswer(name, present, None, ["'present:' line instead of JSON"])
    present = _sentence_presence(answer, name)
    if present is not None:
        return StructureAnswer(name, present, None, ["sentence instead of JSON"])
    return StructureAnswer(name, None, None, ["no presence answer found"])


_ANSWER_LABEL = re.compile(r"^\W*answer\W*?:", re.IGNORECASE)
"""An ``Answer:`` (``**Answer:**`` too) in front of the answer, left out."""
_BARE_YES_NO = re.compile(r"[^a-z]*\b(yes|no)\b\**\s*(?:[.,!;:\-\u2013\u2014]|$)", re.IGNORECASE | re.MULTILINE)
"""A first word yes or no (between markdown's asterisks too: "**Yes**") that ends the text or its line or is followed
by punctuation or a dash ("Yes.", "No, it is not visible"); not "No doubt, ..." or "Yes it is absent"; what follows it
must say nothing else (:func:`_agrees`)."""
_PRESENT_KEY = re.compile(r"\bpresent\W{0,2}\s*[:=]\s*\W?(\w+)\W*$", re.IGNORECASE)
"""A ``present: true`` line, ending with its value ("present = yes but absent" is none)."""
_IMAGE_1 = re.compile(r"\bimage\s*1\b|\bfirst image\b", re.IGNORECASE)
"""A line about the reference (image 1), not the target."""
_SEEN = {"present": True, "visible": True, "seen": True, "shown": True, "absent": False, "missing": False, "invisible": False}
_PLAIN_SENTENCE = re.compile(
    r"(?:(?:(?:(?P<subject>.{0,200}?) )?(?:is|are)(?:(?P<contracted>n't) | (?P<not>not )?)|(?P<bare_not>not )?)"
    rf"(?P<seen>{'|'.join(_SEEN)})|there (?:is|are) no (?P<nothing>.{{1,200}}?) (?:{'|'.join(w for w, seen in _SEEN.items() if seen)}))"
    r"(?: in (?:image ?2|the second image))?[.!]?", re.IGNORECASE)
"""The whole of a plain presence sentence, its spaces single and each ``'s`` for ``is`` (:data:`_IS_CONTRACTED`) made
``is``: [subject] [is|are] [not] one of :data:`_SEEN`'s words [in image 2 | in the second image], the subject none,
"it", "this" or the structure asked (with or without "the"); or "there is no <structure> visible"."""
_IS_CONTRACTED = re.compile(rf"'s(?= (?:not|no|{'|'.join(_SEEN)})\b)", re.IGNORECASE)
"""An ``'s`` that stands for ``is`` ("it's not visible", "there's no"), not one of a name ("Broca's area")."""


def _present_lines(answer: str) -> bool | None:
    """What the answer's ``present:`` lines (:data:`_PRESENT_KEY`) say, leaving out those about image 1 (:data:`_IMAGE_1`),
    when each says the same; None when they disagree or one says ``not present:``."""
    said = set()
    for line in answer.splitlines():
        keyed = _PRESENT_KEY.search(line)
        if keyed and not _IMAGE_1.search(line[:keyed.start()]):
            said.add(None if re.search(r"\bnot\W*$", line[:keyed.start()], re.IGNORECASE) else _truth(keyed.group(1)))
    return said.pop() if len(said) == 1 else None


def _agrees(yes: bool, rest: str, name: str) -> bool:
    """Whether the text after a bare yes or no says nothing else: nothing ("Yes."), or a plain sentence that says the
    same (:func:`_sentence_presence`: "No, it is not visible"); not "Yes, but it is absent" or "No, it is present"."""
    return not rest.strip() or _sentence_presence(rest, name) is yes


def _sentence_presence(answer: str, name: str) -> bool | None:
    """What a plain sentence (:data:`_PLAIN_SENTENCE`) about ``name`` says of presence ("Not present.", "The fetal head
    is visible in image 2."); None for any other sentence (another structure, an extra clause, a hedge, image 1)."""
    plain = _PLAIN_SENTENCE.fullmatch(_IS_CONTRACTED.sub(" is", " ".join(answer.replace("\u2019", "'").split())))
    if not plain:
        return None
    key, there_is_no = normalize_name(name), plain.group("nothing") is not None
    subject = normalize_name(plain.group("nothing") if there_is_no else plain.group("subject") or "")
    if subject not in ({key, "the" + key} if there_is_no else {"", "it", "this", key, "the" + key}):
        return None
    if there_is_no:
        return False
    return _SEEN[plain.group("seen").lower()] != any(plain.group(g) for g in ("contracted", "not", "bare_not"))


def parse_identity(text: str, names: list[str], cut_short: bool = False) -> tuple[str | None, list[str]]:
    """The legend name the model chose for a boxed region, or None with the reason. ``cut_short``: as for
    :func:`parse_presence`."""
    objects, issues = _closed_objects(text, cut_short)
    for item in objects:
        name = _resolve(item.get("label", item.get("name")), names)
        if name is not None:
            return name, issues
    if cut_short:
        return None, [CUT_OFF_WHILE_ANSWERING, *issues]
    name = _resolve(text.strip().strip('."'), names)
    if name is not None:
        return name, ["plain label instead of JSON"]
    return None, issues + ["no known label in the answer"]


ANSWERED_TWICE = "answered twice; the first answer was kept"
SEVERAL_BOXES = "given several boxes; the first readable box was kept"
NO_READABLE_BOX = "given several boxes; none could be read"
ENDED_BEFORE_ANSWER = "the answer ended inside this entry before it said 'present': false or gave a whole box; no answer"


def _summarized(issues: list[str]) -> list[str]:
    """Each issue once, at most :data:`MAX_ISSUES` of them and a count of the rest (a reply of a hundred thousand
    unknown labels made a result JSON of megabytes)."""
    distinct = list(dict.fromkeys(issues))
    return distinct if len(distinct) <= MAX_ISSUES else [*distinct[:MAX_ISSUES], f"and {len(distinct) - MAX_ISSUES} more such issues"]


def _structure_answer(name: str, item: dict, bounds) -> StructureAnswer:
    issues: list[str] = []
    box_key = next((k for k in _BOX_KEYS if k in item), None)
    raw_box = item[box_key] if box_key else None
    present = _truth(item.get("present", item.get("visible")))
    if _ended_before_answer(item, present, box_key):
        return StructureAnswer(name, None, None, [ENDED_BEFORE_ANSWER])
    box = None
    if raw_box is not None:
        box = _box(raw_box, bounds, issues)
    if present is None and raw_box is not None and box is None:  # a box meant presence; one unread says nothing
        issues.append("no readable 'present' and no usable box; no answer")
    elif present is None:
        present = box is not None
        issues.append("no readable 'present'; inferred from the box")
    elif present is False and box is not None:
        issues.append("box given for a structure said to be absent; box ignored")
        box = None
    elif present and box is None and raw_box is None:
        issues.append("present but no box")
    return StructureAnswer(name, present, box, issues)


def _ended_before_answer(item: dict, present: bool | None, box_key: str | None) -> bool:
    """Whether the answer, not said to be cut (no end token sent?), ended inside this entry before it said
    ``"present": false`` or gave a whole box: its box may have been coming, or its last number cut short."""
    if not item.get(_LEFT_OPEN) or present is False:
        return False
    box_left_open = item[_LEFT_OPEN] == _LAST_VALUE_LEFT_OPEN and list(item)[-2:-1] == [box_key]
    return box_key is None or item[box_key] is None or box_left_open


def _box(value, bounds, issues: list[str]):
    """:func:`_one_box` of ``value``; of several boxes (a list of them), the first readable one, saying why each box
    before it was skipped."""
    if not _several_boxes(value):
        return _one_box(value, bounds, issues)
    skipped: list[str] = []
    for candidate in value:
        kept: list[str] = []
        box = _one_box(candidate, bounds, kept)
        if box is not None:
            issues.extend([SEVERAL_BOXES, *_summarized(skipped), *kept])
            return box
        skipped.extend(kept)
    issues.extend([NO_READABLE_BOX, *_summarized(skipped)])
    return None


def _one_box(value, bounds, issues: list[str]):
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
    reached_outside = clipped != (x0, y0, x1, y1)
    if clipped[2] - clipped[0] <= 0 or clipped[3] - clipped[1] <= 0:
        issues.append("box lies outside the image" if reached_outside else "zero-area box")
        return None
    if reached_outside:
        issues.append("box reached outside the image; clipped")
    return clipped


def _several_boxes(value) -> bool:
    """Whether ``value`` is a list of boxes (lists or ``x1``... objects, readable or not), not one box's corners (pairs)."""
    if not isinstance(value, (list, tuple)) or len(value) < 2 or not all(isinstance(v, (dict, list, tuple)) for v in value):
        return False
    return not all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value)


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
    """The JSON objects in an answer (a list, a single object, a wrapper, or the entries of each of its bracketed
    parts: :func:`_objects_of`), repairing common slips."""
    if not isinstance(text, str) or not text.strip():
        return [], ["empty answer"]
    text, cut_off = _without_reasoning(text)
    objects, issues = _objects_of(text)
    return objects, ([CUT_OFF_WHILE_THINKING] if cut_off and not objects else []) + issues


def _closed_objects(text, cut_short: bool) -> tuple[list[dict], list[str]]:
    """:func:`_json_objects`, less those a reply ``cut_short`` at its token limit left open: their last value may be
    cut short (``{"label": 1`` of 12)."""
    objects, issues = _json_objects(text)
    return [item for item in objects if not (cut_short and item.get(_LEFT_OPEN))], issues


def _objects_of(text: str) -> tuple[list[dict], list[str]]:
    """The JSON objects in an answer without its thinking (see :func:`_json_objects`), and what reading them repaired:
    the answer as one JSON value, else the entries of every bracketed part of it (:func:`_bracketed`: one object or
    list per line or per sentence), each part as one value (:func:`_value_entries`) or its objects one by one."""
    fences = _FENCE.findall(text)  # several blocks (one per structure, a draft and its correction): each is a part
    body = "\n".join(fences) if fences else text
    objects, repaired = _value_entries(body)
    if objects:
        return objects, ["answer needed JSON repairs"] if repaired else []
    parts, any_json, piecewise = [], objects is not None, False
    for part in _bracketed(body):
        entries, part_repaired = _value_entries(part)
        any_json = any_json or entries is not None
        one_by_one = not entries
        entries = [entry for entry in (_flat_objects(part) if one_by_one else entries) if _ANSWER_KEYS & entry.keys()]
        if entries and entries not in parts:  # no answer about a structure (a legend, an explanation), or a repeat: none
            parts.append(entries)
            repaired, piecewise = repaired or part_repaired, piecewise or one_by_one
    if not parts:
        return [], [] if any_json else ["no JSON in the answer"]
    issues = ["malformed JSON; read the objects one by one"] if piecewise or len(parts) > 1 else []
    return [item for entries in parts for item in entries], (["answer needed JSON repairs"] if repaired else []) + issues


def _value_entries(text: str) -> tuple[list[dict] | None, bool]:
    """The entries of ``text`` read as one JSON value, repaired (:func:`_repair`) or closed (:func:`_close`) when it
    must be, and whether it was; None when it is no JSON value (``[]`` or prose's ``[1]`` hold no entry)."""
    for attempt, repaired in ((text, False), (_repair(text), True), (_close(_repair(text)), True)):
        objects = _objects_in(_loads(attempt))
        if objects is not None:
            return objects, repaired
    return None, False


_ANSWER_KEYS = {"label", "name", "structure", "present", "visible", *_BOX_KEYS}
"""The keys of an entry that answers about a structure (its name, its presence or its box)."""


def _flat_objects(text: str) -> list[dict]:
    """The objects in ``text`` holding no other object, each read alone (a list with one broken entry)."""
    objects = []
    for piece in _OBJECT.findall(text):
        value = _loads(piece)
        value = _loads(_repair(piece)) if value is None else value
        if isinstance(value, dict):
            objects.append(value)
    return objects


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


def _bracketed(text: str):
    """Each bracketed part of ``text`` in turn, prose between them skipped: from a bracket to the closer that closes it
    (:func:`_structure`), or to the end when none does (a cut answer's last closer may close one of its entries, not
    the whole)."""
    start = 0
    while True:
        opener = _OPENER.search(text, start)
        if opener is None:
            return
        start = opener.start()
        end = _structure(text, start)[2]
        yield text[start:] if end is None else text[start: end + 1]
        if end is None:
            return
        start = end + 1


def _structure(text: str, start: int = 0) -> tuple[list[str], int, int | None]:
    """``text``'s JSON structure from ``start``, strings skipped: the closers its open brackets still need (innermost
    last), where the innermost open bracket's last item starts (after it or the last ``,`` in it), and where the first
    bracket is closed (None when it never is)."""
    stack: list[str] = []
    parent_item_starts: list[int] = []
    item_start, in_string, escaped = start, False, False
    for i in range(start, len(text)):
        char = text[i]
        if in_string:
            in_string, escaped = (in_string, False) if escaped else (char != '"', char == "\\")
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
            parent_item_starts.append(item_start)
            item_start = i + 1
        elif char == ",":
            item_start = i + 1
        elif char in "]}" and stack and stack[-1] == char:
            stack.pop()
            item_start = parent_item_starts.pop()
            if not stack:
                return stack, item_start, i
    return stack, item_start, None


_KEYED = re.compile(r'\s*"(?:[^"\\]|\\.)*"\s*:(.*)', re.DOTALL)
"""An object's item: its key, then its value."""


def _close(text: str) -> str:
    """An answer cut off mid-JSON, with its open brackets closed, each object closed so marked :data:`_LEFT_OPEN` (and
    :data:`_LAST_VALUE_LEFT_OPEN` when its last value was closed too); its last item left out when unfinished (a key
    without its value, a string or word cut short), and then a list's object with nothing in it."""
    stack, item_start, _ = _structure(text)
    item = text[item_start:]
    keyed = _KEYED.fullmatch(item)
    value = keyed.group(1) if keyed else None if stack and stack[-1] == "}" else item
    if stack and item.strip() and (value is None or _loads(value) is None):
        text = text[:item_start]
    before = text.rstrip()[:-1].rstrip()
    if stack[-1:] == ["}"] and text.rstrip().endswith("{") and before[-1:] in ("[", ",", ""):  # not a key's value
        return _close(before)
    closed = text.rstrip().rstrip(",")
    for depth in reversed(range(len(stack))):
        if stack[depth] == "}":
            marker = "true" if depth == len(stack) - 1 else json.dumps(_LAST_VALUE_LEFT_OPEN)
            closed += ("" if closed.endswith("{") else ", ") + json.dumps(_LEFT_OPEN) + ": " + marker
        closed += stack[depth]
    return closed


def _repair(text: str) -> str:
    """Single-quoted strings (:func:`_double_quoted`), Python literals and trailing commas made into JSON."""
    text = _double_quoted(text)
    text = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", text)))
    return re.sub(r",\s*([\]}])", r"\1", text)


def _double_quoted(text: str) -> str:
    """``text`` with its single-quoted strings double-quoted (a ``"`` in them escaped); an apostrophe in a
    double-quoted string (``"Broca's area"``) is kept."""
    chars, quote, escaped = [], None, False
    for char in text:
        if escaped:
            escaped = False
            if quote == "'" and char == "'":  # \' is no JSON escape: the apostrophe itself
                chars.pop()
        elif quote and char == "\\":
            escaped = True
        elif quote is None and char in "'\"":
            quote, char = char, '"'
        elif char == quote:
            quote, char = None, '"'
        elif quote == "'" and char == '"':
            char = '\\"'
        chars.append(char)
    return "".join(chars)


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
