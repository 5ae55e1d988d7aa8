"""Embedded backend: local worker processes, each keeping its engine warm."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import Counter
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

from rau.batch.worker import WarmWorker, died_row
from rau.cli import EXIT_TERMINATED
from rau.cpu_share import usable_cpus
from rau.engines import engine_class
from rau.errors import InputError, UnavailableError
from rau.options import EngineOptions
from rau.process_pools import ctrl_c_ignored, exit_with_parent, stopped_at_once, worker_pool

_worker: WarmWorker | None = None
_refused: InputError | None = None
_started = None


def default_workers(engine_name: str, options: EngineOptions) -> int:
    """One worker per CUDA GPU when the engine runs a model there (:func:`on_gpus`), else one per two CPU cores."""
    if on_gpus(engine_name, options):
        import torch

        return max(1, torch.cuda.device_count())
    return max(1, usable_cpus() // 2)


def on_gpus(engine_name: str, options: EngineOptions) -> bool:
    """Whether the engine runs a model on CUDA GPUs here: its ``--device`` is cuda, or auto on a machine with one
    (before, auto counted as the CPU: half the cores' worth of model copies went onto GPU 0)."""
    engine = engine_class(engine_name)
    if not (engine.uses_sam2 or engine.uses_vlm) or not (options.device.startswith("cuda") or options.device == "auto"):
        return False
    import torch

    return options.device != "auto" or torch.cuda.is_available()


WORKER_DEATHS = 2
"""A target whose worker process died this many times while running it (killed, out of memory ...) is reported failed."""
IDLE_BREAKS = 3
"""Worker processes that die this many times in a row while running no target stop the run."""


def _start(engine_name: str, options: EngineOptions, devices, started, parent: int) -> None:
    global _worker, _refused, _started
    exit_with_parent(parent)
    device = devices.get()
    _started = started
    try:
        _worker = WarmWorker(engine_name, options.replace(device=device) if device else options)
    except InputError as error:  # a model that cannot be loaded (a local VLM's weights holding NaN ...): _run raises it
        _refused = error
    signal.signal(signal.SIGTERM, _exit)


def _exit(signum, frame):
    raise SystemExit(EXIT_TERMINATED)  # unwinds the target's atomic writes, which remove their temporary files


def _run(item) -> dict:
    if _refused is not None:  # the run stops, naming the model's option (exit 2), as rau evaluate does before any case
        raise _refused
    _started.put((os.getpid(), item.name))  # so that the main process knows which target a dying worker was running
    try:
        return _worker.run(item)
    except SystemExit:  # stopped by SIGTERM; the executor would report it and start the next target: leave now
        os._exit(EXIT_TERMINATED)


def run_in_processes(items, engine_name: str, options: EngineOptions, workers: int, on_row) -> None:
    """Run ``items`` on ``workers`` spawned processes; ``on_row(row)`` in this process as each finishes.

    When interrupted (Ctrl-C, SIGTERM), no target starts any more and the targets in progress are
    abandoned at once (nothing of them is left; a resumed run redoes them). A worker process that dies
    (killed, out of memory) stops its pool, and new processes take the unfinished targets. The pool stops
    every worker, so the targets that were running then are run next one at a time: a target whose worker
    died :data:`WORKER_DEATHS` times while it ran alone is reported failed.
    """
    context = multiprocessing.get_context("spawn")
    deaths: Counter[str] = Counter()
    suspects: set[str] = set()
    idle_breaks = 0
    while items:
        alone = [item for item in items if item.name in suspects]
        batch, size = (alone, 1) if alone else (items, workers)
        started, seen, finished, processes = context.SimpleQueue(), {}, set(), {}

        def finish(row: dict) -> None:
            finished.add(row["target"])
            on_row(row)

        try:
            _run_pool(batch, engine_name, options, size, context, started, seen, finish, processes)
        except BrokenProcessPool:
            seen.update(_started_targets(started))
            running = set(seen.values()) - finished
            idle_breaks = 0 if running else idle_breaks + 1
            if idle_breaks >= IDLE_BREAKS:
                raise UnavailableError(f"the worker processes stopped {IDLE_BREAKS} times before running a target (see the messages above; out of memory?)") from None
            if size == 1:  # the one worker died while it ran this target
                deaths.update(running)
            suspects |= running
            for item in batch:
                if item.name not in finished and deaths[item.name] >= WORKER_DEATHS:
                    on_row(_died(item))
            for pid, process in processes.items():
                if seen.get(pid) in running and deaths[seen[pid]] < WORKER_DEATHS and worker_stopped(process.exitcode):
                    tqdm.write(f"warning: {rerun_notice(seen[pid], process.exitcode)}", file=sys.stderr)
        items = [item for item in items if item.name not in finished and deaths[item.name] < WORKER_DEATHS]
        suspects -= finished


def _run_pool(items, engine_name: str, options: EngineOptions, workers: int, context, started, seen: dict, on_row, processes: dict) -> None:
    """Run ``items`` on one pool; ``seen`` holds the target each worker process (by pid) last reported starting, and
    ``processes`` the pool's worker processes by pid."""
    devices = context.Queue()
    spread = options.device in ("cuda", "auto") and workers > 1 and on_gpus(engine_name, options)  # one GPU each
    for index in range(workers):
        devices.put(f"cuda:{index}" if spread else None)
    with stopped_at_once(worker_pool(workers, context, _start, (engine_name, options, devices, started, os.getpid()))) as pool:
        with ctrl_c_ignored():
            futures = [pool.submit(_run, item) for item in items]
        processes.update(pool._processes or {})  # no public way to the workers' exit codes, which say why one stopped
        for future in as_completed(futures):
            on_row(future.result())
            seen.update(_started_targets(started))  # also keeps its pipe from filling up


def _started_targets(started) -> dict[int, str]:
    """The target each worker process (by pid) reported starting since the last call, the last of each (each report
    is read once)."""
    targets = {}
    while not started.empty():
        pid, name = started.get()
        targets[pid] = name
    return targets


def worker_stopped(exitcode: int | None) -> bool:
    """Whether a worker process with ``exitcode`` stopped by itself (killed by the system, out of memory, crashed),
    not running (None) nor stopped by the pool once another had (SIGTERM: :func:`_exit`)."""
    return exitcode not in (None, -signal.SIGTERM, EXIT_TERMINATED)


def rerun_notice(target: str, exitcode: int) -> str:
    """What rau batch says of ``target``, run again because its worker process stopped with ``exitcode``."""
    how = f"killed by signal {-exitcode}" if exitcode < 0 else f"exit status {exitcode}"
    return f"a worker stopped ({how}) while segmenting {target}; it is run again"


def _died(item) -> dict:
    return died_row(item, f"its worker process died {WORKER_DEATHS} times while running it (killed, or out of memory?)")
