"""A correction's wait for its device: a worker thread, then the device's lock, each within the time given, else 503."""

import contextlib
import threading


@contextlib.contextmanager
def held(lock: threading.Lock, seconds: float, said_seconds: float):
    """Hold ``lock``; answer 503 (nothing changed) when it is not free within ``seconds`` (``said_seconds``: the whole
    wait the client was given)."""
    if not lock.acquire(timeout=seconds):
        raise device_busy(said_seconds)
    try:
        yield
    finally:
        lock.release()


@contextlib.asynccontextmanager
async def held_slot(limiter, seconds: float):
    """Hold one of ``limiter``'s tokens, waiting without a thread; answer as :func:`held` when none is free in ``seconds``."""
    from anyio import WouldBlock, fail_after

    try:
        limiter.acquire_nowait()
    except WouldBlock:
        try:
            with fail_after(seconds):
                await limiter.acquire()
        except TimeoutError:
            raise device_busy(seconds) from None
    try:
        yield
    finally:
        limiter.release()


def device_busy(seconds: float):
    """The 503 of a correction that could not have the device within ``seconds``."""
    from fastapi import HTTPException

    return HTTPException(503, f"the device is busy with a job (waited {seconds:g} s); nothing was changed: try again in a moment")
