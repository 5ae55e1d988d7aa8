"""Work items of a cohort run: one per target, with the output files ``rau segment`` would write for it."""

from __future__ import annotations

import filecmp
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from rau.batch.names import candidate_names, output_names
from rau.errors import InputError
from rau.evaluation.manifest import Case, case_files, read_manifest
from rau.io.atomic import check_name_lengths
from rau.io.json_text import read_json_file
from rau.io.label_tables import label_tables_beside
from rau.io.outputs import check_no_stray_tables, check_spares_inputs
from rau.io.run_outputs import output_paths
from rau.labels import name_keys
from rau.options import EngineOptions


@dataclass
class WorkItem:
    """One target: its manifest case, a unique output name, the output paths and the run's ``warnings``, which its
    result JSON records before the target's own (an engine option the engine does not read)."""

    name: str
    case: Case
    outputs: dict[str, Path]
    warnings: tuple[str, ...] = ()

    def state(self) -> str:
        """``complete`` (every output exists), ``lacks_seg_nrrd`` (every one but the ``.seg.nrrd``: see
        :func:`rau.batch.seg_nrrd.added_seg_nrrd`), ``partial`` (some do: redo it) or ``new``. Outputs that another
        target's inputs made (another manifest's target of the same name, a user's own file) raise
        :class:`InputError` naming the file: skipping would pass them off as this target's, redoing would
        replace them."""
        missing = [key for key, path in self.outputs.items() if not path.exists()]
        if len(missing) < len(self.outputs):
            self._check_made_here()
        if missing == ["seg_nrrd"]:
            return "lacks_seg_nrrd"
        return "complete" if not missing else "partial" if len(missing) < len(self.outputs) else "new"

    def recorded(self) -> dict[str, str | float]:
        """The summary columns its result JSON records: ``found`` (the structures found, as the summary lists them) and
        ``seconds``; ``""`` for one it does not record (a result from before it listed structures)."""
        try:
            saved = read_json_file(self.outputs["result"])
            found = found_column(s["name"] for s in saved["structures"] if s["found"])
        except (OSError, ValueError, KeyError, TypeError):
            return {"found": "", "seconds": ""}
        return {"found": found, "seconds": saved.get("seconds", "")}

    def recorded_engine(self) -> dict | None:
        """The engine and its options its earlier result JSON records (``{"engine": name, **options}``), or None when it
        records none (written before results recorded their inputs)."""
        try:
            saved = read_json_file(self.outputs["result"])
            return {"engine": saved["engine"], **saved["inputs"]["engine_options"]}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _check_made_here(self) -> None:
        path = self.outputs["result"]
        saved = _saved_result(path)
        if isinstance(saved, dict) and "inputs" not in saved:  # written before results recorded their inputs: as before, trusted
            return
        recorded = saved.get("inputs") if isinstance(saved, dict) else None
        mine = _inputs_of(self.case)
        if not isinstance(recorded, dict):
            found = [p for p in self.outputs.values() if p.exists()]
            if not path.exists():
                raise InputError(f"{found[0]}: its result JSON {path} is missing, so rau cannot tell which target it was written for "
                                 f"(nor whether rau wrote it); give another --out folder, or delete {' and '.join(p.name for p in found)} "
                                 "to redo the target")
            raise InputError(f"{found[0]}: not written by rau for this target ({self.case.target_image}); give another --out "
                             "folder, or move those files away")
        differ = [key for key in SAME_INPUTS if not _same_input(recorded.get(key), mine[key], key)]
        if differ:
            key = differ[0]
            made = f"made from {recorded.get('target')}" if key == "target" else _made_with(key, recorded.get(key), mine[key])
            raise InputError(f"{path}: {made}, not from what this manifest gives {self.case.target_image}; "
                             "give another --out folder, or move those files away")
        changed = self._changed_since(path)
        if changed is not None:
            raise InputError(f"{path}: made before {changed} changed (it is newer); its target may come out otherwise now: "
                             "give another --out folder, or move those files away")

    def _changed_since(self, result: Path) -> Path | None:
        """An input file (or a label table beside a reference's labels, which names its structures) written after
        ``result`` was, as ``make`` tells: the same paths may hold other contents now (a DICOM folder: any file in
        it, as a slice rewritten in place leaves the folder's own time as it was). None when there is none."""
        made = result.stat().st_mtime_ns
        inputs = case_files([self.case])
        inputs += [table for entry in self.case.references for table in label_tables_beside(entry.labels)]
        files = [file for path in map(Path, inputs) for file in ([path, *path.rglob("*")] if path.is_dir() else [path])]
        return next((file for file in files if file.exists() and file.stat().st_mtime_ns > made), None)


def earlier_names(case: Case, out_dir: Path) -> tuple[list[str], list[str]]:
    """Those of the target's :func:`rau.batch.names.candidate_names` under which ``out_dir`` holds a result JSON
    recording this target (another run of the cohort, with other targets, named it so), and those of them whose
    result JSON records exactly this target's file, not only a file of the same name and bytes."""
    mine = None
    found, exact = [], []
    for name in candidate_names(case.target_image):
        result = output_paths(out_dir / f"{name}.nii.gz", False)["result"]
        if isinstance(saved := _saved_result(result), dict) and isinstance(saved.get("inputs"), dict):
            mine = mine or _inputs_of(case)
            recorded = saved["inputs"].get("target")
            if _same_input(recorded, mine["target"], "target"):
                found.append(name)
                if recorded == mine["target"]:
                    exact.append(name)
    return found, exact


def _saved_result(path: Path):
    """The parsed result JSON at ``path``; None when it is not there, not a readable file (a name too long ...) or not JSON."""
    try:
        return read_json_file(path)
    except (OSError, ValueError):
        return None


def _inputs_of(case: Case) -> dict:
    """The inputs a result JSON of ``case`` records (as JSON reads them back), engine options aside."""
    return json.loads(json.dumps(case.recorded_inputs(EngineOptions())))


def _made_with(key: str, recorded, mine) -> str:
    """How a recorded input differs from this item's, for a message: the same in another order (references: the first
    decides the structures), or another one; files by their names."""
    def said(value) -> list[str]:
        return [Path(v).name if key in PATH_INPUTS and isinstance(v, str) else json.dumps(v) for v in (value if isinstance(value, list) else [value])]

    what = key.replace("_", " ")
    if isinstance(recorded, list) and isinstance(mine, list) and said(recorded) != said(mine) and sorted(said(recorded)) == sorted(said(mine)):
        why = "; the first reference decides the structures found" if key.startswith("reference") else ""
        return f"made with the same {what} in another order ({', '.join(said(recorded))}{why})"
    return f"made with another {what} ({', '.join(said(recorded))})"


SAME_INPUTS = ("target", "target_spacing", "reference", "reference_labels", "reference_spacing", "label_table", "structures")
"""What a target's earlier outputs must have been made from to count as its own (engine options aside: a run
resumed with other options keeps what is done)."""
PATH_INPUTS = {"target", "reference", "reference_labels", "label_table"}


def _same_input(recorded, mine, key: str) -> bool:
    """Whether the recorded input ``key`` is this item's: equal; structures the same names as they are matched, in
    the same order (``Head`` is ``head``: the same outputs); files (one or a list) the same bytes under the same
    name (a project copied elsewhere, a share mounted at another path). A recorded file that is gone cannot be
    told from another site's of the same name: not the same."""
    if key == "structures" and isinstance(recorded, list) and all(isinstance(name, str) for name in recorded):
        return name_keys(recorded) == name_keys(mine)
    if recorded == mine or key not in PATH_INPUTS:
        return recorded == mine  # equal, or not a file: nothing more to compare
    if isinstance(mine, list):
        return isinstance(recorded, list) and len(recorded) == len(mine) and all(
            isinstance(old, str) and _same_file(old, new) for old, new in zip(recorded, mine))
    return isinstance(recorded, str) and _same_file(recorded, mine)


@functools.lru_cache(maxsize=None)  # a bank's references are compared once per run, not once per target
def _same_file(recorded: str, mine: str) -> bool:
    if Path(recorded).name != Path(mine).name:
        return False
    try:
        return Path(recorded).resolve() == Path(mine).resolve() or filecmp.cmp(recorded, mine, shallow=False)
    except OSError:  # gone or unreadable
        return False


def found_column(names) -> str:
    """The structures found, as the summary's ``found`` column lists them."""
    return ";".join(names)


SUMMARY_NAME = "batch_summary.csv"
LOCK_NAME = ".rau-batch.lock"
"""The file in ``--out`` a running batch holds locked (and removes when it ends)."""


def work_items(manifest, out_dir, seg_nrrd: bool = False, limit: int | None = None) -> list[WorkItem]:
    """The manifest's targets (rows sharing a target are one multi-reference item), first ``limit`` only; every
    path absolute, as workers may run in another folder (a Ray cluster's). Output names are made over the whole
    manifest and what ``out_dir`` holds (:func:`rau.batch.names.output_names`), so a run with ``limit`` names its
    outputs as the full run does (and the full run resumes it), and a target done keeps its name when targets are
    added or left out.
    No output, the summary and the lock included, may land on an input, nor a label map beside a table not its run's."""
    cases = [case.absolute() for case in read_manifest(manifest, truth=False)]
    out_dir = Path(out_dir).absolute()
    earlier, exact = zip(*[earlier_names(case, out_dir) for case in cases])
    names = output_names([case.target_image for case in cases], list(earlier), list(exact))
    items = [WorkItem(name, case, output_paths(out_dir / f"{name}.nii.gz", seg_nrrd)) for name, case in zip(names, cases)][:limit]
    outputs = [path for item in items for path in item.outputs.values()]
    check_name_lengths(outputs, "rename the target (its outputs are named after it, and after its folders where names clash)")
    check_spares_inputs([*outputs, out_dir / SUMMARY_NAME, out_dir / LOCK_NAME], [manifest, *case_files(cases)], "choose another --out",
                        overwrite_option=False)
    for item in items:
        check_no_stray_tables(item.outputs["label_map"], item.outputs.values(), "choose another --out", overwrite_option=False)
    return items
