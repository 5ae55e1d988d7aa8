"""Embedded backend: local worker processes, each keeping its engine warm."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed

from rau.batch.worker import WarmWorker
from rau.cli import EXIT_TERMINATED
from rau.options import EngineOptions

_worker: WarmWorker | None = None


def default_workers(options: EngineOptions) -> int:
    """One worker per CUDA GPU when the engine's device is a GPU, else one per two CPU cores."""
    device = options.device
    if device.startswith("cuda"):
        import torch

        return max(1, torch.cuda.device_count())
    return max(1, (os.cpu_count() or 1) // 2)


def _start(engine_name: str, options: EngineOptions, devices) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the main process stops the workers
    device = devices.get()
    _worker = WarmWorker(engine_name, options.replace(device=device) if device else options)
    signal.signal(signal.SIGTERM, _exit)


def _exit(signum, frame):
    raise SystemExit(EXIT_TERMINATED)  # unwinds the target's atomic writes, which remove their temporary files


def _run(item) -> dict:
    try:
        return _worker.run(item)
    except SystemExit:  # stopped by SIGTERM; the executor would report it and start the next target: leave now
        os._exit(EXIT_TERMINATED)


def run_in_processes(items, engine_name: str, options: EngineOptions, workers: int, on_row) -> None:
    """Run ``items`` on ``workers`` spawned processes; ``on_row(row)`` in this process as each finishes.

    When interrupted (Ctrl-C, SIGTERM), no target starts any more and the targets in progress are
    abandoned at once (nothing of them is left; a resumed run redoes them).
    """
    context = multiprocessing.get_context("spawn")
    devices = context.Queue()
    device = options.device
    for index in range(workers):
        devices.put(f"cuda:{index}" if device == "cuda" and workers > 1 else None)
    pool = ProcessPoolExecutor(workers, context, _start, (engine_name, options, devices))
    try:
        futures = [pool.submit(_run, item) for item in items]
        for future in as_completed(futures):
            on_row(future.result())
    except BaseException:
        for process in list(pool._processes.values()):  # no public way before Python 3.14's terminate_workers()
            process.terminate()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
