"""The server's info, job and download routes (``/v1/info``, ``/v1/jobs``: :func:`add_job_routes`); the
:class:`~rau.serve.app.Server` is ``request.app.state.server``."""

import asyncio
import time
from typing import Annotated

from fastapi import HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from rau.errors import InputError
from rau.serve.client import OUTPUT_KINDS
from rau.serve.refusals import NotFound, ended
from rau.serve.uploads import MAX_FILES, MAX_REFERENCES, Upload, form_spec, parse_spec


def add_job_routes(app) -> None:
    """Add the info, job and download routes to ``app``."""
    app.get("/v1/info")(info)
    app.post("/v1/jobs", status_code=202)(submit)
    app.get("/v1/jobs/{job_id}")(job_state)
    app.post("/v1/jobs/{job_id}/cancel")(cancel)
    app.get("/v1/jobs/{job_id}/files/{kind}")(download)


def info(request: Request):
    return request.app.state.server.info()


async def submit(request: Request):
    server = request.app.state.server
    server.queues.check_taking()  # before the upload is received
    with server.waiting_place():  # so is a full queue
        form = await whole_form(request)
        try:
            spec = parse_spec(form_spec(form), server.config.engine)
            uploads = [Upload(key, value.filename, value.file) for key, value in form.multi_items() if hasattr(value, "file")]
            job = await run_in_threadpool(server.submit, spec, uploads)
        finally:
            await form.close()
    return job.record()


async def job_state(job_id: str, request: Request,
                    wait: Annotated[float, Query(description="the seconds to wait for the job to end (at most 10)")] = 0.0):
    """The job's record; with ``wait`` (seconds, at most 10) answer as soon as it ends or when the time is up.
    Waiting holds no thread, so long polls never hold up other requests."""
    server = request.app.state.server
    job = server.job(job_id)
    deadline = time.monotonic() + min(max(wait, 0.0), 10.0)
    while not job.finished.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return await run_in_threadpool(server.job_record, job)  # a summary of large masks takes a while: not on the event loop


def cancel(job_id: str, request: Request):
    server = request.app.state.server
    job = server.job(job_id)
    server.queues.cancel(job)
    return server.job_record(job)


def download(job_id: str, kind: str, request: Request):
    job = request.app.state.server.job(job_id)
    if kind not in OUTPUT_KINDS or (kind == "seg_nrrd" and not job.seg_nrrd):
        raise NotFound(f"job {job_id} has no output {kind!r}")
    if job.state in ("queued", "running"):
        raise HTTPException(409, f"job {job_id} is {job.state}; outputs exist once it is done")
    if job.state != "done":
        raise HTTPException(409, f"job {job_id} {ended(job)}; it has no outputs")
    name, content = job.output_file(kind)
    return Response(content, media_type="application/octet-stream", headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def whole_form(request):
    """The job's multipart form; refuses one with more files than :data:`MAX_REFERENCES` references take with their
    tables (:data:`MAX_FILES`), and one whose body ended before its closing boundary (the parser would take the parts
    that came for all of them)."""
    from starlette.exceptions import HTTPException  # what the form parser raises (FastAPI's is a kind of it)
    from starlette.formparsers import parse_options_header  # python-multipart's, under either of its module names
    from starlette.requests import Request

    tail = b""

    async def receive():
        nonlocal tail
        message = await request.receive()
        tail = (tail + message.get("body", b""))[-1024:]
        return message

    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, f"send a job as a multipart/form-data form (its files and a 'spec' field of JSON), not "
                                 f"{request.headers.get('content-type') or 'a body without a Content-Type'}")
    try:
        form = await Request(request.scope, receive).form(max_files=MAX_FILES, max_fields=8)
    except HTTPException as error:
        if "Too many files" in str(error.detail):  # starlette's words for its limits
            raise InputError(f"a job takes at most {MAX_FILES} files (one target, one label_table, and for each of at most "
                             f"{MAX_REFERENCES} references its image, its reference_labels and their reference_table files): "
                             f"this form sends more than {MAX_FILES}") from error
        if "Part exceeded maximum size" in str(error.detail):
            raise InputError(f"a form field sent without a file name is too long: {error.detail} (the 'spec' is a short "
                             "JSON text; send each file with its file name)") from error
        if "Maximum header size exceeded" in str(error.__context__ and error.__context__.__cause__):  # python-multipart's
            raise InputError("a form part's header (its field name and file name) is over 4 KiB: send each file under a "
                             "shorter name (the server names the files it keeps itself)") from error
        raise
    boundary = parse_options_header(request.headers.get("content-type", ""))[1].get(b"boundary")
    if boundary and not tail.rstrip().endswith(b"--" + boundary + b"--"):
        await form.close()
        raise HTTPException(400, "the upload ended early (the form has no closing boundary); nothing was queued: send it again")
    return form
