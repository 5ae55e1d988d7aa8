"""Checks of tables the user writes: manifest rows, their columns, paths and pixel sizes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from rau.errors import ImageReadError, InputError, OptionError
from rau.validation.files import check_nameable, check_not_special
from rau.validation.options import positive_number
from rau.validation.text_tables import check_comma_separated, clean_columns, filled_rows, table_text


def read_table(path, required: tuple[str, ...], what: str, optional: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """Rows of a CSV (a UTF-8 byte order mark is fine) as ``(line number, row)``.

    Missing or repeated columns, a column a letter or two from a ``required`` or ``optional`` one (a typo:
    other columns, such as notes, are allowed), a pixel-size column the table does not read
    (:func:`check_spacing_columns`), short or long rows and empty required fields raise naming file and line.
    """
    path = Path(path)
    check_not_special(path)
    if not path.is_file():
        raise InputError(f"{what} {path} " + ("is a folder, not a CSV file" if path.is_dir() else "does not exist"))
    try:
        reader = csv.DictReader(io.StringIO(table_text(path.read_bytes(), path, what), newline=""))
        columns = clean_columns(reader)
        if not columns:
            raise InputError(f"{path}: {what} is empty; its first line names the columns ({', '.join(required)})")
        check_comma_separated(columns, path, what)
        check_columns(columns, (*required, *optional), path, what)
        check_spacing_columns(columns, optional, path, what)
        missing = [c for c in required if c not in columns]
        if missing:
            raise InputError(f"{path}: {what} lacks column(s) {', '.join(missing)}; its first line names the columns, "
                             f"and reads '{','.join(columns)}'")
        rows = []
        for row in filled_rows(reader):
            line = reader.line_num
            if None in row:
                raise InputError(f"{path} line {line}: more fields than the {len(columns)} columns")
            if any(value is None for value in row.values()):
                raise InputError(f"{path} line {line}: row has fewer fields than the {len(columns)} columns")
            empty = [c for c in required if not row[c].strip()]
            if empty:
                raise InputError(f"{path} line {line}: empty {', '.join(empty)}")
            rows.append((line, {k: v.strip() for k, v in row.items()}))
    except csv.Error as error:
        raise InputError(f"{path}: {what} is not a readable CSV ({error})") from None
    if not rows:
        raise InputError(f"{path}: {what} lists nothing")
    return rows


def check_columns(columns: list[str], known: tuple[str, ...], path, what: str) -> None:
    """No column named twice (a reader would keep the last), none a typo of a ``known`` one (capitals too: names are
    lower case)."""
    import difflib

    repeated = sorted({c for c in columns if c and columns.count(c) > 1})  # a spreadsheet's empty trailing cells are no columns
    if repeated:
        raise InputError(f"{path}: {what} names the column {repeated[0]!r} twice")
    for column in columns:
        close = difflib.get_close_matches(column.lower(), known, n=1, cutoff=0.85)
        if column not in known and close:
            raise InputError(f"{path}: column {column!r} is not one rau reads; did you mean {close[0]!r}?")


_UNIT = r"(pixels?|px|pix|voxels?)"
PIXEL_SIZE_PHRASES = (r"spacing", rf"\b{_UNIT} size\b", r"\b(pixel|voxel|px|pix)size\b", rf"\b(mm|um|µm|microns?) (per )?{_UNIT}\b",
                      rf"\b{_UNIT} (per )?mm\b", r"\b(mmperpixel|mmperpx|mmpervoxel|pixelspermm|pxpermm|pixdim)\b")
"""What makes a column's name one of a pixel size (or its inverse, pixels per mm), searched in its words in lower case,
one space apart (``Pixel size (mm)`` -> ``pixel size mm``, ``mm/px`` -> ``mm px``, ``PixelSpacing`` -> ``pixel
spacing``): ``spacing`` anywhere, a pixel or voxel ``size``, a length unit per pixel, pixels per mm."""


def names_pixel_size(column: str) -> bool:
    """Whether a column's name says it holds a pixel size (:data:`PIXEL_SIZE_PHRASES`): ``pixel_size_mm``, ``Spacing``,
    ``mm/pixel``; not ``caliper_mm`` or ``counts_per_pixel``."""
    words = " ".join(re.findall(r"[^\W\d_]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", column).lower()))
    return any(re.search(phrase, words) for phrase in PIXEL_SIZE_PHRASES)


def check_spacing_columns(columns: list[str], optional: tuple[str, ...], path, what: str) -> None:
    """No column that names a pixel size (:func:`names_pixel_size`) other than the ``optional`` ones the table reads:
    another table's name for it (a bank's ``pixel_spacing`` in a manifest, HC18's ``pixel_size_mm``) would be ignored
    and the run done in pixels."""
    read = [c for c in optional if names_pixel_size(c)]
    for column in columns:
        if names_pixel_size(column) and column not in read:
            raise InputError(f"{path}: column {column!r} is not one a {what} reads; it takes pixel sizes (mm) from {' and '.join(read)}")


def spacing_field(row: dict, column: str, path, line: int) -> float | None:
    """An optional pixel-size field of a manifest row: empty, or a positive number."""
    text = row.get(column) or ""
    if not text:
        return None
    try:
        return positive_number(text, column)
    except OptionError as error:
        raise InputError(f"{path} line {line}: {error}") from None


def check_pixel_sizes(inputs: list[tuple[str, object, float | None]], where: str = "") -> None:
    """2D pictures (PNG, JPEG ...) carry no pixel size, nor do some DICOM files (an ultrasound frame that keeps it
    only in its regions' calibration): give it for every such input (mm) or for none (all then work in pixels). A
    mix would compare millimetres with pixels and register nonsense, and so would pictures in pixels beside a file
    whose header gives pixels of another size (a 1-slice NIfTI in mm).

    ``inputs``: (how the user named it, path, pixel size or None) of every image input. ``where``
    prefixes the message (a manifest line). A file without a pixel size of its own that cannot be read takes no
    part (it is neither without a pixel size nor with one): the read that follows names it. Such files are read
    only where a mix would be refused.
    """
    from rau.io.images import without_pixel_size

    unsized = [(name, file, size, kind) for name, file, size in inputs if (kind := without_pixel_size(file))]
    problem = pixel_size_mix(inputs, unsized)
    unreadable = [file for _, file, _, _ in unsized if not is_readable(file)] if problem else []
    if unreadable:
        problem = pixel_size_mix([item for item in inputs if item[1] not in unreadable],
                                 [item for item in unsized if item[1] not in unreadable])
    if problem:
        raise OptionError(f"{where}{problem}")


def pixel_size_mix(inputs: list[tuple[str, object, float | None]], unsized: list[tuple[str, object, float | None, str]]) -> str | None:
    """What :func:`check_pixel_sizes` refuses in ``inputs``, of which ``unsized`` (with what each is) give no pixel
    size of their own; None if nothing."""
    from rau.io.images import header_spacing

    given = [name for name, _, size, _ in unsized if size]
    missing = [(name, kind) for name, _, size, kind in unsized if not size]
    if not missing:
        return None
    if given:
        return (f"{missing[0][0]}: {missing[0][1]} without a pixel size, while {given[0]} has one; "
                "give the pixel size in mm of every image that has none, or of none to work in pixels")
    for name, file, _ in inputs:
        sizes = header_spacing(file) or ()
        if any(abs(size - 1.0) > 1e-3 for size in sizes):
            return (f"{missing[0][0]}: {missing[0][1]} without a pixel size (read as 1 mm pixels), while the header of "
                    f"{name} gives {' x '.join(f'{size:g}' for size in sizes)} mm pixels; give its pixel size in mm")
    return None


def is_readable(file) -> bool:
    """Whether :func:`rau.io.images.read_image` reads ``file``; what reading warns of is not said (the reading that
    follows says it)."""
    from rau.io.images import read_image
    from rau.user_warnings import collected_warnings

    try:
        with collected_warnings():
            read_image(file)
    except ImageReadError:
        return False
    return True


MAX_FILES_LISTED = 10
"""The most files :func:`check_files_exist` lists in its one error; it counts the others."""


def check_files_exist(rows: list[tuple[int, dict]], columns: tuple[str, ...], path) -> None:
    """Every file the manifest ``path``'s ``rows`` (``(line, row)``) name in ``columns`` is there (:func:`existing_file`):
    one that is not is refused as it says; several, in one error that lists each with its line and column (the first
    :data:`MAX_FILES_LISTED`, then how many more), so that a large cohort's are all mended before one rerun."""
    errors = []
    for line, row in rows:
        for column in (column for column in columns if row.get(column)):
            try:
                existing_file(row, column, path, line)
            except InputError as error:
                errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        listed = [str(error).removeprefix(f"{path} ") for error in errors[:MAX_FILES_LISTED]]
        more = [f"and {len(errors) - MAX_FILES_LISTED} more"] if len(errors) > MAX_FILES_LISTED else []
        raise InputError(f"{path}: {len(errors)} files it names cannot be read: {'; '.join([*listed, *more])}")


def existing_file(row: dict, column: str, path, line: int) -> Path:
    """A file named in a manifest row (relative to the manifest); it must exist, and not as a pipe or device (a
    label table, which ``--label-table`` may give through a pipe, would wait for ever on a stale one here)."""
    file = Path(path).parent / row[column]
    try:
        check_nameable(file)  # else a file that is there would be said not to exist
        if not file.exists():
            raise InputError(f"{file} does not exist")
        check_not_special(file)
    except InputError as error:
        raise InputError(f"{path} line {line}: {column} {error}") from None
    return file
