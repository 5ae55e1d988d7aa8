"""ITK on one thread: the block that makes registration bit-identical whatever the caller's thread settings."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import SimpleITK as sitk

from rau.validation import itk_warnings_off

_ONE_AT_A_TIME = threading.RLock()
"""Work on one ITK thread (:func:`one_itk_thread`) runs one block at a time per process: ITK's thread count is a
process-wide setting, and two threads registering at once changed each other's (results differed from run to run;
several references run in parallel processes)."""


@contextmanager
def one_itk_thread():
    """Run ITK on one thread inside the block, then restore the global setting.

    ITK splits metric sums across threads and adds the parts in the order they finish;
    floating-point addition is not associative, so the optimizer's path, and at a close
    call the chosen start, changes from run to run and with the thread count. The
    method's own thread setting does not reach the metric's internal work units, so
    the global default is set for the duration. With one thread every result is
    bit-identical, whatever the caller's ITK thread setting; several references can
    still run in parallel processes. ITK's warnings (a metric that found no overlap at one
    start, ...) are not printed: the caller reports what fails, in its own words.
    """
    with _ONE_AT_A_TIME, itk_warnings_off():
        previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        try:
            yield
        finally:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)
