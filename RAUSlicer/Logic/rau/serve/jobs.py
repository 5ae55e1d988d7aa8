"""Jobs queued per device: one worker thread per device runs them in order with warm engines.

A job's progress and cancel go through :class:`rau.engines.base.Progress`; its outputs are
written by the same code as ``rau segment``, into the job's folder.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from rau.engines import Request, create_engine
from rau.engines.base import Cancelled, Progress
from rau.errors import InputError, UnavailableError, failure_reason
from rau.io.run_outputs import output_paths, write_outputs
from rau.options import EngineOptions
from rau.serve.client import DOWNLOADS
from rau.serve.options import in_client_words
from rau.user_warnings import collected_warnings

LOG = logging.getLogger("rau.serve")
OUTPUT_NAME = "segmentation" + DOWNLOADS["label_map"][0]
FINISH_SECONDS = 60.0
"""How long a stopping server lets its running jobs go on before it cancels them, and then waits for them to stop."""


QUEUED = "waiting for the server (queued)"
"""A queued job's step: it waits for the jobs before it on its device."""
STARTING = "starting the engine"
"""A job's step from when its worker takes it until its engine reports one (loading a model may take a while)."""
SHUT_DOWN = "the server shut down"
"""The reason a job cancelled by the server's stop gives."""

ASK_SEG_NRRD = 'ask for "seg_nrrd": true for a Slicer segmentation that keeps them whole'
"""What keeps a job's overlapping structures whole when it wrote no ``.seg.nrrd`` (the spec's field, not ``--seg-nrrd``)."""


def job_outputs(folder: Path, seg_nrrd: bool) -> dict[str, Path]:
    """The files a job in ``folder`` writes, its downloads (:func:`rau.io.run_outputs.output_paths`)."""
    return output_paths(folder / OUTPUT_NAME, seg_nrrd)


class ServerStopping(RuntimeError):
    """A job was submitted after the server was told to stop."""


@dataclass
class Job:
    """One segmentation request and what became of it."""

    id: str
    engine: str
    options: EngineOptions
    request: Request
    folder: Path
    seg_nrrd: bool = False
    state: str = "queued"
    step: str = ""
    progress: float = 0.0
    error: str | None = None
    status: int | None = None
    result: object | None = None
    session: str | None = None
    no_session: str = ""
    """Why a done job's result has no correction session (empty while it has one): also one of its :attr:`warnings`."""
    propagates: bool = False
    """Whether the correction session :meth:`~rau.session.Session.propagates` (False without one)."""
    version: int = 0
    """Corrections applied to ``result``, also after its session closed (the outputs are rewritten when it changed)."""
    written_version: int = -1
    kept: tuple[list, float] | None = None
    """The structures' rows and seconds once :meth:`release` let the result go."""
    cancel_event: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str | None = None
    """Why the job was cancelled when no client asked (the server shut down): its record's ``error``."""
    finished: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: float = field(default_factory=time.time)
    warnings: list[str] = field(default_factory=list)
    """What ``rau segment`` would print as warnings: those given (reading the uploads), then what the run leaves out
    and where Slicer would answer otherwise (:meth:`Request.input_warnings`), then, once run, the engine's (:func:`run_job`)."""
    written_warnings: list[str] = field(default_factory=list)
    """The writers' warnings when the outputs were last written (a correction may change them)."""
    apart: str | None = None
    """Why its downloads will not overlay the uploaded target in Slicer, naming the client's file (asked while the
    upload was there: :func:`rau.serve.uploads.read_uploads`); None where they do. Writing them warns of it."""

    def __post_init__(self):
        self.warnings = [*self.warnings, *self.request.input_warnings()]

    @property
    def device(self) -> str:
        return self.options.device

    def record(self) -> dict:
        """The job as the API reports it; ``done`` (state and step) once it has finished (outputs written, its session
        kept or not): until then it is running, at its last step; a queued job's step says it waits (:data:`QUEUED`)."""
        state = "running" if self.state == "done" and not self.finished.is_set() else self.state
        step = {"done": "done", "queued": QUEUED}.get(state, self.step)
        summary = seconds = None
        if state == "done":
            result, kept = self.result, self.kept
            summary, seconds = (result.summary(), round(result.seconds, 3)) if result is not None else kept
        return {
            "job": self.id, "state": state, "step": step, "progress": round(self.progress, 4),
            "engine": self.engine, "error": self.error, "status": self.status, "session": self.session if state == "done" else None,
            "structures": summary, "seconds": seconds, "warnings": [*self.warnings, *self.written_warnings],
            "output_warnings": self.written_warnings, "no_session": self.no_session,
            "propagates": self.propagates and state == "done" and self.session is not None,
        }

    def output_paths(self) -> dict[str, Path]:
        """The files this job writes, by kind (:func:`job_outputs`), whether written yet or not."""
        return job_outputs(self.folder, self.seg_nrrd)

    def write_outputs(self) -> dict[str, Path]:
        """Write (or rewrite after corrections) the outputs exactly as ``rau segment`` does."""
        with self.lock:
            self._write_changes()
            return self.output_paths()

    def as_downloads(self, message: str) -> str:
        """A writer's ``message`` naming this job's downloads, not the server's files."""
        for kind, path in self.output_paths().items():
            message = message.replace(str(path), f"the {kind} download")
        return message

    def output_file(self, kind: str) -> tuple[str, bytes]:
        """One output's name and bytes, read while no correction can rewrite it (a download never gets half of two versions)."""
        with self.lock:
            self._write_changes()
            path = self.output_paths()[kind]
            return path.name, path.read_bytes()

    def release(self) -> None:
        """Once no session can change the result (none kept, or it closed): write what corrections changed and keep
        only the structures' rows. The outputs on disk are then final, and a finished job holds no images in memory."""
        with self.lock:
            if self.result is None or self.result.session is not None:
                return
            self._write_changes()
            self.kept, self.result, self.session = (self.result.summary(), round(self.result.seconds, 3)), None, None

    def _write_changes(self) -> None:
        """Write the outputs when corrections changed the result since they were last written (under :attr:`lock`)."""
        if self.version != self.written_version:
            with collected_warnings() as said:  # the result JSON records them naming the downloads, as the job reports them
                write_outputs(self.result, self.output_paths(), overwrite=True, warnings=self.warnings, said_as=self.as_downloads,
                              keeps_whole=ASK_SEG_NRRD, apart=self.apart)
            self.written_version, self.written_warnings = self.version, [self.as_downloads(message) for message in said]


class EngineCache:
    """Engines by name and options, created once and kept warm (the least recently used leave beyond ``size``)."""

    def __init__(self, size: int = 4):
        self.size = size
        self._engines: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, options: EngineOptions):
        """The engine ``name`` with ``options``, created on first use and kept warm."""
        key = (name, json.dumps(options.as_dict(), sort_keys=True, default=str))
        with self._lock:
            if key not in self._engines:
                self._engines[key] = create_engine(name, options)
                while len(self._engines) > self.size:
                    self._engines.popitem(last=False)
            self._engines.move_to_end(key)
            return self._engines[key]

    def loaded(self) -> list[dict]:
        """The warm engines with their options (for ``/v1/info``)."""
        with self._lock:
            return [{"engine": name, "options": json.loads(options)} for name, options in self._engines]


class DeviceQueues:
    """A FIFO queue and a worker thread per device; ``device_lock(d)`` also guards corrections on ``d``."""

    def __init__(self, engines: EngineCache, on_done):
        self.engines, self.on_done = engines, on_done
        self._queues: dict[str, queue.Queue] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._running: dict[str, Job] = {}
        self._stopping = False
        self._lock = threading.Lock()

    def device_lock(self, device: str) -> threading.Lock:
        """The lock a job or correction holds while it uses ``device``."""
        with self._lock:
            return self._locks.setdefault(device, threading.Lock())

    def check_taking(self) -> None:
        """Raise :class:`ServerStopping` once the server is stopping."""
        if self._stopping:
            raise ServerStopping("the server is shutting down and takes no new jobs; submit again once it is back")

    def submit(self, job: Job) -> None:
        """Queue ``job`` on its device; raises :class:`ServerStopping` once the server is stopping."""
        with self._lock:
            self.check_taking()
            if job.device not in self._queues:
                self._queues[job.device] = queue.Queue()
                thread = threading.Thread(target=self._work, args=(job.device,), name=f"rau jobs {job.device}", daemon=True)
                self._threads[job.device] = thread
                thread.start()
            self._queues[job.device].put(job)

    def cancel(self, job: Job) -> None:
        """Cancel ``job``: one still queued ends at once (its worker skips it), a running one stops at its next step."""
        with self._lock:
            job.cancel_event.set()
            if job.state == "queued":
                _end_queued(job, None)

    def stop_taking(self) -> None:
        """Cancel the queued jobs and tell each worker to stop after its current job; returns at once (the server
        calls it as soon as it is told to stop, before it waits for open connections)."""
        with self._lock:
            self._stopping = True
            for device_queue in self._queues.values():
                _cancel_queued(device_queue)
                device_queue.put(None)

    def shutdown(self) -> None:
        """Give the running jobs :data:`FINISH_SECONDS` together to finish, then cancel those still running (each
        stops at its next step) and give them as long again to stop; queued jobs are cancelled at once."""
        self.stop_taking()
        with self._lock:
            threads = dict(self._threads)
        _join_all(threads.values(), FINISH_SECONDS)
        for device, thread in threads.items():
            running = self._running.get(device)
            if thread.is_alive() and running is not None:
                LOG.warning("job %s did not finish within %g s of the stop; cancelling it", running.id, FINISH_SECONDS)
                running.cancel_reason = SHUT_DOWN
                running.cancel_event.set()
        _join_all(threads.values(), FINISH_SECONDS)
        for device, thread in threads.items():
            if thread.is_alive():
                LOG.error("the job on %s did not stop within %g s of its cancel; the server stops under it", device, FINISH_SECONDS)

    def _work(self, device: str) -> None:
        device_queue = self._queues[device]
        while (job := device_queue.get()) is not None:
            with self._lock:  # a job is cancelled either while queued or once running (self.cancel)
                if job.state != "queued":
                    continue
                job.state, job.step, self._running[device] = "running", STARTING, job
            with self.device_lock(device):
                run_job(job, self.engines)
            self._running.pop(device, None)
            try:
                self.on_done(job)
            except Exception:  # e.g. a disk error writing an older job's outputs: logged; the queue goes on
                LOG.error("after job %s:\n%s", job.id, traceback.format_exc())
            finally:
                job.finished.set()
        with self._lock:
            _cancel_queued(device_queue)


def _join_all(threads, seconds: float) -> None:
    """Wait for ``threads`` to end, at most ``seconds`` in all."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _cancel_queued(device_queue: queue.Queue) -> None:
    """Cancel every job still waiting in ``device_queue`` (the server shuts down)."""
    while True:
        try:
            job = device_queue.get_nowait()
        except queue.Empty:
            return
        if job is not None and job.state == "queued":
            _end_queued(job, SHUT_DOWN)


def _end_queued(job: Job, reason: str | None) -> None:
    """End a job cancelled before it ran."""
    job.state, job.error, job.request = "cancelled", reason, None
    job.finished.set()


def run_job(job: Job, engines: EngineCache) -> None:
    """Run one job to its end state: done (outputs written), cancelled, or failed with an HTTP-like status."""
    if job.cancel_event.is_set():
        job.state, job.error = "cancelled", job.cancel_reason
        return

    def report(step: str, fraction: float) -> None:
        job.step, job.progress = step, fraction

    job.state = "running"
    try:
        with collected_warnings() as said:
            engine = engines.get(job.engine, job.options)
            job.result = engine.run(job.request, Progress(report, job.cancel_event.is_set))
        job.warnings = job.warnings + said  # a new list: a poll may be reading the old
        report("writing outputs", 1.0)  # a volume's take seconds: the job is not done until they are written
        job.write_outputs()
        job.state = "done"
    except Cancelled:
        job.state, job.result, job.error = "cancelled", None, job.cancel_reason
    except Exception as error:  # as rau.errors tells them apart: see failure_status (a bug's traceback is logged here too)
        if not isinstance(error, InputError):
            LOG.error("job %s failed:\n%s", job.id, traceback.format_exc())
        job.state, job.status, job.error, job.result = "failed", failure_status(error), failure_reason(in_client_words(error)), None
    finally:
        job.request = None  # the inputs are no longer needed in memory


def failure_status(error: Exception) -> int:
    """The HTTP status of a failed job: 503 when something the server needs cannot be used now (a model, the VLM
    server), 422 for bad input, 500 for a bug or a broken model."""
    return 503 if isinstance(error, UnavailableError) else 422 if isinstance(error, InputError) else 500
