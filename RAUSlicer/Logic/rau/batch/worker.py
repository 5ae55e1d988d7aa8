"""A worker's warm engine and the work on one item: read, segment, write as ``rau segment`` does."""

from __future__ import annotations

import time

from rau.batch.items import WorkItem, found_column
from rau.cpu_share import take_share
from rau.engines import Request, create_engine
from rau.evaluation.runner import case_failure, check_case_references
from rau.io import read_image
from rau.options import EngineOptions
from rau.io.run_outputs import write_outputs
from rau.user_warnings import collected_warnings, python_warnings_into


class WarmWorker:
    """Holds one engine (models loaded once) and runs items with it; also the Ray actor class."""

    def __init__(self, engine_name: str, options: EngineOptions, fit_threads: int | None = None):
        """``fit_threads``: the threads its registrations fit starting poses on (a Ray actor's CPUs:
        :func:`rau.cpu_share.take_share`); None: as the process has them (a worker process of this machine's pool
        took its share as it started)."""
        if fit_threads is not None:
            take_share(fit_threads)
        self.loading: list[str] = []  # what loading the engine's models warned of: shown with the first row
        with collected_warnings(echo=self.loading), python_warnings_into(self.loading, "loading the engine: "):
            self.engine = create_engine(engine_name, options)
        self.options = options

    def run(self, item: WorkItem) -> dict:
        row = run_item(self.engine, item, self.options)
        row["warnings"][:0] = self.loading
        self.loading = []
        return row


def run_item(engine, item: WorkItem, options: EngineOptions) -> dict:
    """Segment one target and write its outputs (all or none, re-openable by ``rau correct``); a summary row, never an
    exception but :data:`rau.evaluation.runner.RUN_STOPPERS` (a model that cannot be used), which stop the run.
    The row's ``warnings`` (not a summary column) are those for rau batch to print, rau's and Python's
    (:func:`rau.user_warnings.python_warnings_into`): a worker's standard error may not be the user's (a Ray actor's)."""
    started = time.perf_counter()
    case = item.case
    row = {"target": item.name, "target_image": str(case.target_image), "status": "done", "error": "", "found": "", "warnings": []}
    try:
        with python_warnings_into(row["warnings"], f"{item.name}: "), collected_warnings(echo=row["warnings"]) as said:  # said: in the result JSON
            references = case.load_references()
            check_case_references(case, references)  # a copy named by its manifest line, before the engine checks it
            target = read_image(case.target_image, case.target_spacing)
            request = Request(references, target, case.structures)
            before_run = request.input_warnings()
            said += before_run
            row["warnings"] += [f"{item.name}: {warning}" for warning in before_run]
            result = engine.run(request)
            write_outputs(result, item.outputs, overwrite=True, inputs=case.recorded_inputs(options), warnings=[*item.warnings, *said],
                          references=references)
        row["found"] = found_column(s.structure.name for s in result.structures if s.found)
    except Exception as error:  # one bad target must not stop the cohort; the summary names it (case_failure)
        row["status"], row["error"] = "failed", case_failure(error)
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def died_row(item: WorkItem, error: str) -> dict:
    """The summary row of a target whose worker died running it, ``error`` saying how."""
    return {"target": item.name, "target_image": str(item.case.target_image), "status": "failed", "found": "", "seconds": "", "error": error}
