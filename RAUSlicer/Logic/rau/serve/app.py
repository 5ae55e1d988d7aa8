"""The ``rau serve`` application: the server's state (:class:`Server`), the app that serves it (:func:`create_app`;
its routes are :mod:`rau.serve.job_routes` and :mod:`rau.serve.session_routes`) and :func:`serve`."""

import contextlib
import functools
import importlib.util
import logging
import shutil
import signal
import socket
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import rau
from rau.engines import DEFAULT_ENGINE, ENGINES, engine_class
from rau.errors import UnavailableError
from rau.extras import not_installed
from rau.options import EngineOptions
from rau.serve.client import API_VERSION
from rau.serve.connections import HEADER_SECONDS, MAX_CONNECTIONS
from rau.serve.idle import UPLOAD_IDLE_SECONDS, UPLOAD_MIN_RATE, BodyTimeouts, ClosingBodies
from rau.serve.jobs import DeviceQueues, EngineCache, Job, ServerStopping, job_outputs
from rau.serve.limits import MAX_IMAGE_BYTES, MAX_QUEUED_JOBS, MAX_SESSION_BYTES, MAX_SESSIONS, MAX_UPLOAD_BYTES, SESSION_IDLE_SECONDS
from rau.serve.options import options_from_json, shown_options
from rau.serve.refusals import REFUSALS, NotFound, QueueFull, unreadable_parameters
from rau.serve.runs import remove_stopped_runs, start_run
from rau.serve.security import confined, valid_id
from rau.serve.sessions import SessionStore
from rau.serve.temporary_folders import SERVER_WORK, new_temporary_folder
from rau.serve.uploads import Upload, read_uploads
from rau.user_warnings import collected_warnings


@dataclass
class ServerConfig:
    """What the operator chose when starting the server."""

    work_dir: Path | None = None
    """The folder for uploads and outputs; None: a new temporary one (:mod:`rau.serve.temporary_folders`), locked
    while this config is kept (``work_dir_lock``): ``rau serve`` removes it as it stops or, when it is killed, the next
    server started without a work folder does."""
    work_dir_lock: BinaryIO | None = field(default=None, init=False, repr=False, compare=False)
    token: str | None = None
    engine: str = DEFAULT_ENGINE
    """The engine of jobs whose spec names none (``rau serve --engine``)."""
    engine_options: EngineOptions | dict = field(default_factory=EngineOptions)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_image_bytes: int = MAX_IMAGE_BYTES
    """Most memory one uploaded image's voxels may take once unpacked, by its header (a small .nii.gz can hold a lot;
    a NIfTI's count from its start, as its readers unpack its header before them: :func:`~rau.serve.security.check_unpacked_size`)."""
    session_idle_seconds: float = SESSION_IDLE_SECONDS
    max_sessions: int = MAX_SESSIONS
    max_session_bytes: int = MAX_SESSION_BYTES
    max_jobs: int = 1000
    max_queued_jobs: int = MAX_QUEUED_JOBS
    """Most jobs waiting to run, with those whose uploads are being read (``rau serve --max-queued-jobs``)."""
    upload_idle_seconds: float = UPLOAD_IDLE_SECONDS
    upload_min_rate: float = UPLOAD_MIN_RATE
    """How fast a request's body (an upload, a hand edit) must come, in seconds it may send nothing and bytes a second
    after those (:class:`~rau.serve.idle.BodyPace`), else the server answers 408 and does nothing: a stalled, abandoned
    or trickled one does not hold its connection, its place in the queue and the parts it sent for ever (a client gives
    up after 60 s of silence too)."""
    header_seconds: float = HEADER_SECONDS
    max_connections: int = MAX_CONNECTIONS
    """How long a connection may take to send a request's headers, and how many may be open at once (fewer where the
    open-file limit is low): :mod:`rau.serve.connections`."""
    device_wait_seconds: float = 30.0
    """How long a correction waits for its device (a job may hold it) before it answers 503 and changes nothing: well
    under a client's timeout (60 s), so waiting behind a job does not make a client give up on a correction the server
    then applies (a correction that itself computes longer than the client waits still can)."""

    def __post_init__(self):
        if self.work_dir is None:
            self.work_dir, self.work_dir_lock = new_temporary_folder(SERVER_WORK)
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
            queued = sum(job.state == "queued" for job in self.jobs.values())
            if queued + self._reading >= self.config.max_queued_jobs:
                raise QueueFull(f"the server's queue is full ({queued} queued, {self._reading} still being "
                                "uploaded; rau serve --max-queued-jobs); nothing was uploaded: submit again once one of "
                                "them has started")
            self._reading += 1
        try:
            yield
        finally:
            with self._lock:
                self._reading -= 1

    def submit(self, spec, uploads: list[Upload]) -> Job:
        """Read a job's uploads (refusing bad ones, nothing kept on disk) and queue it on its device."""
        references = sum(upload.field == "reference" for upload in uploads)
        options, unused = options_from_json(spec.options, self.config.engine_options, spec.engine, references)
        job_id = uuid.uuid4().hex
        folder = confined(self.jobs_dir, job_id)
        try:
            with collected_warnings() as said:  # the client sees them with the job, not on the server's standard error
                request, apart = read_uploads(uploads, spec, folder, self.config.max_image_bytes, job_outputs(folder, spec.seg_nrrd).values())
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)  # read: the images are kept nowhere on disk; the outputs make it again
        job = Job(job_id, spec.engine, options, request, folder, spec.seg_nrrd, warnings=[*unused, *said], apart=apart)
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
            job.session, job.propagates = job.id, job.result.session.propagates
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
        """What ``GET /v1/info`` answers: versions, engines and why any is unavailable, the device, the loaded models
(their options but the operator's folders and URLs)."""
        return {
            "rau_version": rau.__version__,
            "api_version": API_VERSION,
            "engines": engine_availability(),
            "device": resolved_device(self.config.engine_options.device),
            "models_loaded": [{**model, "options": shown_options(model["options"])} for model in self.engines.loaded()],
            "queued_or_running": sum(j.state in ("queued", "running") for j in self.jobs.values()),
            "sessions": len(self.sessions),
        }


def engine_availability() -> dict:
    """Every engine with ``available`` and, when not, the reason."""
    availability = {}
    for name in ENGINES:
        missing = [m for m in engine_class(name).requires if importlib.util.find_spec(m) is None]
        reason = "on the server, " + "; ".join(not_installed(module) for module in missing) if missing else ""
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
    """The FastAPI application: the :class:`Server` (``app.state.server``), the :func:`~rau.serve.guard.guard` every
    request passes, the refusals' statuses (:data:`~rau.serve.refusals.REFUSALS`), the job routes and the session routes."""
    from anyio import CapacityLimiter
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError

    from rau.serve.guard import guard
    from rau.serve.job_routes import add_job_routes
    from rau.serve.session_routes import CORRECTION_THREADS, add_session_routes

    server = Server(config or ServerConfig())
    # no interactive docs pages (/docs, /redoc): they load their scripts from a public CDN; /openapi.json describes the API
    app = FastAPI(title="rau serve", version=str(API_VERSION), on_shutdown=[server.queues.shutdown], docs_url=None, redoc_url=None)
    app.state.server = server
    app.state.correction_threads = CapacityLimiter(CORRECTION_THREADS)
    app.state.closing_bodies = ClosingBodies()
    app.add_middleware(BodyTimeouts, idle_seconds=server.config.upload_idle_seconds,
                       min_rate=server.config.upload_min_rate, closing=app.state.closing_bodies)
    app.middleware("http")(guard)
    for error, handler in REFUSALS.items():
        app.add_exception_handler(error, handler)
    app.add_exception_handler(RequestValidationError, unreadable_parameters)  # FastAPI's own: not imported without it
    add_job_routes(app)
    add_session_routes(app)
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; raises :class:`UnavailableError` naming them when it cannot."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        raise UnavailableError(f"--host {host} --port {port}: cannot listen there ({error.strerror})") from error


GRACEFUL_SECONDS = 10
"""How long a stopping server lets open requests (a long poll, an upload) finish before it closes them."""
ANSWER_SECONDS = 1
"""The last of those in which a request whose body is still coming is answered 503 (:class:`~rau.serve.idle.ClosingBodies`):
once uvicorn cancels a request, it can only answer 500, as for a bug."""


def serve(config: ServerConfig, sock: socket.socket) -> None:
    """Run the server on ``sock`` until interrupted (uvicorn). Told to stop (Ctrl-C, SIGTERM), it cancels the queued
    jobs at once, lets the running ones finish, and gives open requests :data:`GRACEFUL_SECONDS`, answering 503 to those
    whose body is still coming :data:`ANSWER_SECONDS` before."""
    import uvicorn

    app = create_app(config)

    class StoppingServer(uvicorn.Server):
        stopped_by = None

        def handle_exit(self, sig, frame):  # in the signal handler: the queues' lock is taken on another thread
            self.stopped_by = sig
            threading.Thread(target=app.state.server.queues.stop_taking, daemon=True).start()
            app.state.closing_bodies.close_in(GRACEFUL_SECONDS - ANSWER_SECONDS)
            super().handle_exit(sig, frame)

    host, port = sock.getsockname()[:2]
    settings = uvicorn_config(app, host, port, log_level="info", timeout_graceful_shutdown=GRACEFUL_SECONDS)
    logging.getLogger("uvicorn.access").addFilter(without_query)  # once uvicorn has set up its logging
    server = StoppingServer(settings)
    server.run(sockets=[sock])  # stopped by a signal, uvicorn raises it again: Ctrl-C ends as KeyboardInterrupt (exit 130)
    if server.stopped_by == signal.SIGINT:  # unless SIGINT was ignored when rau serve started (a script's `rau serve &`)
        raise KeyboardInterrupt


def uvicorn_config(app, host: str, port: int, **settings):
    """uvicorn's configuration for ``app`` (:func:`create_app`) on ``host:port``, with ``settings``: its HTTP protocol
    bounds the connections (:func:`rau.serve.connections.guarded_http`)."""
    import uvicorn

    from rau.serve.connections import guarded_http

    limits = app.state.server.config
    return uvicorn.Config(app, host=host, port=port, http=guarded_http(limits.header_seconds, limits.max_connections),
                          **settings)


def without_query(record: logging.LogRecord) -> bool:
    """Leave the query string out of an access log line: a client may put its token there (``?token=...``; it is
    refused, 401) and the log is the operator's. uvicorn's line takes (client, method, path with query, version, status)."""
    if isinstance(record.args, tuple) and len(record.args) == 5 and isinstance(record.args[2], str):
        client, method, path, version, status = record.args
        record.args = (client, method, path.split("?", 1)[0], version, status)
    return True
