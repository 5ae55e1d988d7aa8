"""Label tables: which label value is which structure, with its color.

Read: our CSV (``value,name,r,g,b[,terminology]``, colors 0..1), Slicer color
tables (``.ctbl`` / ``.txt``: ``value name R G B A``, colors 0..255; and Slicer 5's CSV:
``LabelValue,Name,Color_R,Color_G,Color_B,Color_A`` with optional terminology codes), BIDS segmentation tables
(``*_dseg.tsv``: tab-separated ``index``, ``name`` and optional ``color`` ``#rrggbb`` columns) and JSON
objects ``{"value": "name"}``. Written: Slicer's CSV colour table.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import re
from pathlib import Path

from rau import validation
from rau.errors import InputError, about, path_refusal
from rau.io.json_text import parse_json, read_json_file
from rau.labels import LabelSet, Structure, check_distinct_names, default_color
from rau.user_warnings import warn
from rau.validation.manifests import check_columns

LABEL_TABLE_SUFFIX = ".labels.csv"
"""How the label table rau writes beside a label map ends (:func:`rau.io.segmentations.label_table_path`)."""
SIDECAR_SUFFIXES = (LABEL_TABLE_SUFFIX, ".ctbl", ".txt", ".tsv", ".json")


def find_label_table(label_map_path) -> Path | None:
    """The label table next to a label map: the first of :func:`label_tables_beside`, if there is one."""
    return next(iter(label_tables_beside(label_map_path)), None)


def sidecar_stems(path) -> list[str]:
    """The stems a label table beside ``path`` may have, the longest first: its own (:func:`_own_stems`), then the name
    before its first dot."""
    return list(dict.fromkeys([*_own_stems(path), Path(path).name.split(".")[0]]))


def _own_stems(path) -> list[str]:
    """The stems of the label tables that name ``path``'s values and no other file's: its whole name, as MRIcron names
    its tables (``aal.nii.gz``: ``aal.nii.txt``), and its name without its image suffix (``case.seg.nii.gz``:
    ``case.seg.labels.csv``)."""
    path = Path(path)
    name = path.name
    whole = name[: -len(".gz")] if name.lower().endswith(".gz") else name
    return list(dict.fromkeys([whole, name.rsplit(".nii", 1)[0] if ".nii" in name else path.stem]))


def label_tables_beside(label_map_path) -> list[Path]:
    """The label tables next to a label map: every one named after its own stems (:func:`sidecar_places`), else those
    named after the name before its first dot, which may be another file's (``case.labels.csv`` is ``case.nii.gz``'s,
    not ``case.seg.nii.gz``'s, when that has its own). A label map given as a link with no own table beside it has
    those beside the file it links to (each kind of table beside the link first)."""
    for stems in (_own_stems, _shorter_stems):
        for file in table_owners(label_map_path):
            if tables := _tables_among(file, _places(file, stems(file))):
                return tables
    return []


def table_owners(label_map_path) -> list[Path]:
    """The files beside which a label map's tables lie (:func:`label_tables_beside`): the label map as given and, for
    a link, the file it links to."""
    path = Path(label_map_path)
    return [path, Path(os.path.realpath(path))] if path.is_symlink() else [path]


def _shorter_stems(path) -> list[str]:
    """The stems of :func:`sidecar_stems` that are not ``path``'s own: tables that may be another file's."""
    return [stem for stem in sidecar_stems(path) if stem not in _own_stems(path)]


def sidecar_places(label_map_path) -> list[Path]:
    """Where the label map's own tables may lie (:func:`_own_stems`, each with each sidecar suffix), in the order they
    are read."""
    return _places(Path(label_map_path), _own_stems(label_map_path))


def own_tables(label_map_path) -> list[Path]:
    """The label tables at the label map's own places (:func:`sidecar_places`): every one a reader takes (files that
    are no label table left out, unsaid)."""
    return _tables_among(Path(label_map_path), sidecar_places(label_map_path), said=False)


def _places(path: Path, stems: list[str]) -> list[Path]:
    """The files beside ``path`` named a stem of ``stems`` and a sidecar suffix, in that order."""
    return [path.with_name(stem + suffix) for stem in stems for suffix in SIDECAR_SUFFIXES]


def _tables_among(path: Path, candidates: list[Path], said: bool = True) -> list[Path]:
    """The ``candidates`` that are label tables beside ``path``; a file among them that is no label table is left out
    (and, with ``said``, warned of)."""
    tables = []
    for candidate in filter(validation.file_exists, candidates):
        reason = why_no_label_table(candidate)
        if reason is None:
            tables.append(candidate)
        elif said:
            warn(f"{candidate} beside {path} is no label table ({reason}); ignored")
    return tables


def why_no_label_table(path: Path) -> str | None:
    """Why a file named as a label map's sidecar is no label table, else None: a JSON object whose keys are not values
    (the metadata sidecar BIDS and dcm2niix write beside an image, ``{"Description": ...}``), or a tab-separated file
    that starts neither with a BIDS header nor with a label value (a table of volumes, say). Unreadable: taken for a
    table gone wrong, reported when read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            content = read_json_file(path)
            return "its keys are not label values" if isinstance(content, dict) and not all(_is_integer(key.strip()) for key in content) else None
        if suffix == ".tsv":
            with open(path, "rb") as handle:  # not UTF-8: taken for a table, refused when read as --label-table is
                start = validation.table_text(handle.read(1 << 16), path, "label table", whole=False)
            first = next(iter(start.split()), "")
            return None if _is_bids_table(start) or _is_integer(first) else "its first line names no index and name columns"
    except (OSError, ValueError):
        return None
    return None


MAX_TABLE_BYTES = 64 * 2**20
"""The most a label table is read: a table of a thousand structures takes well under 1 MiB."""


def read_label_table(path) -> LabelSet:
    """Read a label table in any of the supported formats (chosen by suffix); a bad one raises naming the file."""
    path = Path(path)
    validation.check_not_special(path, pipes=True)  # a table may come through a pipe: --label-table <(...)
    try:
        content = validation.bounded_bytes(path, MAX_TABLE_BYTES)
        if content is None:
            raise InputError(f"{path}: holds more than {MAX_TABLE_BYTES // 2**20} MiB, far more than a label table")
        text = validation.table_text(content, path, "label table", spreadsheet=path.suffix.lower() in (".csv", ".tsv"))
        if path.suffix.lower() == ".json":
            pairs = parse_json(text, object_pairs_hook=_JsonPairs)  # every key, also one given twice
            if not isinstance(pairs, _JsonPairs) or not all(isinstance(v, str) for _, v in pairs):
                raise ValueError('a JSON label table maps each value to its name, e.g. {"1": "liver", "2": "spleen"}')
            named = [(int(k), v.strip()) for k, v in pairs if v.strip()]  # blank: no name, as in a CSV
            names = _one_name_per_value(named, [str(path)] * len(named))  # a JSON object's keys have no lines to name
            labels = dataclasses.replace(LabelSet.from_values(list(names), names), colored=frozenset())
        elif path.name.lower().endswith(".csv"):
            labels = _parse_csv(text, path)
        elif _is_bids_table(text):
            labels = _parse_bids_tsv(text, path)
        else:
            labels = _parse_color_table(text, path)
        return dataclasses.replace(labels, named=False) if _names_made_up(labels) else labels
    except InputError as error:
        named = about(path, error)  # the error itself (of its own kind) when it names the table already
        raise error if named == str(error) else InputError(named) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        refusal = path_refusal(error)  # no permission, a file taken for a folder: said as the system says it
        raise (refusal or InputError(f"{path}: not a readable label table ({type(error).__name__}: {error})")) from None


CSV_COLUMNS = ("value", "name", "r", "g", "b", "color", "terminology")
"""The columns of a plain CSV label table (``value``, ``name`` and optionally a colour, 0..1 as ``r,g,b`` or ``#rrggbb`` as
``color``, and ``terminology``), in lower case as :func:`_table_columns` reads them."""
SLICER_CSV_TERMS = {"category": "Category", "type": "Type", "typeModifier": "TypeModifier",
                    "anatomicRegion": "Region", "anatomicRegionModifier": "RegionModifier"}
"""Terminology entries of a Slicer CSV color table: our key -> its column prefix (``<prefix>_CodingScheme`` ...)."""
CODE_PARTS = ("CodingScheme", "CodeValue", "CodeMeaning")
"""The columns of one coded entry of a Slicer CSV color table, after its prefix (:data:`SLICER_CSV_TERMS`)."""
SLICER_CSV_HEADER = ("LabelValue", "Name", "Color_R", "Color_G", "Color_B", "Color_A",
                     *(f"{prefix}_{part}" for prefix in SLICER_CSV_TERMS.values() for part in CODE_PARTS))
"""The columns of Slicer 5's CSV color table, as Slicer writes them (and :func:`write_label_table` does)."""
SLICER_CSV_COLUMNS = tuple(column.lower() for column in SLICER_CSV_HEADER)
"""The columns of Slicer 5's CSV color table (``LabelValue,Name,Color_R,...``), in lower case."""


def _parse_csv(text: str, path: Path) -> LabelSet:
    reader = csv.DictReader(io.StringIO(text, newline=""))  # a quoted name may hold a line break: kept, so it is refused
    columns = _table_columns(reader)
    validation.check_comma_separated(columns, path, "label table")
    slicer = "labelvalue" in columns
    missing = [c for c in (("LabelValue", "Name") if slicer else ("value", "name")) if c.lower() not in columns]
    if missing:
        raise InputError(f"{path}: label table lacks column(s) {', '.join(missing)}; give value,name[,r,g,b] "
                         "or a Slicer color table (LabelValue,Name,Color_R,Color_G,Color_B)")
    _check_table_columns(columns, SLICER_CSV_COLUMNS if slicer else CSV_COLUMNS, path)
    structures, lines, colored = [], [], []
    for row in validation.filled_rows(reader):
        try:
            structure = _slicer_csv_row(row) if slicer else _csv_row(row)
        except (TypeError, ValueError) as error:
            raise InputError(f"{path} line {reader.line_num}: bad label table row ({error})") from error
        if structure.value != 0 and structure.name:
            structures.append(structure)
            lines.append(reader.line_num)
            colored += [structure.value] if _given_colour(row, slicer) else []
    return _label_set(structures, lines, colored, path)


def _check_table_columns(columns: list[str], known: tuple[str, ...], path: Path) -> None:
    """A label table's columns (CSV, BIDS) as a manifest's are checked (:func:`rau.validation.manifests.check_columns`:
    none twice, none a typo of a ``known`` one); a colour given both as ``r,g,b`` and ``color`` is refused. Other columns
    are left unread without a word: tables carry their own (ARCADE's name each segment's ``arcade`` class)."""
    check_columns(columns, known, path, "label table")
    if "color" in columns and any(c in columns for c in ("r", "g", "b")):
        raise InputError(f"{path}: label table gives the colour twice (r,g,b and color); keep one")


def _given_colour(row: dict, slicer: bool) -> bool:
    """Whether a row of a CSV label table gives its structure a colour."""
    return bool(_colour_fields(row, ("Color_R", "Color_G", "Color_B") if slicer else ("r", "g", "b")) or (row.get("color") or "").strip())


def _colour_fields(row: dict, columns: tuple[str, str, str]) -> list[str] | None:
    """A row's three colour fields, or None when it gives none (a partial colour raises, naming the columns as
    ``columns`` spell them; a row's keys are in lower case, :func:`_table_columns`)."""
    fields = [(row.get(column.lower()) or "").strip() for column in columns]
    if not any(fields):
        return None
    if not all(fields):
        raise ValueError(f"a colour needs {', '.join(columns)}, got {', '.join(field or 'nothing' for field in fields)}")
    return fields


def _csv_row(row: dict) -> Structure:
    value = int(row["value"])
    if fields := _colour_fields(row, ("r", "g", "b")):
        color = tuple(float(c) for c in fields)
    else:
        color = _color_of_hex(hexadecimal) if (hexadecimal := (row.get("color") or "").strip()) else default_color(value)
    terminology = parse_json(row["terminology"]) if row.get("terminology") else None
    return Structure(row["name"].strip(), value, color, terminology)


def _slicer_csv_row(row: dict) -> Structure:
    value = int(row["labelvalue"])
    color = _color_of_255(fields) if (fields := _colour_fields(row, ("Color_R", "Color_G", "Color_B"))) else default_color(value)
    codes = {key: [row.get(f"{prefix}_{part}".lower()) or "" for part in CODE_PARTS] for key, prefix in SLICER_CSV_TERMS.items()}
    terminology = {key: code for key, code in codes.items() if any(code)} or None  # as written: a meaning without a value too
    return Structure(row["name"].strip(), value, color, terminology)


BIDS_COLUMNS = ("index", "name")
"""The columns a BIDS segmentation table (``*_dseg.tsv``) must have; ``color`` (``#rrggbb``) may follow."""
BIDS_READ_COLUMNS = (*BIDS_COLUMNS, "color")
"""The columns of a BIDS segmentation table rau reads; others the standard allows (``abbreviation``, ``mapping``) or
a table adds are left unread."""


def _is_bids_table(text: str) -> bool:
    """Whether a table's first line is a BIDS header: tab-separated column names with ``index`` and ``name``."""
    header = _table_columns(_bids_reader(text[: 1 << 16]))
    return all(column in header for column in BIDS_COLUMNS)


def _bids_reader(text: str) -> csv.DictReader:
    return csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")  # any line end


def _table_columns(reader: csv.DictReader) -> list[str]:
    """A label table's column names (CSV, BIDS) as its reader's, in lower case and without the spaces around them
    (``Index``, ``R``): the one rule that matches them in any case."""
    reader.fieldnames = [column.lower() for column in validation.clean_columns(reader)]
    return reader.fieldnames


def _parse_bids_tsv(text: str, path: Path) -> LabelSet:
    """A BIDS segmentation table: one row per label value (``index``), its ``name`` and optionally its ``color``
    (``#rrggbb``; ``n/a`` or none: the value's default colour)."""
    reader = _bids_reader(text)
    columns = _table_columns(reader)
    _check_table_columns(columns, BIDS_READ_COLUMNS, path)
    if given := [c for c in ("r", "g", "b") if c in columns]:
        raise InputError(f"{path}: a BIDS segmentation table gives the colour as color (#rrggbb), not {','.join(given)}")
    structures, lines, colored = [], [], []
    for row in validation.filled_rows(reader):
        try:
            value, name, color = int(row["index"]), (row["name"] or "").strip(), (row.get("color") or "n/a").strip()
            if value != 0 and name and name != "n/a":
                structures.append(Structure(name, value, default_color(value) if color == "n/a" else _color_of_hex(color)))
                lines.append(reader.line_num)
                colored += [value] if color != "n/a" else []
        except (TypeError, ValueError) as error:
            raise InputError(f"{path} line {reader.line_num}: bad BIDS segmentation table row ({error})") from error
    return _label_set(structures, lines, colored, path)


def _color_of_hex(text: str) -> tuple[float, float, float]:
    """A colour written ``#rrggbb`` (BIDS), as 0..1."""
    digits = text.removeprefix("#")
    if not text.startswith("#") or len(digits) != 6 or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"the colour {text!r} must be written #rrggbb")
    return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))


def _names_made_up(labels: LabelSet) -> bool:
    """Whether every name is the one made up from its value (``label_2``), as rau writes the table of an unnamed
    reference's result: such a table names nothing, so its structures match by value like the unnamed map's."""
    return bool(labels.structures) and all(structure.name == f"label_{structure.value}" for structure in labels)


class _JsonPairs(list):
    """A JSON object as its (key, value) pairs in order, as ``json.loads`` gives them to ``object_pairs_hook``."""


def _label_set(structures: list[Structure], lines: list[int], colored: list[int], path: Path) -> LabelSet:
    """The structures a table gives (``lines``: the line each is on; ``colored``: the values given a colour): a name
    given twice, or a value (a label map has one structure per value), is refused naming the line of the second."""
    where = [f"{path} line {line}" for line in lines]
    check_distinct_names([structure.name for structure in structures], where)
    _one_name_per_value([(structure.value, structure.name) for structure in structures], where)
    return LabelSet(tuple(structures), colored=frozenset(colored))


def _one_name_per_value(named: list[tuple[int, str]], where: list[str]) -> dict[int, str]:
    """``(value, name)`` pairs as a dict (``where``: where each was read, the table and its line); a negative value, or
    a value named twice, raises, naming both names."""
    seen: dict[int, str] = {}
    for (value, name), place in zip(named, where):
        if value < 0:
            raise InputError(f"{place}: label value {value} ({name!r}) is negative; label values are 0 (the background) "
                             "or positive whole numbers")
        if value in seen:
            raise InputError(f"{place}: label value {value} is named twice ({seen[value]!r} and {name!r})")
        seen[value] = name
    return seen


COLOR_TABLE_FIELD = re.compile(r'"([^"]*)"(?=\s|$)|(\S+)')
"""A field of a color table line: a quoted one (``"left lung"``, its closing quote ending the field), else a
word, quotes in it kept as Slicer keeps them (Slicer writes the name ``a,b "q"`` as ``a,b_"q"``)."""


ITK_SNAP_LINE = re.compile(r'(\s*[^\s"]+(?:\s+[^\s"]+){6})\s+"(.*)"\s*')
"""An ITK-SNAP label description line: seven fields, then the name, all between its opening quote and the line's
last one (ITK-SNAP writes a name's quotes as they are: ``"a "q" b"``)."""


def _color_table_fields(line: str) -> list[str]:
    """A color table line's fields: words, or a quoted name (of one word or several) without its quotes; an
    ITK-SNAP line's name is kept whole, ``\\"`` in it read as ``"``."""
    if snap := ITK_SNAP_LINE.fullmatch(line):
        return snap[1].split() + [snap[2].replace('\\"', '"')]
    return [quoted or word for quoted, word in COLOR_TABLE_FIELD.findall(line)]


def _name_quoted(line: str) -> bool:
    """Whether a color table line's name (the field after its value) is quoted: it ends where its quote does."""
    fields = list(COLOR_TABLE_FIELD.finditer(line))
    return len(fields) > 1 and fields[1][1] is not None


def _parse_color_table(text: str, path: Path) -> LabelSet:
    """A Slicer color table (``value name r g b a``, 0-255, an underscore in a name standing for a space; an
    MRIcron table gives ``value name`` and names as they are, of one word or several; a name may be quoted) or an
    ITK-SNAP label description (``value r g b a visible mesh "name"``, the quoted name last). A line that reads two
    ways (:func:`_readings`) is read with the colour width of the table's other lines (:func:`_colour_width`)."""
    read = []  # (line number, line, value, its readings)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        with _color_table_line(path, number, line):
            fields = _color_table_fields(line)
            if line.rstrip().endswith('"'):  # ITK-SNAP
                value, readings = int(fields[0]), [(fields[-1], fields[1:4])]
            else:
                value, readings = int(fields[0]), _readings(fields[1:], _name_quoted(line))
            read.append((number, line, value, readings))
    width = _colour_width([readings for *_, readings in read])
    structures, lines, colored = [], [], []
    for number, line, value, readings in read:
        with _color_table_line(path, number, line):
            name, colour = next(reading for reading in readings if len(readings) == 1 or len(reading[1]) == width)
            color = _color_of_255(colour[:3]) if colour else default_color(value)
        name = name.strip()  # a quoted name's spaces, as a CSV's names are read; blank: no name
        if value != 0 and name and name.lower() not in ("background", "none", "clear label"):
            structures.append(Structure(name, value, color))
            lines.append(number)
            colored += [value] if colour else []
    return _label_set(structures, lines, colored, path)


@contextlib.contextmanager
def _color_table_line(path: Path, number: int, line: str):
    """A color table line that cannot be read is refused naming the table, the line and the formats read."""
    try:
        yield
    except ValueError as error:
        raise InputError(f"{path} line {number}: bad color table line {line!r}: {error} (expected a Slicer color table, "
                         'value name r g b a, an ITK-SNAP label description, value r g b a visible mesh "name", or a BIDS '
                         "table, tab-separated with a header line naming its index and name columns)") from None


def _readings(fields: list[str], quoted: bool) -> list[tuple[str, list[str]]]:
    """The ways a color table line's fields after its value read as a name and its colour (R G B [A]; none when the
    line gives none). Slicer writes one word, then R G B A (a space in a name saved as _); AAL's table one word, then
    an index (not a colour); a plain ``value name`` table may give a name of several words, kept whole (also one word
    and two numbers: ``Vermis 1 2``), with three or four numbers after it taken as its colour. More than four
    numbers: the last four are R G B A, the others part of the name. Four after one word or a quoted name are R G B A;
    after an unquoted name of several words they read two ways: R G B A, or the first of them part of the name and R G B."""
    trailing = next((count for count, field in enumerate(reversed(fields)) if not _is_number(field)), len(fields))
    words = fields[: len(fields) - trailing]
    if trailing > 4:
        return [_named(fields[:-4], fields[-4:])]
    if not words:
        raise ValueError("no name after the value")
    if trailing == 4:
        return [_named(words, fields[-4:])] + ([] if quoted or len(words) == 1 else [_named(fields[:-3], fields[-3:])])
    if trailing == 3:
        return [_named(words, fields[-3:])]
    if len(words) == 1 and trailing == 1 and _is_integer(fields[1]):  # one word, then an index
        return [(words[0], [])]
    return [(" ".join(fields), [])]


def _named(name: list[str], colour: list[str]) -> tuple[str, list[str]]:
    """A name given as ``name``'s fields (one: Slicer's word, an underscore standing for a space) and its colour."""
    return (name[0].replace("_", " ") if len(name) == 1 else " ".join(name)), colour


def _colour_width(lines: list[list]) -> int:
    """The colour width (3: R G B; 4: R G B A) a line that reads two ways is read with: 3 when the table's lines that
    read one way with a colour all give three numbers, else Slicer's 4. ``lines``: each line's readings."""
    widths = {len(readings[0][1]) for readings in lines if len(readings) == 1 and readings[0][1]}
    return 3 if widths == {3} else 4


def _color_of_255(fields: list[str]) -> tuple[float, float, float]:
    """R, G, B given as whole numbers 0-255 (color tables, Slicer's CSV), as 0..1."""
    if not all(_is_integer(field) and 0 <= int(field) <= 255 for field in fields):
        raise ValueError(f"the colour {' '.join(fields)} must be three whole numbers 0-255")
    return tuple(int(field) / 255 for field in fields)


def _is_integer(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def write_label_table(labels: LabelSet, path) -> None:
    """Write Slicer's CSV colour table (one row per structure: value, name, colour 0-255, terminology codes), which
    Slicer loads with the label map beside it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)  # every text quoted, as Slicer writes it: its reader
        writer.writerow(SLICER_CSV_HEADER)                          # takes an unquoted '#' for a comment
        for s in labels:
            writer.writerow([s.value, s.name, *map(int, color_fields(s.color)), 255, *_terminology_fields(s.terminology)])


def _terminology_fields(terminology: dict | None) -> list[str]:
    """A terminology as the coded entries of a Slicer CSV colour table (:data:`SLICER_CSV_TERMS`; blank where none);
    its context names, which Slicer's table has no column for, are left out."""
    return [field for key in SLICER_CSV_TERMS for field in ((terminology or {}).get(key) or ["", "", ""])]


def color_fields(color) -> list[str]:
    """A colour (0..1) as our table writes it: red, green and blue as whole numbers 0-255."""
    return [str(int(c * 255 + 0.5)) for c in color]  # halves up: 0.7 is 179
