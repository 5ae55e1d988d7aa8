"""Evaluating manifest cases in parallel processes, with the same numbers as one process.

Each worker is a fresh interpreter (``spawn``): it builds its own engine from the same
name and options and runs :func:`rau.evaluation.runner.try_case` on one case at a time,
the function the serial run uses. ITK's thread count is set in every worker to the one
the parent process uses, so a case is computed exactly as it would be serially; each worker fits a registration's
starting poses on its share of the CPUs (:func:`rau.process_pools.worker_pool`), which changes no answer. Results
come back as cases finish, with their place in the manifest, without the kept engine result (masks stay in the worker).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool

from rau.engines import create_engine
from rau.evaluation.manifest import Case
from rau.evaluation.runner import CaseScore, Prediction, case_failed, try_case
from rau.options import EngineOptions
from rau.process_pools import ctrl_c_ignored, exit_with_parent, pool_size, stopped_at_once, worker_pool

_worker_engine = None


def evaluate_in_processes(engine_name: str, options: EngineOptions, cases: list[Case], jobs: int,
                          predictions: list[Prediction] | None = None) -> Iterator[tuple[int, CaseScore]]:
    """Score ``cases`` in ``jobs`` worker processes (:func:`rau.process_pools.pool_size`: at most one per case); yields ``(index into cases, score)`` for each case as it finishes,
    so a run interrupted behind a long case still has every case finished before (the caller puts them in order).
    ``predictions``: where each case's worker writes the engine's result (``--predictions``).

    When a worker dies (killed, out of memory), every unfinished case is lost with the pool: the first of them
    runs again alone, where a death is its own (it is then reported failed), and the others go on in a new pool.
    """
    import SimpleITK as sitk

    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    context = multiprocessing.get_context("spawn")

    def pool(workers: int):
        return stopped_at_once(worker_pool(workers, context, _start_worker, (engine_name, options, threads, os.getpid())))

    predictions = predictions or [None] * len(cases)
    left = list(range(len(cases)))
    while left:
        with pool(pool_size(jobs, len(left))) as workers:
            with ctrl_c_ignored():
                futures = {workers.submit(_score_case, cases[index], predictions[index]): index for index in left}
            for future in as_completed(futures):
                if not isinstance(future.exception(), BrokenProcessPool):
                    left.remove(futures[future])
                    yield futures[future], future.result()
        if left:
            first = left.pop(0)
            with pool(1) as alone:
                with ctrl_c_ignored():
                    future = alone.submit(_score_case, cases[first], predictions[first])
                try:
                    yield first, future.result()
                except BrokenProcessPool as error:
                    yield first, case_failed(cases[first], f"its worker process died (killed, or out of memory: {error})", predictions[first])


def _start_worker(engine_name: str, options: EngineOptions, threads: int, parent: int) -> None:
    import SimpleITK as sitk

    global _worker_engine
    exit_with_parent(parent)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    _worker_engine = create_engine(engine_name, options)


def _score_case(case: Case, prediction: Prediction | None) -> CaseScore:
    score = try_case(_worker_engine, case, prediction=prediction)
    score.result = None
    return score
