"""The pairs dataset on disk: ``{split}.jsonl`` + ``images/*.png`` + ``card.json`` / ``README.md``.

One JSON line per question::

    {"id", "split", "task", "reference_subject", "reference_slice", "target_subject",
     "target_slice", "legend", "asked", "images": ["images/....png", ...],
     "prompt": [chat messages, images as {"type": "image"} placeholders in order],
     "answer": "<ideal answer text>", "truth": {...}, "bounds": [max x, max y]}

:func:`load_split` turns a split into the prompt / completion / images columns
TRL's trainers read.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import MISSING, asdict, fields
from pathlib import Path

from rau.errors import InputError
from rau.io.atomic import atomic_folder
from rau.io.outputs import check_new_folder
from rau.io.json_text import parse_json
from rau.labels import normalize_name
from rau.train.conversations import conversation, render_reference, render_target
from rau.train.pairs import TASKS, Question
from rau.validation import not_a_folder
from rau.vlm.families import ModelFamily
from rau.vlm.prompts import images_of

CARD = "card.json"
TRUTH_KEYS = {"presence": ("label", "present"), "identity": ("label",), "box": ("boxes",)}
"""What the truth of each task holds (as the rewards and the held-out evaluation read it)."""


def _names(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(name, str) and name for name in value)


RECORD_FIELDS = {
    "id": ("a text", lambda value: isinstance(value, str)),
    "task": (f"one of {', '.join(TASKS)}", lambda value: isinstance(value, str) and value in TASKS),
    "legend": ("a non-empty list of structure names", _names),
    "images": ("a non-empty list of file names", _names),
    "prompt": ("a non-empty list of chat messages", lambda value: isinstance(value, list) and bool(value) and all(isinstance(m, dict) for m in value)),
    "answer": ("a text", lambda value: isinstance(value, str)),
    "truth": ("an object", lambda value: isinstance(value, dict)),
    "bounds": ("[width, height]", lambda value: isinstance(value, list) and len(value) == 2
               and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)),
}
"""What training and its held-out evaluation read of each pairs record: the form each field must have, said and checked."""
REBUILD = "copy the pairs folder again or rebuild it with `rau train build-pairs`"


def write_dataset(splits: dict[str, list[Question]], out, family: ModelFamily, settings: dict, overwrite: bool = False) -> dict:
    """Render and write every split into a new folder that takes ``out``'s place once whole (an earlier pairs dataset
    there goes only then); returns the card (counts per split, task and structure). A link ``out`` stays, and the
    folder it points to is written."""
    out = Path(out).resolve()  # a link's folder; "." by its name, so that an earlier dataset there can be set aside
    check_pairs_out(out, overwrite)
    with atomic_folder(out, overwrite) as folder:
        (folder / "images").mkdir()
        for split, questions in splits.items():
            with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as handle:
                for record in _records(split, questions, family, folder):
                    handle.write(json.dumps(record) + "\n")
        card = make_card(folder, family, settings)
        (folder / CARD).write_text(json.dumps(card, indent=2), encoding="utf-8")
        (folder / "README.md").write_text(card_markdown(card), encoding="utf-8")
    return card


def check_pairs_out(out: Path, overwrite: bool) -> None:
    """``--out`` is a new or empty folder, or (with ``overwrite``) an earlier pairs dataset."""
    check_new_folder(out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"--out {out} is not empty; pass --overwrite to replace a pairs dataset")
        if not (out / CARD).is_file():
            raise InputError(f"--out {out} is not empty and is not a pairs dataset; refusing to delete it")


def read_card(folder) -> dict:
    """The card of the pairs folder ``--data`` (raises naming the option when it is no folder, with a hint when it is no
    pairs dataset, or naming what a damaged one lacks)."""
    path = Path(folder) / CARD
    if not Path(folder).is_dir():
        raise InputError(f"--data {folder}: {not_a_folder(folder)}; make a pairs dataset with `rau train build-pairs`")
    if not path.is_file():
        raise InputError(f"--data {folder} is not a pairs dataset (no {CARD}); make one with `rau train build-pairs`")
    try:
        card = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read the pairs card ({error}); {REBUILD}") from None
    _check_card(path, card)
    return card


def _check_card(path: Path, card) -> None:
    """Refuse a card that is no JSON object, lacks its ``family`` or ``splits``, or whose family lacks a setting of
    :class:`ModelFamily` or has one it does not know, naming the card and the setting."""
    missing = _missing(card, ("family", "splits"), dict)
    if missing:
        raise InputError(f'{path}: the card has no "{missing[0]}"; {REBUILD}')
    required = {setting.name: setting.default is MISSING for setting in fields(ModelFamily)}
    missing = _missing(card["family"], [name for name, needed in required.items() if needed])
    if missing:
        raise InputError(f'{path}: the card has no "family.{missing[0]}"; {REBUILD}')
    unknown = sorted(set(card["family"]) - set(required))
    if unknown:
        raise InputError(f'{path}: the card\'s family has a setting RAU does not know ("{unknown[0]}"); {REBUILD}')


def _missing(document, names, kind=object) -> list[str]:
    """Those of ``names`` that the JSON object ``document`` lacks or holds as no ``kind``; all of them when it is no object."""
    if not isinstance(document, dict):
        return list(names)
    return [name for name in names if name not in document or not isinstance(document[name], kind)]


def family_of_card(card: dict) -> ModelFamily:
    """The model family (image size rule and coordinates) the pictures were rendered for (a card :func:`read_card` read)."""
    return ModelFamily(**card["family"])


def read_records(folder, split: str) -> list[dict]:
    """The JSON records of one split."""
    path = Path(folder) / f"{split}.jsonl"
    if not path.is_file():
        raise InputError(f"{path}: split {split!r} not found")
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    record = parse_json(line)
                except ValueError as error:
                    raise InputError(f"{path}, line {number}: not a whole JSON record ({error}; cut off or damaged); {REBUILD}") from None
                _check_record(record, f"{path}, line {number}")
                records.append(record)
    return records


def _check_record(record, where: str) -> None:
    """Refuse a pairs record that lacks a field of :data:`RECORD_FIELDS`, holds one in another form, or a truth
    without what its task's holds (:data:`TRUTH_KEYS`), naming ``where`` and the field."""
    missing = _missing(record, RECORD_FIELDS)
    if missing:
        raise InputError(f'{where}: the record has no "{missing[0]}"; {REBUILD}')
    for name, (form, fits) in RECORD_FIELDS.items():
        if not fits(record[name]):
            raise InputError(f'{where}: the record\'s "{name}" is {json.dumps(record[name])[:80]}, not {form}; {REBUILD}')
    lacking = _missing(record["truth"], TRUTH_KEYS[record["task"]])
    if lacking:
        raise InputError(f'{where}: the record\'s "truth" has no "{lacking[0]}" (task {record["task"]}: its truth holds '
                         f'{", ".join(TRUTH_KEYS[record["task"]])}); {REBUILD}')


def open_image(folder, relative: str):
    """One picture of a pairs dataset as RGB; a missing or damaged file is named."""
    from PIL import Image as PILImage

    path = Path(folder) / relative
    try:
        with PILImage.open(path) as picture:
            return picture.convert("RGB")
    except (OSError, ValueError) as error:
        reason = "missing" if not path.is_file() else f"unreadable ({error})"
        raise InputError(f"{path}: a picture of the pairs dataset {folder} is {reason}; {REBUILD}") from None


def check_images(folder, records: list[dict]) -> None:
    """Refuse records whose pictures are not in ``folder`` (before a run that reads them later)."""
    for record in records:
        for relative in record["images"]:
            if not (Path(folder) / relative).is_file():
                raise InputError(f"{Path(folder) / relative}: a picture of the pairs dataset {folder} (record {record['id']}) is missing; {REBUILD}")


def load_split(folder, split: str, limit: int | None = None):
    """A ``datasets.Dataset`` with ``prompt``, ``completion``, ``images`` and the reward columns."""
    import datasets

    records = read_records(folder, split)[:limit]
    if not records:
        raise InputError(f"{folder}: split {split!r} is empty")
    rows = []
    for record in records:
        images = [open_image(folder, path) for path in record["images"]]
        rows.append(
            {
                "prompt": record["prompt"],
                "completion": [{"role": "assistant", "content": [{"type": "text", "text": record["answer"]}]}],
                "images": images,
                "task": record["task"],
                "legend": record["legend"],
                "truth": json.dumps(record["truth"]),
                "bounds": record["bounds"],
            }
        )
    return datasets.Dataset.from_list(rows)


def make_card(out: Path, family: ModelFamily, settings: dict) -> dict:
    """Counts per split and task, per structure (presence split into present / absent), and the settings; a structure
    is counted once whatever its spelling (:func:`rau.labels.normalize_name`), under the first one met."""
    card = {"format": "rau-pairs-1", "family": asdict(family), "settings": settings, "splits": {}}
    for path in sorted(out.glob("*.jsonl")):
        records = read_records(out, path.stem)
        structures: dict[str, Counter] = defaultdict(Counter)
        spellings: dict[str, str] = {}
        for record in records:
            for name in record["asked"]:
                key = record["task"]
                if key == "presence":
                    key += "_yes" if record["truth"]["present"] else "_no"
                structures[spellings.setdefault(normalize_name(name), name)][key] += 1
        card["splits"][path.stem] = {
            "questions": len(records),
            "tasks": dict(Counter(r["task"] for r in records)),
            "subjects": sorted({r["target_subject"] for r in records} | {r["reference_subject"] for r in records}),
            "structures": {name: dict(counts) for name, counts in sorted(structures.items())},
        }
    return card


def card_markdown(card: dict) -> str:
    """The card as a short human-readable README."""
    lines = ["# RAU training pairs", "", f"Rendered for model family `{card['family']['name']}`.", ""]
    lines += ["Settings: " + ", ".join(f"{k}={v}" for k, v in card["settings"].items()), ""]
    for split, info in card["splits"].items():
        tasks = ", ".join(f"{task} {count}" for task, count in sorted(info["tasks"].items())) or "none"
        lines += [f"## {split}", "", f"{info['questions']} questions ({tasks}) from {len(info['subjects'])} subjects.", ""]
        lines += ["| structure | box | presence yes | presence no | identity |", "| --- | --- | --- | --- | --- |"]
        for name, counts in info["structures"].items():
            cells = [counts.get(k, 0) for k in ("box", "presence_yes", "presence_no", "identity")]
            lines.append(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _records(split: str, questions: list[Question], family: ModelFamily, out: Path):
    """JSON records of a split, writing each pair's pictures once: a pair is the two views drawn together (not their
    subjects and slices: one subject may have several images)."""
    pairs: dict[tuple, list[Question]] = defaultdict(list)
    for question in questions:
        pairs[id(question.reference), id(question.target)].append(question)
    for number, (key, group) in enumerate(pairs.items()):
        pair_id = f"{split}-{number:05d}"
        reference_image = render_reference(group[0].reference, group[0].legend, family)
        target_image = render_target(group[0].target, family)
        shared = {
            id(reference_image): _save(reference_image, out, f"{pair_id}_reference"),
            id(target_image): _save(target_image, out, f"{pair_id}_target"),
        }
        for index, question in enumerate(group):
            talk = conversation(question, family, reference_image, target_image)
            files = [shared.get(id(image)) or _save(image, out, f"{pair_id}_boxed{index}") for image in images_of(talk.messages)]
            yield {
                "id": f"{pair_id}-{index}",
                "split": split,
                "task": question.task,
                "reference_subject": question.reference.subject,
                "reference_slice": question.reference.index,
                "target_subject": question.target.subject,
                "target_slice": question.target.index,
                "legend": question.legend,
                "asked": question.asked,
                "images": files,
                "prompt": _without_images(talk.messages),
                "answer": talk.answer,
                "truth": talk.truth,
                "bounds": list(talk.bounds),
            }


def _save(image, out: Path, stem: str) -> str:
    relative = f"images/{stem}.png"
    image.save(out / relative)
    return relative


def _without_images(messages: list[dict]) -> list[dict]:
    """The messages with each inline image replaced by a ``{"type": "image"}`` placeholder."""
    return [
        {**message, "content": [{"type": "image"} if part["type"] == "image" else part for part in message["content"]]}
        for message in messages
    ]
