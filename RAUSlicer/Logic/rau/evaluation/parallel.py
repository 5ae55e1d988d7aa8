"""Evaluating manifest cases in parallel processes, with the same numbers as one process.

Each worker is a fresh interpreter (``spawn``): it builds its own engine from the same
name and options and runs :func:`rau.evaluation.runner.try_case` on one case at a time,
the function the serial run uses. ITK's thread count is set in every worker to the one
the parent process uses, so a case is computed exactly as it would be serially. Results
come back in manifest order, without the kept engine result (masks stay in the worker).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from rau.engines import create_engine
from rau.evaluation.manifest import Case
from rau.evaluation.runner import CaseScore, try_case
from rau.options import EngineOptions

_worker_engine = None


def evaluate_in_processes(engine_name: str, options: EngineOptions, cases: list[Case], jobs: int) -> Iterator[CaseScore]:
    """Score ``cases`` in ``jobs`` worker processes; yields one :class:`CaseScore` per case, in order."""
    import SimpleITK as sitk

    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(engine_name, options, threads)) as pool:
        yield from pool.map(_score_case, cases)


def _start_worker(engine_name: str, options: EngineOptions, threads: int) -> None:
    import SimpleITK as sitk

    global _worker_engine
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    _worker_engine = create_engine(engine_name, options)


def _score_case(case: Case) -> CaseScore:
    score = try_case(_worker_engine, case)
    score.result = None
    return score
