"""The ``rau serve`` HTTP API (FastAPI): info, jobs, outputs and correction sessions under ``/v1``."""

import asyncio
import contextlib
import functools
import importlib.util
import shutil
import socket
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import rau
from rau.engines import DEFAULT_ENGINE, ENGINES, engine_class
from rau.errors import InputError, UnavailableError, failure_reason
from rau.options import EngineOptions
from rau.result import Result
from rau.serve.client import API_HEADER, API_VERSION, OUTPUT_KINDS, version_mismatch_message
from rau.serve.idle import StalledBodyTimeout
from rau.serve.jobs import LOG, DeviceQueues, EngineCache, Job, ServerStopping
from rau.serve.options import options_from_json
from rau.serve.runs import remove_stopped_runs, start_run
from rau.serve.security import authorized, confined, valid_id
from rau.serve.sessions import MAX_IMAGE_BYTES, MAX_QUEUED_JOBS, MAX_SESSION_BYTES, MAX_SESSIONS, MAX_UPLOAD_BYTES, SESSION_IDLE_SECONDS, SessionGone, SessionStore, WRITTEN_ELSEWHERE, correct, read_correction
from rau.serve.uploads import MAX_FILES, MAX_REFERENCES, Upload, form_spec, parse_spec, read_uploads
from rau.serve.wire import encode_mask
from rau.session import inside_points_warning, unchanged_reason
from rau.user_warnings import collected_warnings

CORRECTIONS = ("reprompt", "propagate", "undo", "edit", *WRITTEN_ELSEWHERE)
CORRECTION_THREADS = 8
"""Corrections that need the device take at most this many worker threads; the others wait for one without holding
any (before, some forty corrections waiting for a device busy with a job held every worker thread, and cancelling
that job, ``/v1/info`` and downloads waited until it ended)."""
OVERWRITE_FIELD = '"overwrite": true'
"""How a reprompt takes other structures' voxels (said when its answer leaves out inside points)."""


class QueueFull(RuntimeError):
    """A job submitted while ``max_queued_jobs`` wait already (503, before its upload is read)."""


class NotFound(LookupError):
    """A job, a job's output or a session action that does not exist (404); any other lookup that fails is a bug (500)."""


@dataclass
class ServerConfig:
    """What the operator chose when starting the server."""

    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rau-serve-")))
    token: str | None = None
    engine: str = DEFAULT_ENGINE
    """The engine of jobs whose spec names none (``rau serve --engine``)."""
    engine_options: EngineOptions | dict = field(default_factory=EngineOptions)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_image_bytes: int = MAX_IMAGE_BYTES
    """Most memory one uploaded image's voxels may take once unpacked, by its header (a small .nii.gz can hold a lot)."""
    session_idle_seconds: float = SESSION_IDLE_SECONDS
    max_sessions: int = MAX_SESSIONS
    max_session_bytes: int = MAX_SESSION_BYTES
    max_jobs: int = 1000
    max_queued_jobs: int = MAX_QUEUED_JOBS
    """Most jobs waiting to run, with those whose uploads are being read (``rau serve --max-queued-jobs``)."""
    upload_idle_seconds: float = 60.0
    """How long a request's body (an upload, a hand edit) may send nothing before the server answers 408 and does
    nothing: a stalled or abandoned one does not hold its connection and the parts it sent for ever (a client gives up
    after 60 s of silence too)."""
    device_wait_seconds: float = 30.0
    """How long a correction waits for its device (a job may hold it) before it answers 503 and changes nothing: well
    under a client's timeout (60 s), so waiting behind a job does not make a client give up on a correction the server
    then applies (a correction that itself computes longer than the client waits still can)."""

    def __post_init__(self):
        if not isinstance(self.engine_options, EngineOptions):
            self.engine_options = EngineOptions.from_dict(self.engine_options)


class Server:
    """The server's state: jobs, their queues, warm engines and sessions."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.work_dir = Path(config.work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.jobs_dir, self._run_lock = start_run(self.work_dir / "jobs")
        remove_stopped_runs(self.work_dir / "jobs")
        self.engines = EngineCache()
        self.sessions = SessionStore(config.session_idle_seconds, config.max_sessions, config.max_session_bytes, on_close=self._session_closed)
        self.queues = DeviceQueues(self.engines, self._finished)
        self.jobs: dict[str, Job] = {}
        self._reading = 0  # submissions whose uploads are being read: they wait too once queued
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def waiting_place(self):
        """Hold a place among the jobs waiting to run while a submission is read and queued; raises
        :class:`QueueFull` when ``max_queued_jobs`` hold them already."""
        with self._lock:
            waiting = self._reading + sum(job.state == "queued" for job in self.jobs.values())
            if waiting >= self.config.max_queued_jobs:
                raise QueueFull(f"the server's queue is full ({self.config.max_queued_jobs} waiting to run; rau serve "
                                "--max-queued-jobs); nothing was uploaded: submit again once a job has started")
            self._reading += 1
        try:
            yield
        finally:
            with self._lock:
                self._reading -= 1

    def submit(self, spec, uploads: list[Upload]) -> Job:
        """Read a job's uploads (refusing bad ones, nothing kept on disk) and queue it on its device."""
        options, unused = options_from_json(spec.options, self.config.engine_options, spec.engine)
        job_id = uuid.uuid4().hex
        folder = confined(self.jobs_dir, job_id)
        try:
            with collected_warnings() as said:  # the client sees them with the job, not on the server's standard error
                request = read_uploads(uploads, spec, folder, self.config.max_image_bytes)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)  # read: the images are kept nowhere on disk; the outputs make it again
        job = Job(job_id, spec.engine, options, request, folder, spec.seg_nrrd, warnings=[*unused, *said])
        with self._lock:
            self.jobs[job_id] = job
            self._drop_old_jobs()
        try:
            self.queues.submit(job)
        except ServerStopping:
            with self._lock:
                del self.jobs[job_id]
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return job

    def job(self, job_id: str) -> Job:
        """The job ``job_id`` (:class:`NotFound` for an unknown or malformed id)."""
        if not valid_id(job_id) or job_id not in self.jobs:
            raise NotFound(f"no job {job_id} on this server: it keeps jobs in memory only, so a job from before it restarted "
                           f"is gone, and so are the oldest finished ones beyond {self.config.max_jobs}; submit it again")
        return self.jobs[job_id]

    def _finished(self, job: Job) -> None:
        if job.state == "done" and job.result.session is not None:
            job.session = job.id
            if self.sessions.add(job.id, job.result):
                return
            job.session, job.result.session = None, None  # over the sessions' memory: no corrections
            job.no_session = f"this result cannot be corrected: the server's correction session {self.sessions.closed_reason(job.id)}"
            job.warnings = [*job.warnings, job.no_session]  # a new list: a poll may be reading the old
        job.release()

    def job_record(self, job: Job) -> dict:
        """The job's record, its session reported only while open (an idle one closes first)."""
        self.sessions.expire()
        return job.record()

    def _session_closed(self, session_id: str) -> None:
        job = self.jobs.get(session_id)
        if job is not None:
            job.release()

    def _drop_old_jobs(self) -> None:
        """Forget the oldest finished jobs beyond ``max_jobs``, but not one whose correction session is still open."""
        finished = [j for j in self.jobs.values() if j.state in ("done", "failed", "cancelled") and j.session is None]
        for job in sorted(finished, key=lambda j: j.created)[: max(0, len(self.jobs) - self.config.max_jobs)]:
            del self.jobs[job.id]
            shutil.rmtree(job.folder, ignore_errors=True)

    def info(self) -> dict:
        """What ``GET /v1/info`` answers: versions, engines and why any is unavailable, the device, the loaded models."""
        return {
            "rau_version": rau.__version__,
            "api_version": API_VERSION,
            "engines": engine_availability(),
            "device": resolved_device(self.config.engine_options.device),
            "models_loaded": self.engines.loaded(),
            "queued_or_running": sum(j.state in ("queued", "running") for j in self.jobs.values()),
            "sessions": len(self.sessions),
        }


def engine_availability() -> dict:
    """Every engine with ``available`` and, when not, the reason."""
    availability = {}
    for name in ENGINES:
        missing = [m for m in engine_class(name).requires if importlib.util.find_spec(m) is None]
        reason = f"needs {', '.join(missing)} on the server (pip install rauslicer[models])" if missing else ""
        availability[name] = {"available": not missing, "reason": reason}
    return availability


@functools.lru_cache(maxsize=None)
def resolved_device(requested: str | None) -> str:
    """The device model engines run on (``cpu`` when torch is absent)."""
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    from rau.models.loader import pick_device

    return pick_device(requested, quiet=True)  # not warnings.catch_warnings(): it changes every thread's filters


def create_app(config: ServerConfig | None = None):
    """The FastAPI application; ``app.state.server`` holds the :class:`Server`."""
    from anyio import CapacityLimiter
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
    from starlette.requests import ClientDisconnect

    server = Server(config or ServerConfig())
    correction_threads = CapacityLimiter(CORRECTION_THREADS)
    app = FastAPI(title="rau serve", version=str(API_VERSION), on_shutdown=[server.queues.shutdown])
    app.state.server = server
    app.add_middleware(StalledBodyTimeout, seconds=server.config.upload_idle_seconds)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if not authorized(request.headers.get("authorization"), server.config.token):
            return JSONResponse({"detail": "missing or wrong token: send 'Authorization: Bearer <token>'"}, 401, {"WWW-Authenticate": "Bearer"})
        client_version = request.headers.get(API_HEADER)
        if client_version is not None and not (client_version.isascii() and client_version.isdigit() and len(client_version) <= 9):
            shown = client_version if len(client_version) <= 40 else client_version[:40] + f"... ({len(client_version)} characters)"
            return JSONResponse({"detail": f"{API_HEADER} must be a whole number (this server speaks API {API_VERSION}), got {shown!r}"}, 400)
        if client_version is not None and int(client_version) != API_VERSION:
            return JSONResponse({"detail": version_mismatch_message(int(client_version), API_VERSION, str(request.base_url))}, 426)
        if request.method in ("POST", "PUT"):
            length = request.headers.get("content-length")
            if "transfer-encoding" in request.headers:  # a body of unknown size; beside a Content-Length the chunks count
                return JSONResponse({"detail": "send a Content-Length header, not a chunked body"}, 411)
            if int(length or 0) > server.config.max_upload_bytes:
                return JSONResponse({"detail": too_large(int(length), server.config.max_upload_bytes)}, 413)
        try:
            return await call_next(request)
        except ClientDisconnect:  # the client went away before its request was read (logged where its body stopped)
            return Response(status_code=400)
        except Exception as error:  # a bug: its reason to the client, as a failed job's, and its traceback to the log
            LOG.error("%s %s failed:\n%s", request.method, request.url.path, traceback.format_exc())
            return JSONResponse({"detail": failure_reason(error)}, 500)

    @app.exception_handler(ValueError)
    async def bad_input(request, error):
        return JSONResponse({"detail": str(error)}, 422)

    @app.exception_handler(UnavailableError)
    async def unavailable(request, error):  # a model or the VLM server cannot be used now: not the client's input
        return JSONResponse({"detail": str(error)}, 503)

    @app.exception_handler(SessionGone)
    async def session_gone(request, error):
        return JSONResponse({"detail": str(error)}, 410)

    @app.exception_handler(ServerStopping)
    @app.exception_handler(QueueFull)
    async def busy(request, error):
        return JSONResponse({"detail": str(error)}, 503)

    @app.exception_handler(NotFound)
    async def not_found(request, error):
        return JSONResponse({"detail": str(error.args[0]) if error.args else "not found"}, 404)

    @app.get("/v1/info")
    def info():
        return server.info()

    @app.post("/v1/jobs", status_code=202)
    async def submit(request: Request):
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

    @app.get("/v1/jobs/{job_id}")
    async def job_state(job_id: str, wait: float = 0.0):
        """The job's record; with ``wait`` (seconds, at most 10) answer as soon as it ends or when the time is up.
        Waiting holds no thread, so long polls never hold up other requests."""
        job = server.job(job_id)
        deadline = time.monotonic() + min(max(wait, 0.0), 10.0)
        while not job.finished.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return await run_in_threadpool(server.job_record, job)  # a summary of large masks takes a while: not on the event loop

    @app.post("/v1/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        job = server.job(job_id)
        server.queues.cancel(job)
        return server.job_record(job)

    @app.get("/v1/jobs/{job_id}/files/{kind}")
    def download(job_id: str, kind: str):
        job = server.job(job_id)
        if kind not in OUTPUT_KINDS or (kind == "seg_nrrd" and not job.seg_nrrd):
            raise NotFound(f"job {job_id} has no output {kind!r}")
        if job.state in ("queued", "running"):
            raise HTTPException(409, f"job {job_id} is {job.state}; outputs exist once it is done")
        if job.state != "done":
            raise HTTPException(409, f"job {job_id} {ended(job)}; it has no outputs")
        name, content = job.output_file(kind)
        return Response(content, media_type="application/octet-stream", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def check_session_open(session_id: str) -> None:
        """A job's session opens when the job is done: before, say so (409), not that there is no session; a job
        cancelled or failed has none (410)."""
        job = server.jobs.get(session_id)
        if job is not None and not job.finished.is_set():
            raise HTTPException(409, f"job {session_id} is {job.record()['state']}; its correction session opens when it is done")
        if job is not None and job.state != "done":
            raise SessionGone(f"job {session_id} {ended(job)}; it has no correction session")

    @app.post("/v1/sessions/{session_id}/{action}")
    async def correction(session_id: str, action: str, body: dict):
        if action not in CORRECTIONS:
            raise NotFound(f"no session action {action!r}; use one of {', '.join(CORRECTIONS)}")
        deadline = time.monotonic() + server.config.device_wait_seconds
        asked = await run_in_threadpool(read_asked, session_id, action, body)  # refused at once, not after a wait
        if action in ("edit", *WRITTEN_ELSEWHERE):  # computes nothing, needs no device
            return await run_in_threadpool(correct_now, session_id, action, *asked, None)
        async with held_slot(correction_threads, server.config.device_wait_seconds):
            return await run_in_threadpool(correct_now, session_id, action, *asked, max(0.0, deadline - time.monotonic()))

    def read_asked(session_id: str, action: str, body: dict):
        """The session's entry and the correction asked (structure name and what was given); refuses a session not
        open (404, 409, 410) or a correction it cannot take (422)."""
        check_session_id(session_id)
        check_session_open(session_id)
        entry = server.sessions.get(session_id)
        name = body.get("structure")
        if not isinstance(name, str):
            raise InputError("give the structure's name as 'structure'")
        return (entry, *read_correction(entry, action, name, body))

    def correct_now(session_id: str, action: str, entry, name: str, given, device_wait: float | None):
        """Apply one correction read by :func:`read_asked`, waiting at most ``device_wait`` seconds for the job's device
        (None: an edit, gave_way or gave_up, which need none)."""
        job = server.jobs.get(session_id)
        if job is None:  # forgotten while the correction waited for a slot (beyond --max-jobs, once its session closed)
            raise closed_while_waiting(session_id)
        device = contextlib.nullcontext() if device_wait is None else held(server.queues.device_lock(job.device), device_wait, server.config.device_wait_seconds)
        with device, job.lock:  # an edit, gave_way or gave_up computes nothing; downloads wait for the correction, never half of it
            session = None if job.result is None else job.result.session  # closing the session (a DELETE, expiry) may take it from the result at any time
            if session is None:
                raise closed_while_waiting(session_id)
            started, before = time.perf_counter(), entry.result.get(name).mask
            items = correct(entry, action, name, given)
            seconds = time.perf_counter() - started
            written = entry.result.get(name)  # as the downloads hold it (given way to the others unless overwrite)
            unchanged = action == "reprompt" and unchanged_reason(session, before, written)
            job.version += 1
            version = job.version  # read here: a correction just after would give its own number to both answers
        rows = Result(entry.result.target, items, entry.result.engine).summary()
        answers = [{"structure": row, "mask": encode_mask(item.mask)} for row, item in zip(rows, items)]
        said = action == "reprompt" and inside_points_warning(name, given[0], written, entry.result.held_by_others(name), entry.result.engine, None if given[1] else OVERWRITE_FIELD)
        return {**answers[0], "shape": list(entry.result.target.shape), "version": version, "seconds": round(seconds, 4), "others": answers[1:],
                "warnings": [said] if said else [], "unchanged": unchanged or ""}

    def closed_while_waiting(session_id: str) -> SessionGone:
        """The session closed while a correction waited for a slot or the device, with the reason the store knows."""
        return SessionGone(f"while the correction waited, session {session_id} {server.sessions.closed_reason(session_id) or 'was closed'}")

    @app.delete("/v1/sessions/{session_id}")
    def close_session(session_id: str):
        check_session_id(session_id)
        check_session_open(session_id)
        server.sessions.remove(session_id)
        return {"closed": session_id}

    return app


def ended(job) -> str:
    """How a job that gave no result ended: ``was cancelled`` or ``failed``."""
    return "was cancelled" if job.state == "cancelled" else "failed"


def check_session_id(session_id: str) -> None:
    """Refuse (404) an id no server issues: a session has its job's id. A well-formed one this server does not know may
    be from before it restarted: :meth:`SessionStore.get` answers it 410, as a closed one."""
    if not valid_id(session_id):
        raise NotFound(f"no session {session_id}: a session has its job's id, 32 lowercase hex digits")


def too_large(length: int, limit: int) -> str:
    """Why an upload of ``length`` bytes is refused: in MiB, or in bytes where both round to the same MiB."""
    size, most = f"{length / 2**20:.1f} MiB", f"{limit / 2**20:.1f} MiB"
    if size == most:
        size, most = f"{length} bytes", f"{limit} bytes"
    return f"upload of {size} exceeds the server's limit of {most}"


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
            raise InputError(f"at most {MAX_REFERENCES} references per job") from error
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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; raises :class:`UnavailableError` naming them when it cannot."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        raise UnavailableError(f"--host {host} --port {port}: cannot listen there ({error.strerror})") from error


GRACEFUL_SECONDS = 10
"""How long a stopping server lets open requests (a long poll, an upload) finish before it closes them."""


def serve(config: ServerConfig, sock: socket.socket) -> None:
    """Run the server on ``sock`` until interrupted (uvicorn). Told to stop (Ctrl-C, SIGTERM), it cancels the queued
    jobs at once, lets the running ones finish, and gives open requests :data:`GRACEFUL_SECONDS`."""
    import uvicorn

    app = create_app(config)

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig, frame):  # in the signal handler: the queues' lock is taken on another thread
            threading.Thread(target=app.state.server.queues.stop_taking, daemon=True).start()
            super().handle_exit(sig, frame)

    host, port = sock.getsockname()[:2]
    settings = uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=GRACEFUL_SECONDS)
    StoppingServer(settings).run(sockets=[sock])
