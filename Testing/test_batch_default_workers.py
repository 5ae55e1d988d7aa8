"""How many workers ``rau batch`` starts by default: one per GPU a model engine runs on, else one per two of the CPUs
the process may run on (which torch's threads count too)."""

from __future__ import annotations

import os

import torch

from rau.batch.pool import default_workers, on_gpus
from rau.cpu_share import usable_cpus
from rau.models.inference import THREADS_VARIABLE, inference_threads
from rau.options import EngineOptions


def test_default_workers_follow_the_gpus_a_model_engine_runs_on_with_device_auto(monkeypatch):
    """Before: --device auto counted as the CPU, so a model engine got one worker per two cores, all on GPU 0."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(32)), raising=False)
    assert default_workers("sam2-memory", EngineOptions()) == 4 and on_gpus("rau", EngineOptions())
    assert default_workers("registration", EngineOptions()) == 16  # no model: the GPUs do not matter
    assert default_workers("sam2-memory", EngineOptions(device="cpu")) == 16
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_workers("sam2-memory", EngineOptions()) == 16


def test_the_cpus_counted_are_those_the_process_may_run_on(monkeypatch):
    """Before: the default worker count and torch's threads counted every CPU of the machine (``os.cpu_count``), the
    starting-pose fits only those the process may run on: under a CPU limit (a container, ``taskset``) they
    differed."""
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    assert usable_cpus() == inference_threads() == 6
    assert default_workers("registration", EngineOptions()) == 3
