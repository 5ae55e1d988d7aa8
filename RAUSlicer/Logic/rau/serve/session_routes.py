"""The correction session routes (``/v1/sessions``: :func:`add_session_routes`): a correction read, then applied
on the job's device; the :class:`~rau.serve.app.Server` is ``request.app.state.server``."""

import contextlib
import time

import numpy as np
from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from rau.errors import InputError
from rau.result import Result
from rau.serve.device_wait import held, held_slot
from rau.serve.guard import too_large
from rau.serve.refusals import NotFound, ended
from rau.serve.security import valid_id
from rau.serve.sessions import WRITTEN_ELSEWHERE, SessionGone, correct, read_correction
from rau.serve.wire import encode_mask, json_object
from rau.reprompt_notes import inside_points_warning, unchanged_reason

CORRECTIONS = ("reprompt", "propagate", "undo", "edit", *WRITTEN_ELSEWHERE)
CORRECTION_THREADS = 8
"""Corrections that need the device take at most this many worker threads; the others wait for one without holding
any (before, some forty corrections waiting for a device busy with a job held every worker thread, and cancelling
that job, ``/v1/info`` and downloads waited until it ended)."""
OVERWRITE_FIELD = '"overwrite": true'
"""How a reprompt takes other structures' voxels (said when its answer leaves out inside points)."""


def add_session_routes(app) -> None:
    """Add the correction session routes to ``app``."""
    app.post("/v1/sessions/{session_id}/{action}")(correction)
    app.delete("/v1/sessions/{session_id}")(close_session)


async def correction(session_id: str, action: str, request: Request):
    if action not in CORRECTIONS:
        raise NotFound(f"no session action {action!r}; use one of {', '.join(CORRECTIONS)}")
    kind = request.headers.get("content-type") or "a body without a Content-Type"
    if kind.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, f"send a correction as JSON (Content-Type: application/json), not {kind}")
    server = request.app.state.server
    deadline = time.monotonic() + server.config.device_wait_seconds
    entry = await run_in_threadpool(open_session, server, session_id)  # before the body: no session, nothing read
    check_body_size(int(request.headers.get("content-length") or 0), entry.result.target.shape)
    body = await request.body()
    asked = await run_in_threadpool(read_asked, entry, action, body)  # refused at once, not after a wait
    if action in ("edit", *WRITTEN_ELSEWHERE):  # computes nothing, needs no device
        return await run_in_threadpool(correct_now, server, session_id, action, *asked, None)
    async with held_slot(request.app.state.correction_threads, server.config.device_wait_seconds):
        return await run_in_threadpool(correct_now, server, session_id, action, *asked, max(0.0, deadline - time.monotonic()))


def close_session(session_id: str, request: Request):
    server = request.app.state.server
    check_session_id(session_id)
    check_session_open(server, session_id)
    server.sessions.remove(session_id)
    return {"closed": session_id}


def open_session(server, session_id: str):
    """The session's entry; refuses a session not open (404, 409, 410)."""
    check_session_id(session_id)
    check_session_open(server, session_id)
    return server.sessions.get(session_id)


BODY_ROOM = 1 << 20
"""What a correction's body may take besides a mask: the structure's name, a prompt's points, box and names."""


def check_body_size(length: int, shape: tuple[int, int, int]) -> None:
    """Refuse (413) a correction's body of ``length`` bytes beyond what one for a target of ``shape`` can need: the
    base64 of a mask filling it (:func:`~rau.serve.wire.encode_mask`) and :data:`BODY_ROOM`. It is read whole into
    memory, and else any body up to ``--max-upload-mb`` would be."""
    packed = (int(np.prod(shape)) + 7) // 8
    limit = 4 * ((packed + 2) // 3) + BODY_ROOM
    if length > limit:
        said = too_large(length, limit, "a correction's body", "this session's limit")
        raise HTTPException(413, f"{said} (a mask filling its target, and {BODY_ROOM >> 20} MiB for the rest)")


def read_asked(entry, action: str, body: bytes):
    """The session's entry and the correction asked in ``body`` (structure name and what was given); refuses a body
    that is not a JSON object (422) or a correction the session cannot take (422)."""
    body = json_object(body, "the correction's body")
    name = body.get("structure")
    if not isinstance(name, str):
        raise InputError("give the structure's name as 'structure'")
    return (entry, *read_correction(entry, action, name, body))


def correct_now(server, session_id: str, action: str, entry, name: str, given, device_wait: float | None):
    """Apply one correction read by :func:`read_asked`, waiting at most ``device_wait`` seconds for the job's device
    (None: an edit, gave_way or gave_up, which need none)."""
    job = server.jobs.get(session_id)
    if job is None:  # forgotten while the correction waited for a slot (beyond --max-jobs, once its session closed)
        raise closed_while_waiting(server, session_id)
    device = contextlib.nullcontext() if device_wait is None else held(server.queues.device_lock(job.device), device_wait, server.config.device_wait_seconds)
    with device, job.lock:  # an edit, gave_way or gave_up computes nothing; downloads wait for the correction, never half of it
        session = None if job.result is None else job.result.session  # closing the session (a DELETE, expiry) may take it from the result at any time
        if session is None:
            raise closed_while_waiting(server, session_id)
        started, before = time.perf_counter(), entry.result.get(name).mask
        items = correct(entry, action, name, given)
        seconds = time.perf_counter() - started
        written = entry.result.get(name)  # as the downloads hold it (given way to the others unless overwrite)
        taking = action == "reprompt" and not given[1] and OVERWRITE_FIELD  # how its answer takes others' voxels, said where it gave way
        unchanged = action == "reprompt" and unchanged_reason(session, before, written, taking or None)
        said = action == "reprompt" and inside_points_warning(name, given[0], written, entry.result.held_by_others(name), entry.result.engine, taking or None, session=session)
        job.version += 1
        version = job.version  # read here: a correction just after would give its own number to both answers
    rows = Result(entry.result.target, items, entry.result.engine).summary()
    answers = [{"structure": row, "mask": encode_mask(item.mask)} for row, item in zip(rows, items)]
    return {**answers[0], "shape": list(entry.result.target.shape), "version": version, "seconds": round(seconds, 4), "others": answers[1:],
            "warnings": [said] if said else [], "unchanged": unchanged or ""}


def closed_while_waiting(server, session_id: str) -> SessionGone:
    """The session closed while a correction waited for a slot or the device, with the reason the store knows."""
    return SessionGone(f"while the correction waited, session {session_id} {server.sessions.closed_reason(session_id) or 'was closed'}")


def check_session_open(server, session_id: str) -> None:
    """A job's session opens when the job is done: before, say so (409), not that there is no session; a job
    cancelled or failed has none (410)."""
    job = server.jobs.get(session_id)
    if job is not None and not job.finished.is_set():
        raise HTTPException(409, f"job {session_id} is {job.record()['state']}; its correction session opens when it is done")
    if job is not None and job.state != "done":
        raise SessionGone(f"job {session_id} {ended(job)}; it has no correction session")


def check_session_id(session_id: str) -> None:
    """Refuse (404) an id no server issues: a session has its job's id. A well-formed one this server does not know may
    be from before it restarted: :meth:`SessionStore.get` answers it 410, as a closed one, saying so."""
    if not valid_id(session_id):
        raise NotFound(f"no session {session_id}: a session has its job's id, 32 lowercase hex digits")
