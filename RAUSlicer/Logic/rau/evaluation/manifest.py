"""Evaluation manifests: a CSV of reference -> target cases with truth labels.

Columns ``reference_image,reference_labels,target_image,target_labels`` (paths
relative to the manifest), optional ``structures`` (names separated by ``;``),
``reference_spacing`` / ``target_spacing`` (mm, for 2D pictures) and
``label_table`` (names for label maps without a sidecar, used on both sides).
Rows sharing a target form one multi-reference case.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

from rau import validation
from rau.errors import InputError
from rau.labels import name_keys
from rau.user_warnings import collected_warnings, warn

REQUIRED_COLUMNS = ("reference_image", "reference_labels", "target_image", "target_labels")
COLUMNS = ("reference_image", "reference_labels", "reference_spacing", "target_image", "target_labels", "target_spacing", "label_table")
"""The columns :func:`write_manifest` writes (``structures`` is read but not written)."""


@dataclass(frozen=True)
class ReferenceEntry:
    """One reference of a case: its image, its label map and its pixel size in mm (for a picture; None: none given)."""
    image: Path
    labels: Path
    spacing: float | None = None
    place: str | None = field(default=None, compare=False)
    """Where the manifest gives it (``cases.csv line 3``), for errors about it once read; None: not from a manifest."""


@dataclass
class Case:
    """One target with its truth, the references to use and optional structure names."""

    target_image: Path
    target_labels: Path | None
    target_spacing: float | None
    references: list[ReferenceEntry] = field(default_factory=list)
    structures: list[str] | None = None
    label_table: Path | None = None
    name: str = ""
    """How reports name the case: the target's file name, with parent folders where that is not unique and the
    truth's file name for a target scored against two truths (see :func:`read_manifest`)."""

    def __post_init__(self):
        self.name = self.name or Path(self.target_image).name

    def load_references(self) -> list:
        """The case's references, each read once per process (:func:`rau.references.cached_reference`) and named
        apart by their image paths (:func:`rau.reference_names.named_apart`). A reference repeated (the same files, or
        copies of their bytes, whatever pixel size the rows give) fails the case, naming both manifest lines
        (:func:`rau.references.check_distinct_references`), before any is read: it would vote twice."""
        from rau.reference_names import named_apart
        from rau.references import cached_reference, check_distinct_references

        check_distinct_references([(entry.image, entry.labels, entry.place or str(entry.image)) for entry in self.references])
        tables = self.label_tables()
        loaded = [cached_reference(entry.image, entry.labels, entry.spacing, table) for entry, table in zip(self.references, tables)]
        return named_apart(loaded, [(entry.image, entry.labels) for entry in self.references])

    def label_tables(self) -> list:
        """The label table each reference's labels are read with, then the truth's, if any
        (:func:`rau.references.label_tables`: the case's table names the label maps, a Slicer segmentation its own)."""
        from rau.references import label_tables

        truth = [self.target_labels] if self.target_labels else []
        return label_tables([entry.labels for entry in self.references] + truth, self.label_table)

    def recorded_inputs(self, options) -> dict:
        """The inputs a result JSON records for this case run with engine ``options``, as ``rau segment`` records its own
        (:func:`rau.io.run_outputs.recorded_inputs`; ``rau correct`` reads them)."""
        from rau.io.run_outputs import recorded_inputs

        references = self.references
        return recorded_inputs(self.target_image, self.target_spacing, [r.image for r in references], [r.labels for r in references],
                               [r.spacing for r in references], None, self.label_table, self.structures, options)

    def absolute(self) -> "Case":
        """The same case with absolute paths, for processes that may run in another folder (Ray workers): each file in
        its folder's real location (``..`` and linked folders resolved, as result JSONs record a folder) under its own
        name (a linked file keeps the name that tells its format; its result JSON names the file it links to)."""

        def absolute(path: Path | None) -> Path | None:
            if path is None:
                return None
            path = Path(path).absolute()
            return path.parent.resolve() / path.name

        references = [replace(entry, image=absolute(entry.image), labels=absolute(entry.labels)) for entry in self.references]
        return replace(self, target_image=absolute(self.target_image), target_labels=absolute(self.target_labels),
                       references=references, label_table=absolute(self.label_table))


def largest_pool(cases: list[Case]) -> int | None:
    """The most references any of ``cases`` has (None for no case): a run whose cases have one each ranks and fuses
    nothing (:func:`rau.engines.unused_options`)."""
    return max((len(case.references) for case in cases), default=None)


def read_manifest(path, truth: bool = True) -> list[Case]:
    """Cases in manifest order; raises :class:`~rau.errors.InputError` naming the file, line and problem.

    With ``truth=False`` (cohort runs) the ``target_labels`` column is optional, and a ``target_labels`` file that is
    not there is left out with a warning (:func:`_truth_file`).
    """
    path = Path(path)
    required = tuple(c for c in REQUIRED_COLUMNS if truth or c != "target_labels")
    cases: dict[tuple, tuple[int, Case]] = {}
    rows = validation.read_table(path, required, "manifest", (*COLUMNS, "structures"))
    validation.check_files_exist(rows, (*required, "label_table"), path)  # a cohort run's missing truth is warned of
    for line, row in rows:
        paths = {c: validation.existing_file(row, c, path, line) for c in REQUIRED_COLUMNS if row.get(c) and c != "target_labels"}
        if row.get("target_labels") and (truth_file := _truth_file(row, path, line, truth)):
            paths["target_labels"] = truth_file
        label_table = validation.existing_file(row, "label_table", path, line) if row.get("label_table") else None
        row_case = Case(
            paths["target_image"],
            paths.get("target_labels"),
            validation.spacing_field(row, "target_spacing", path, line),
            structures=[s.strip() for s in row["structures"].split(";") if s.strip()] if row.get("structures") else None,
            label_table=label_table,
        )
        for side in ("reference", "target"):
            if f"{side}_labels" in paths:
                validation.check_distinct_files(paths[f"{side}_image"], paths[f"{side}_labels"], f"{path} line {line}: {side}_labels ")
        truth_key = paths["target_labels"].resolve() if truth and "target_labels" in paths else None  # a cohort run reads no truth
        key = (paths["target_image"].resolve(), truth_key)
        first_line, case = cases.setdefault(key, (line, row_case))
        check_same_case(case, row_case, f"{path} line {line}", first_line)
        reference_spacing = validation.spacing_field(row, "reference_spacing", path, line)
        validation.check_pixel_sizes(
            [(f"{column} {paths[column].name}", paths[column], spacing) for column, spacing in (("reference_image", reference_spacing), ("target_image", case.target_spacing))],
            f"{path} line {line}: ",
        )
        validation.check_not_target(paths["reference_image"], paths["target_image"], f"{path} line {line}: reference_image {row['reference_image']}",
                                        copies=truth)  # an evaluation: its labels would be the truth
        case.references.append(ReferenceEntry(paths["reference_image"], paths["reference_labels"], reference_spacing, f"{path} line {line}"))
    check_structures(cases, path)
    return _named([case for _, case in cases.values()])


def _truth_file(row: dict, path: Path, line: int, truth: bool) -> Path | None:
    """A row's ``target_labels`` file; one a cohort run (``truth`` False), which reads no truth, cannot find is
    None, with a warning naming the line (a typo there may matter to a later ``rau evaluate``)."""
    try:
        return validation.existing_file(row, "target_labels", path, line)
    except InputError as error:
        if truth:
            raise
        warn(f"{error}; left out, as a cohort run reads no truth")
        return None


def _named(cases: list[Case]) -> list[Case]:
    """The cases with names that tell them apart (:attr:`Case.name`): before, subjects' ``image.png`` files and one
    target's two truths gave rows no one could tell apart. Names come from the paths as given (a link keeps its
    own name, not its target's)."""
    import os

    from rau.reference_names import distinct_names

    first = {}  # resolved target -> the path as first given
    for case in cases:
        first.setdefault(Path(case.target_image).resolve(), Path(os.path.abspath(case.target_image)))
    by_target = dict(zip(first, distinct_names(list(first.values()))))
    named = []
    for case in cases:
        target = Path(case.target_image).resolve()
        truths = [other.target_labels for other in cases if Path(other.target_image).resolve() == target]
        name = by_target[target]
        if len(truths) > 1 and case.target_labels:  # one target, several truths: each named by its truth
            name += f" ({distinct_names(truths)[truths.index(case.target_labels)]})"
        named.append(replace(case, name=name))
    return named


def check_structures(cases: dict, path: Path) -> None:
    """Each case's ``structures`` are structures of its first reference, by the rule engines apply
    (:meth:`rau.engines.base.Request.labels`); only those labels are read (once each), not the images.

    ``cases``: ``{key: (first line, case)}`` as :func:`read_manifest` gathers them."""
    from rau.io import read_segmentation

    known = {}
    for line, case in cases.values():
        if not case.structures:
            continue
        labels, table = case.references[0].labels, case.label_tables()[0]
        try:
            if (labels, table) not in known:
                with collected_warnings():  # not said here: the run says them when it reads these labels (before, twice)
                    known[labels, table] = read_segmentation(labels, label_table=table).labels
            known[labels, table].select(case.structures)
        except InputError as error:
            raise InputError(f"{path} line {line}: {error}") from None


def check_same_case(case: Case, row: Case, where: str, first_line: int) -> None:
    """Rows that share a target form one case, so they must agree on its target spacing, structures and label table."""
    for column, mine, theirs in (("target_spacing", case.target_spacing, row.target_spacing), ("structures", case.structures, row.structures),
                                 ("label_table", _resolved(case.label_table), _resolved(row.label_table))):
        differs = name_keys(mine) != name_keys(theirs) if column == "structures" else mine != theirs
        if differs:
            raise InputError(f"{where}: same target as line {first_line} but another {column} ({_cell(theirs)} against {_cell(mine)}); rows of one "
                             "target form one case")


def _cell(value) -> str:
    """A manifest cell's value as a message says it: ``none`` for an empty cell, a list as its items joined by commas."""
    if value is None or value == []:
        return "none"
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _resolved(file: Path | None) -> Path | None:
    return file.resolve() if file else None


def write_manifest(path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts keyed by :data:`COLUMNS`; missing keys left empty) as a manifest CSV."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def case_files(cases: list[Case]) -> list[Path]:
    """Every file the cases read (images, labels, label tables), for output safety checks."""
    files = [file for case in cases for file in (case.target_image, case.target_labels, case.label_table) if file]
    return files + [file for case in cases for entry in case.references for file in (entry.image, entry.labels)]
