"""Evaluation manifests: a CSV of reference -> target cases with truth labels.

Columns ``reference_image,reference_labels,target_image,target_labels`` (paths
relative to the manifest), optional ``structures`` (names separated by ``;``),
``reference_spacing`` / ``target_spacing`` (mm, for 2D pictures) and
``label_table`` (names for label maps without a sidecar, used on both sides).
Rows sharing a target form one multi-reference case.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_COLUMNS = ("reference_image", "reference_labels", "target_image", "target_labels")


@dataclass(frozen=True)
class ReferenceEntry:
    image: Path
    labels: Path
    spacing: float | None = None


@dataclass
class Case:
    """One target with its truth, the references to use and optional structure names."""

    target_image: Path
    target_labels: Path | None
    target_spacing: float | None
    references: list[ReferenceEntry] = field(default_factory=list)
    structures: list[str] | None = None
    label_table: Path | None = None


def read_manifest(path, truth: bool = True) -> list[Case]:
    """Cases in manifest order; raises ValueError naming a missing column or file.

    With ``truth=False`` (cohort runs) the ``target_labels`` column is optional.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        required = [c for c in REQUIRED_COLUMNS if truth or c != "target_labels"]
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: manifest lacks column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: manifest has no cases")
    cases: dict[tuple[str, str], Case] = {}
    for number, row in enumerate(rows, start=2):
        paths = {c: path.parent / row[c] for c in REQUIRED_COLUMNS if row.get(c)}
        for column in required:
            if column not in paths:
                raise ValueError(f"{path} line {number}: {column} is empty")
        for column, file in paths.items():
            if not file.exists():
                raise FileNotFoundError(f"{path} line {number}: {column} {file} does not exist")
        key = (row["target_image"], row.get("target_labels") or "")
        case = cases.setdefault(
            key,
            Case(
                paths["target_image"],
                paths.get("target_labels"),
                _float(row.get("target_spacing")),
                structures=[s.strip() for s in row["structures"].split(";") if s.strip()] if row.get("structures") else None,
                label_table=path.parent / row["label_table"] if row.get("label_table") else None,
            ),
        )
        case.references.append(ReferenceEntry(paths["reference_image"], paths["reference_labels"], _float(row.get("reference_spacing"))))
    return list(cases.values())


def _float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None
