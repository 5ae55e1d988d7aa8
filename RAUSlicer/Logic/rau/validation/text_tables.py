"""Tables the user saves from a spreadsheet or an editor (manifests, label tables): their text, their header and
their rows, read by one rule whichever table it is."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator

from rau.errors import InputError

UTF32_MARKS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
"""The bytes UTF-32 text starts with (checked first: UTF-32's little-endian mark starts as UTF-16's does)."""

UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
"""The bytes UTF-16 text starts with (Excel's "Unicode Text")."""

ZIP_MARK = b"PK\x03\x04"
"""The bytes a zip file starts with, as a spreadsheet workbook (.xlsx, .ods) does."""


def table_text(content: bytes, path, what: str, whole: bool = True, spreadsheet: bool = True) -> str:
    """A table's text: UTF-8, a leading byte-order mark dropped (``whole`` False: the start of a longer file, a
    character cut at its end left out). UTF-32 or UTF-16 text, a spreadsheet workbook and another encoding are refused
    saying so; ``spreadsheet``: the table is one a spreadsheet saves (a CSV), so Excel's "CSV UTF-8" is advised too."""
    excel = ' (Excel: "CSV UTF-8")' if spreadsheet else ""
    if content.startswith(UTF32_MARKS):
        raise InputError(f"{path}: {what} is UTF-32 text; save it as UTF-8{excel}")
    if content.startswith(UTF16_MARKS):
        raise InputError(f'{path}: {what} is UTF-16 text (as Excel saves "Unicode Text"); save it as UTF-8{excel}')
    if content.startswith(ZIP_MARK):
        raise InputError(f'{path}: {what} is a spreadsheet workbook (such as .xlsx), not text; save it as "CSV UTF-8"')
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(content, final=whole)
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte 0x{content[error.start]:02x} at position {error.start}, in an "
                         "encoding such as Latin-1 or Windows-1252); save it as UTF-8") from None


def clean_columns(reader: csv.DictReader) -> list[str]:
    """A table's column names without the spaces around them (a spreadsheet's ``value, name``), set as the reader's."""
    reader.fieldnames = [column.strip() for column in reader.fieldnames or []]
    return reader.fieldnames


def filled_rows(reader: csv.DictReader) -> Iterator[dict]:
    """A table's rows, those of empty cells left out (a spreadsheet writes ``,,,,`` for a row it emptied)."""
    for row in reader:
        if any((cell or "").strip() for key, value in row.items() for cell in (value if key is None else [value])):
            yield row


def check_comma_separated(columns: list[str], path, what: str) -> None:
    """A table saved with semicolons or tabs (common spreadsheet exports) reads as one column; say so."""
    if len(columns) == 1 and ";" in columns[0]:
        raise InputError(f"{path}: {what} columns are separated by ';'; save it with commas (CSV), decimals with a point")
    if len(columns) == 1 and "\t" in columns[0]:
        raise InputError(f"{path}: {what} is tab-separated; save it with commas (CSV)")
