"""Embedded backend: local worker processes, each keeping its engine warm."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from rau.batch.worker import WarmWorker
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
    device = devices.get()
    _worker = WarmWorker(engine_name, options.replace(device=device) if device else options)


def _run(item) -> dict:
    return _worker.run(item)


def run_in_processes(items, engine_name: str, options: EngineOptions, workers: int, on_row) -> None:
    """Run ``items`` on ``workers`` spawned processes; ``on_row(row)`` in this process as each finishes."""
    context = multiprocessing.get_context("spawn")
    devices = context.Queue()
    device = options.device
    for index in range(workers):
        devices.put(f"cuda:{index}" if device == "cuda" and workers > 1 else None)
    with ProcessPoolExecutor(workers, context, _start, (engine_name, options, devices)) as pool:
        futures = [pool.submit(_run, item) for item in items]
        for future in as_completed(futures):
            on_row(future.result())
