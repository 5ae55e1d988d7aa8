"""Where the benchmarks and the tests find the shared data (HC18, ARCADE, TotalSegmentator fixtures, Colin27):
``$RAU_SHARED_DATA`` if set, else ``../shared/data`` beside the repository. The manifests under ``protocols/`` name
their files relative to themselves (``../../shared/data/...``), so they need the folder (or a link) beside the clone.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

VARIABLE = "RAU_SHARED_DATA"
SHARED_DATA = Path(os.environ.get(VARIABLE) or Path(__file__).resolve().parents[2] / "shared" / "data")
"""``$RAU_SHARED_DATA``, or ``../shared/data`` beside the repository."""

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"
"""The repository's evaluation manifests and label tables."""
TOTALSEG_LABEL_TABLE = PROTOCOLS / "totalseg_total.labels.csv"
"""The names of the TotalSegmentator fixtures' label values (5: liver ...)."""
PROTOCOL_PREFIX = "../../shared/data/"
"""How the manifests under ``protocols/`` name the shared data (relative to themselves)."""
PATH_COLUMNS = ("reference_image", "reference_labels", "target_image", "target_labels", "label_table")


def data_problem(data: Path, needed: list[str]) -> str | None:
    """What keeps ``data`` from being the shared data folder holding each of ``needed`` (paths in it), or None."""
    if not data.is_dir():
        return f"{data}: " + ("not a folder" if data.exists() else "no such folder")
    missing = [name for name in needed if not (data / name).is_file()]
    if missing:
        return f"{data}: lacks {missing[0]}" + (f" and {len(missing) - 1} other file(s) this script reads" if len(missing) > 1 else "")
    return None


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """The set builders' ``--data`` option: the shared data folder, :data:`SHARED_DATA` unless given."""
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help=f"the shared data folder (default: %(default)s, from ${VARIABLE} if set, else ../shared/data beside the repository)")


def check_data(parser: argparse.ArgumentParser, data: Path, needed: list[str]) -> None:
    """Exit 2 through ``parser``, naming ``--data``, unless ``data`` is a folder holding each of ``needed`` (paths
    in it): checked before the builder makes its output folder."""
    if problem := data_problem(data, needed):
        parser.error(f"--data {problem} (give the shared data folder with --data or {VARIABLE})")


def require_shared_data(parser: argparse.ArgumentParser, needed: list[str]) -> Path:
    """:data:`SHARED_DATA`, once it holds each of ``needed`` (paths in it); else exit 2 with one line naming the
    folder and ``RAU_SHARED_DATA`` (before the benchmark reads or writes anything)."""
    if problem := data_problem(SHARED_DATA, needed):
        parser.exit(2, f"{parser.prog}: error: shared data {problem} (set {VARIABLE} to the shared data folder, "
                       f"or put it at ../shared/data beside the repository)\n")
    return SHARED_DATA


def protocol_rows(manifest: Path) -> list[dict]:
    """The rows of the protocol ``manifest`` (a CSV under ``protocols/``), as written."""
    with open(manifest, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def is_protocol(manifest: Path) -> bool:
    """Whether ``manifest`` is one of the repository's (a file under :data:`PROTOCOLS`), whose files lie under
    ``../../shared/data``: a benchmark runs it on :data:`SHARED_DATA` (:func:`protocol_on_shared_data`)."""
    return manifest.is_file() and manifest.resolve().parent == PROTOCOLS


def protocol_files(manifest: Path) -> list[str]:
    """The files the protocol ``manifest`` names in the shared data folder (paths in it, once each): what
    :func:`require_shared_data` checks before the manifest is run."""
    named = [row.get(column) or "" for row in protocol_rows(manifest) for column in PATH_COLUMNS]
    return list(dict.fromkeys(value.removeprefix(PROTOCOL_PREFIX) for value in named if value.startswith(PROTOCOL_PREFIX)))


def protocol_on_shared_data(manifest: Path, folder: Path) -> Path:
    """A copy of the protocol ``manifest`` in ``folder``, naming its files by absolute path: those under
    ``../../shared/data`` under :data:`SHARED_DATA`, the others (label tables) beside ``manifest``."""
    from rau.evaluation.manifest import write_manifest  # here: the tests' conftest reads this module before rau

    rows = protocol_rows(manifest)
    for row in rows:
        for column in PATH_COLUMNS:
            if value := row.get(column):
                row[column] = str(protocol_path(value, manifest))
    copy = folder / manifest.name
    write_manifest(copy, rows)
    return copy


def protocol_path(value: str, manifest: Path, data: Path | None = None) -> Path:
    """The absolute path of the file the protocol ``manifest`` names as ``value``: those under ``../../shared/data``
    under ``data`` (:data:`SHARED_DATA` if None), the others (label tables) beside ``manifest``."""
    inside = value.removeprefix(PROTOCOL_PREFIX)
    return (data or SHARED_DATA).resolve() / inside if inside != value else manifest.resolve().parent / value
