"""Worker-process pools (``rau batch``, ``rau evaluate --jobs``) that stop at once when interrupted."""

from __future__ import annotations

import contextlib
from concurrent.futures import ProcessPoolExecutor


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
