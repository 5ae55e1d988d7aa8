"""Reading JSON that users, files and servers give: one malformed-JSON error for every way it can be broken."""

from __future__ import annotations

import json
from pathlib import Path


def parse_json(text: str | bytes, **options):
    """``json.loads(text, **options)``; a document nested deeper than Python's parser can follow (it would raise a
    RecursionError, a crash) raises the ``ValueError`` that any other malformed JSON raises. A whole number too long
    for Python to read (over 4,300 digits) is read as a float, infinite as a float too large is, instead of making
    the whole document unreadable."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("nested too deeply to read (brackets within brackets beyond Python's limit)") from None
    except ValueError as error:  # read again, slower, only when a number was too long (a call per number)
        if "Exceeds the limit" not in str(error):
            raise
        return json.loads(text, **{"parse_int": _whole_number, **options})


def read_json_file(path, **options):
    """:func:`parse_json` of a UTF-8 file, with or without the byte-order mark Windows editors write at its start; a file
    that is no UTF-8 text raises ``UnicodeDecodeError``, a ``ValueError`` as malformed JSON does."""
    return parse_json(Path(path).read_text(encoding="utf-8-sig"), **options)


def read_json_object(path) -> dict:
    """:func:`read_json_file` of a file that must hold a JSON object: any other document raises ``ValueError`` too."""
    document = read_json_file(path)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _whole_number(digits: str) -> int | float:
    """``int(digits)``, or ``float(digits)`` (infinite) for digits beyond Python's limit (``sys.set_int_max_str_digits``)."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)
