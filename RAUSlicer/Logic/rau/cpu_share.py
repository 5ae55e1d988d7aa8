"""How many threads a process fits a registration's starting poses on (:func:`rau.registration._coarse_fits`).

A process alone takes every CPU it may run on. Worker processes that run side by side share them: each takes its
share as it starts (:func:`take_share`), which the pool that starts them gives by one rule, the CPUs a worker holds
(:func:`share_of`): an equal part of this machine's for the worker processes of ``rau evaluate --jobs`` and ``rau
batch`` (:func:`machine_share`, by :func:`rau.process_pools.worker_pool`), ``--cpus-per-worker`` for ``rau batch
--ray``'s actors. Before, each of N workers started one thread per CPU: N times as many threads as CPUs. The number
changes only how soon the fits end, never what they give: they are judged in the starts' order.
"""

from __future__ import annotations

import os

_share: int | None = None
"""This process's share (:func:`take_share`); None: it is no pool's worker, and takes every CPU."""


def usable_cpus() -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot tell)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def share_of(cpus: float) -> int:
    """The threads of a worker that holds ``cpus`` CPUs: their whole number, at least one."""
    return max(1, int(cpus))


def machine_share(workers: int) -> int:
    """The threads of each of ``workers`` processes side by side on this machine: ``max(1, CPUs // workers)``."""
    return share_of(usable_cpus() // workers)


def take_share(threads: int | None) -> None:
    """In a worker process, as it starts: fit starting poses on at most ``threads`` threads (None: every usable CPU)."""
    global _share
    _share = threads


def fit_threads() -> int:
    """The most threads this process fits a registration's starting poses on: its share, else every usable CPU."""
    return _share or usable_cpus()
