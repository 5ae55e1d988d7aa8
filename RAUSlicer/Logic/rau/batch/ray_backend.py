"""Ray backend: one actor per GPU (or per CPU worker) holding a warm engine, one task per target.

A lost worker is replaced by a new actor and its target run again; a target whose worker died :data:`RETRIES` + 1
times is reported failed and the run goes on. The deaths are counted per target here (Ray's own restart budget is
per actor, for its whole life, so a long cohort ran out of it on other targets' deaths).
Outputs are written by the actors, so the output folder must be shared by every node.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

from rau.batch.worker import WarmWorker, died_row
from rau.cpu_share import share_of
from rau.errors import InputError, OptionError, Terminated, UnavailableError
from rau.extras import not_installed
from rau.options import EngineOptions
from rau.user_warnings import warn

RETRIES = 3
WAIT_SECONDS = 1.0
"""How long one ``ray.wait`` blocks: a SIGTERM that arrives meanwhile stops the run when it returns."""
STOP_SECONDS = 60.0
"""How long a stopped run waits for the processes of the actors it killed as they ran a target to end."""


def connect(address: str, workers: int | None, gpus_per_worker: float, cpus_per_worker: float) -> int:
    """Join the Ray cluster at ``address`` (``auto``: the one this machine belongs to; ``local``: start one); return the actor count.

    ``workers`` defaults to what the cluster fits; a cluster too small for them is refused, as its actors would never start.
    """
    if importlib.util.find_spec("ray") is None:
        raise UnavailableError(f"--ray {address}: {not_installed('ray')}")
    import ray

    if address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise UnavailableError(f'--ray {address}: a ray:// address needs the Ray Client; install it with pip install "ray[client]"')
    if not ray.is_initialized():
        _init_ray(address)
    resources = ray.cluster_resources()
    if workers is None:
        workers = max(1, int(resources.get("GPU", 0) // gpus_per_worker) if gpus_per_worker else int(resources.get("CPU", 1) // cpus_per_worker))
    for option, per_worker, resource in (("--gpus-per-worker", gpus_per_worker, "GPU"), ("--cpus-per-worker", cpus_per_worker, "CPU")):
        if workers * per_worker > resources.get(resource, 0):
            raise OptionError(f"{option} {per_worker:g} x {workers} worker(s) = {workers * per_worker:g} {resource}, "
                              f"but the Ray cluster has {resources.get(resource, 0):g} {resource}")
    return workers


NO_CLUSTER = "Could not find any running Ray instance"
"""How Ray's ``ConnectionError`` begins when ``address="auto"`` finds no cluster (it then names its own flags)."""
CONNECT_SECONDS = 10
"""How long a ``HOST:PORT`` address (given, or found by ``--ray auto``) has to answer before the run is refused."""


def _init_ray(address: str) -> None:
    """``ray.init`` for ``--ray ADDRESS``. A cluster that cannot be reached is the user's to fix, not a bug:
    :class:`UnavailableError` with Ray's reason, or, for ``auto`` with no cluster here, what to do."""
    import ray

    target, option = _resolved(address)
    _check_listening(target, option)
    try:
        with _sigterm_kept():
            # "local" always starts a new instance (None would join RAY_ADDRESS's)
            ray.init(address=target, log_to_driver=False, runtime_env=_workers_environment())
    except ValueError as error:  # "Invalid address format: ..."
        raise OptionError(f"{option}: {error}; give auto, local, HOST:PORT or ray://HOST:PORT") from None
    except ConnectionError as error:
        reason = str(error)
        if target == "auto" and reason.startswith(NO_CLUSTER):
            reason = ("no running Ray cluster was found on this machine; start one (ray start --head), give a cluster's address "
                      "(--ray HEAD:6379 or --ray ray://HEAD:10001), or use --ray local to start one for this run")
        raise UnavailableError(f"{option}: {reason}") from None


def _workers_environment() -> dict | None:
    """The runtime environment of this run's Ray workers: Python's warning options of this process (``sys.warnoptions``:
    ``PYTHONWARNINGS``'s, then ``-W``'s, which come later and so win) as their ``PYTHONWARNINGS``, so that what a target
    warns of is ignored, shown or made an error as without Ray (a spawned worker process is given the options; a Ray
    worker, on any node, follows only the variable). None without options: Ray's own runtime environment is left alone."""
    if not sys.warnoptions:
        return None
    return {"env_vars": {"PYTHONWARNINGS": ",".join(sys.warnoptions)}}


@contextmanager
def _sigterm_kept():
    """Put back the SIGTERM handler ``ray.init`` replaces with its own (exit status 15): rau's stops the run as it
    does without Ray (temporary files removed, "terminated", exit status 143)."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if previous is not None and threading.current_thread() is threading.main_thread():  # Ray replaces it only there
            signal.signal(signal.SIGTERM, previous)


def _resolved(address: str) -> tuple[str, str]:
    """The address to give ``ray.init`` for ``--ray ADDRESS``, and how messages name it.

    ``auto`` is resolved as Ray does (``RAY_ADDRESS``, else the cluster the last ``ray start`` here recorded), so
    that an address nothing answers at is refused naming where it came from; Ray would try to reach it for ever.
    Left ``auto`` where neither gives one: Ray then looks for a cluster's running processes on this machine.
    """
    if address != "auto":
        return address, f"--ray {address}"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], f"--ray auto (RAY_ADDRESS={os.environ['RAY_ADDRESS']})"
    recorded = _last_started_cluster()
    if recorded:
        return recorded, f"--ray auto ({recorded}, the cluster the last `ray start` on this machine recorded)"
    return "auto", "--ray auto"


def _last_started_cluster() -> str | None:
    """The address ``ray start`` last recorded on this machine (Ray's temporary folder: ``/tmp/ray/ray_current_cluster``).
    Ray has no public call for it: this is the one use of its internals here."""
    from ray._private.utils import read_ray_address

    return read_ray_address()


def _check_listening(address: str, option: str) -> None:
    """Refuse a ``HOST:PORT`` address where nothing answers (``option`` names it): Ray would try to reach it for ever."""
    host, _, port = address.rpartition(":")
    if not host or "://" in address or not port.isdigit():  # auto, local, ray://..., or a form Ray itself refuses
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise UnavailableError(f"{option}: nothing answers there ({error.strerror or error}); start the cluster's head "
                               "(ray start --head --port PORT) or give its address") from None


class RayBackend:
    """``rau batch --ray ADDRESS``'s backend: the cluster is joined (or started) when the run first needs it, by
    :meth:`prepare` or the first call, so that the output folder's checks, its lock and a run with nothing to do come first."""

    def __init__(self, address: str, engine_name: str, options: EngineOptions, workers: int | None, gpus_per_worker: float, cpus_per_worker: float):
        self.address, self.engine_name, self.options, self.workers = address, engine_name, options, workers
        self.gpus_per_worker, self.cpus_per_worker = gpus_per_worker, cpus_per_worker
        self.actors: int | None = None

    def prepare(self) -> None:
        """Join the cluster (once) and size the actors: :func:`connect`."""
        if self.actors is None:
            self.actors = connect(self.address, self.workers, self.gpus_per_worker, self.cpus_per_worker)

    def __call__(self, items, on_row) -> None:
        self.prepare()
        run_on_ray(items, self.engine_name, self.options, self.actors, self.gpus_per_worker, self.cpus_per_worker, on_row)


def run_on_ray(items, engine_name: str, options: EngineOptions, workers: int, gpus_per_worker: float, cpus_per_worker: float, on_row) -> None:
    """Run ``items`` on ``workers`` actors of the cluster :func:`connect` joined, one target per actor at a time.

    An actor that dies is replaced by a new one and its target run again, up to :data:`RETRIES` times for that
    target; then the target is reported failed and the run goes on.
    """
    import ray

    actor_class = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_restarts=0, max_task_retries=0)(RayWorker)
    places = {}  # actor -> where its process runs, asked before its first target

    def new_actor():
        actor = actor_class.remote(engine_name, options, share_of(cpus_per_worker))  # builds an engine; fits on the CPUs it holds
        places[actor] = actor.place.remote()
        return actor

    actors = [new_actor() for _ in range(min(workers, len(items)))]
    idle, queue, running, deaths = list(actors), list(items), {}, Counter()
    try:
        while queue or running:
            while queue and idle:
                actor, item = idle.pop(), queue.pop(0)
                running[actor.run.remote(item)] = (actor, item)
            done = _first_done(running)
            actor, item = running.pop(done)
            try:
                row = ray.get(done)
            except ray.exceptions.RayTaskError as error:  # a model that cannot be used (run_item raises nothing else): the run stops
                raise error.cause from None
            except ray.exceptions.RayActorError as error:
                if error.actor_init_failed:  # the engine cannot be built there: every worker would fail alike
                    cause = _creation_cause(error)
                    if cause is not None and not isinstance(cause, InputError):
                        raise cause  # a bug, reported as one
                    reason = str(cause) if cause is not None else _last_line(error.error_msg)
                    raise UnavailableError(f"a Ray worker could not start the {engine_name!r} engine: {reason}") from None
                ray.kill(actor)
                actor = new_actor()
                actors.append(actor)
                deaths[item.name] += 1
                if deaths[item.name] <= RETRIES:  # run it again, first
                    queue.insert(0, item)
                    idle.append(actor)
                    continue
                row = died_row(item, f"its Ray worker died {deaths[item.name]} times while running it (killed, or out of memory?)")
            idle.append(actor)
            on_row(row)
    finally:
        for actor in actors:
            ray.kill(actor)
        _wait_ended([places[actor] for actor, _ in running.values()])


class RayWorker(WarmWorker):
    """The Ray actor: a :class:`WarmWorker` that says where its process runs."""

    def place(self) -> tuple[str, int]:
        """The Ray node this actor runs on, and its process id."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()


def _wait_ended(places) -> None:
    """Wait for the processes at ``places`` (of :meth:`RayWorker.place`), killed as they ran a target, to end:
    ``ray.kill`` does not wait, and Ray reports an actor dead before its process ends, perhaps still placing its
    target's files, which the run's summary and cleanup, and the release of the folder, must come after. A process
    that never started a target (its ``place`` unanswered) wrote nothing."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    waiting = []
    for place in places:
        try:
            node, pid = ray.get(place, timeout=STOP_SECONDS)
        except ray.exceptions.RayError:  # the actor died (or never answered) before its first target: it wrote nothing
            continue
        on_node = NodeAffinitySchedulingStrategy(node, soft=False)
        waiting.append(ray.remote(num_cpus=0, max_retries=0)(_wait_process_ended).options(scheduling_strategy=on_node).remote(pid))
    try:
        ray.get(waiting, timeout=STOP_SECONDS)
    except ray.exceptions.RayError as error:  # the run's stop goes on: said, not raised over why it stopped
        warn(f"a stopped Ray worker could not be seen to end within {STOP_SECONDS:g} s ({_last_line(str(error))}); "
             "the files of the target it was segmenting may still be written")


def _wait_process_ended(pid: int) -> None:
    """Return once process ``pid`` of this machine has ended (gone, or on Linux a zombie left for its parent to reap)."""
    while True:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                if stat.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                    return
        except ProcessLookupError:
            return
        except FileNotFoundError:  # gone meanwhile, or no /proc here: asked again
            pass
        time.sleep(0.005)


def _first_done(running):
    """The first of the ``running`` tasks to finish. Ray's wait keeps an exception a signal handler raises (other than
    KeyboardInterrupt and SystemExit) until it returns, and then raises SystemError from it: rau's :class:`Terminated`
    (SIGTERM, see :mod:`rau.cli`) is raised as itself, within :data:`WAIT_SECONDS`."""
    import ray

    while True:
        try:
            done, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_SECONDS)
        except SystemError as error:
            if isinstance(error.__cause__, Terminated):
                raise error.__cause__ from None
            raise
        if done:
            return done[0]


def _creation_cause(error) -> Exception | None:
    """The exception an actor's creation task raised (None where Ray kept only its text)."""
    import ray

    cause = next((getattr(arg, "cause", None) for arg in error.args if isinstance(arg, ray.exceptions.RayTaskError)), None)
    return cause if isinstance(cause, Exception) else None


def _last_line(text: str) -> str:
    """The last line of Ray's message (the exception), without its terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()[-1]
