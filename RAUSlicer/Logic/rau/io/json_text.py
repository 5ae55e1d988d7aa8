"""Reading JSON that users, files and servers give: one malformed-JSON error for every way it can be broken."""

from __future__ import annotations

import json


def parse_json(text: str | bytes, **options):
    """``json.loads(text, **options)``; a document nested deeper than Python's parser can follow (it would raise a
    RecursionError, a crash) raises the ``ValueError`` that any other malformed JSON raises."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("nested too deeply to read (brackets within brackets beyond Python's limit)") from None
