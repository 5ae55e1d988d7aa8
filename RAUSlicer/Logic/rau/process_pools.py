"""Worker-process pools (``rau batch``, ``rau evaluate --jobs``) whose workers share the CPUs (:func:`worker_pool`) and that
stop at once when interrupted."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from rau.cli import EXIT_TERMINATED
from rau.cpu_share import machine_share, take_share
from rau.errors import InputError


WINDOWS_MOST_WORKERS = 61
"""The most worker processes CPython's ProcessPoolExecutor accepts on Windows."""


def pool_size(asked: int, items: int) -> int:
    """How many worker processes run ``items`` tasks when ``asked`` for (``--jobs``, ``--workers``): no more than there
    are tasks, nor, on Windows, than Python starts there (:data:`WINDOWS_MOST_WORKERS`); at least one."""
    most = WINDOWS_MOST_WORKERS if sys.platform == "win32" else asked
    return max(1, min(asked, items, most))


def worker_pool(workers: int, context, initializer, initargs: tuple) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started by ``context`` (spawn), each running ``initializer(*initargs)`` once it
    has taken its share of this machine's CPUs for the registrations it runs (:func:`rau.cpu_share.machine_share`)."""
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(machine_share(workers), initializer, initargs))


def _start_worker(threads: int, initializer, initargs: tuple) -> None:
    take_share(threads)
    initializer(*initargs)


@contextlib.contextmanager
def stopped_at_once(pool: ProcessPoolExecutor):
    """Yield ``pool``; when the block raises (Ctrl-C, SIGTERM, a broken pool) its worker processes are terminated
    instead of finishing their tasks, whose results nobody would read. Either way the pool is shut down with the
    tasks not started cancelled."""
    try:
        yield pool
    except BaseException:
        for process in list((pool._processes or {}).values()):  # no public way before Python 3.14's terminate_workers()
            process.terminate()
        raise
    finally:
        pool.shutdown(cancel_futures=True)


@contextlib.contextmanager
def ctrl_c_ignored():
    """Around the submits that start a pool's worker processes: they start with SIGINT ignored, which a new interpreter
    keeps, so a Ctrl-C to the whole process group while they import and unpickle does not print their tracebacks (the
    main process stops them). This process's own handler is back when the block ends."""
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def exit_with_parent(parent: int) -> None:
    """In a worker: end this process once ``parent``, the pool's owner, is gone (killed with SIGKILL, nothing else would
    stop its workers). ``parent`` is the owner's process id, taken there: a worker asking for its parent while the owner
    is already gone would be told 1 and wait for ever."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(EXIT_TERMINATED)


def check_not_importing_main() -> None:
    """Refuse a command started while this process, a worker of a pool started by ``spawn`` (``rau evaluate --jobs``,
    ``rau batch``), still imports the main script: a script that calls :func:`rau.cli.main` outside
    ``if __name__ == "__main__":`` runs it again in every worker, where it cannot start a pool of its own."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):  # multiprocessing's own sign of it
        raise InputError("this command was started again in a worker process importing the calling script: a script that calls "
                         'rau.cli.main must do so under `if __name__ == "__main__":` (the worker processes of rau evaluate --jobs '
                         "and rau batch are started by Python's spawn method, which imports the script again in each)")
