"""Model inference (and training) with the same numbers whatever the caller's torch thread setting."""

from __future__ import annotations

import os
from contextlib import contextmanager

from rau.cpu_share import usable_cpus
from rau.validation.options import positive_integer

THREADS_VARIABLE = "RAU_TORCH_THREADS"


def inference_threads() -> int:
    """Threads torch uses inside :func:`fixed_threads` (so :func:`inference`): ``RAU_TORCH_THREADS`` when set, else the
    CPUs this process may run on (:func:`rau.cpu_share.usable_cpus`)."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return usable_cpus()
    return positive_integer(value, THREADS_VARIABLE)  # at most MAX_COUNT: torch takes a 32-bit count


@contextmanager
def fixed_threads():
    """torch on :func:`inference_threads` threads inside the block; the caller's setting is restored after.

    torch splits its sums (matrix products, normalizations) across threads, and the split changes how they
    round, so SAM2's masks changed with ``torch.set_num_threads`` (a real-size SAM2 at 128 px: 4156 and 4163
    pixels with 1 and 2 threads), and so did trained adapters. With the count fixed here, every run on a machine
    gives the same output.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(inference_threads())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def inference():
    """``torch.inference_mode`` on :func:`fixed_threads`."""
    import torch

    with fixed_threads(), torch.inference_mode():
        yield
