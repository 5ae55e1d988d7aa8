"""Correction sessions kept on the server: idle expiry, a bound on their number and on their memory.

A session is a finished job's :class:`~rau.result.Result` with its engine session
(:class:`rau.session.Session`: ``reprompt(name, prompt)``, ``propagate(name)``, ``undo(name)``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from rau.engines.base import Prompt
from rau.errors import InputError
from rau.labels import names_in_words
from rau.result import Result, StructureResult
from rau.serve.limits import MAX_SESSION_BYTES, MAX_SESSIONS, SESSION_IDLE_SECONDS
from rau.serve.wire import check_fields, mask_from_json, prompt_from_json
from rau.session import Session
from rau.held_memory import distinct_bytes

LOG = logging.getLogger("rau.serve")


class SessionGone(KeyError):
    """The session does not exist (any more); the message says why."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class Entry:
    """One kept session."""

    result: Result
    nbytes: int
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


def result_nbytes(result: Result) -> int:
    """Memory a session holds, estimated: its target and masks, and what its engine session keeps besides
    (:meth:`rau.session.Session.held_bytes`: its answers where they are not the result's, the answers undo keeps; SAM2's
    reference images, cached features and memory), each distinct array once (:func:`rau.held_memory.distinct_bytes`)."""
    held = result.session.held_bytes(besides=result) if isinstance(result.session, Session) else 0
    return int(distinct_bytes(result) + held)


UNKNOWN_SESSION = ("is not known to this server (it restarted since the run, the session was closed long ago, or the id is "
                   "another server's)")
"""What a request for a well-formed session id the server holds no reason for is told, after the id."""


class SessionStore:
    """Sessions by id; the least recently used go first when there are too many or they hold too much."""

    def __init__(self, idle_seconds: float = SESSION_IDLE_SECONDS, max_sessions: int = MAX_SESSIONS, max_bytes: int = MAX_SESSION_BYTES,
                 clock=time.monotonic, on_close=None):
        """``on_close(session_id)`` is called when a session is closed, for whatever reason (its engine state is gone)."""
        self.idle_seconds, self.max_sessions, self.max_bytes, self.clock = idle_seconds, max_sessions, max_bytes, clock
        self.on_close = on_close
        self._closed: list[str] = []  # closed since on_close was last called
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session_id: str, result: Result) -> bool:
        """Keep ``result``'s session; False when it alone exceeds the memory bound (then it is not kept)."""
        nbytes = result_nbytes(result)
        if nbytes > self.max_bytes:
            with self._lock:
                self._remember(session_id, f"never opened: its result needs {nbytes / 2**30:.3g} GiB, more than the "
                                           f"{self.max_bytes / 2**30:.3g} GiB the server keeps for sessions (rau serve --max-session-gb)")
            return False
        with self._announcing(), self._lock:
            self._expire()
            while self._entries and (len(self._entries) >= self.max_sessions or self.total_bytes() + nbytes > self.max_bytes):
                oldest = next(iter(self._entries))
                self._forget(oldest, "it was the least recently used when the server needed room for a new one")
            self._entries[session_id] = Entry(result, nbytes, self.clock())
        return True

    def get(self, session_id: str) -> Entry:
        """The session, marked as used now; raises :class:`SessionGone` saying why it is not there."""
        with self._announcing(), self._lock:
            self._expire()
            if session_id not in self._entries:
                said = self._gone.get(session_id)
                raise SessionGone(f"session {session_id} {said or UNKNOWN_SESSION}")
            entry = self._entries[session_id]
            entry.last_used = self.clock()
            self._entries.move_to_end(session_id)
            return entry

    def closed_reason(self, session_id: str) -> str | None:
        """What a request for the session, gone, is told after its id (``was closed: ...``); None when not known."""
        with self._lock:
            return self._gone.get(session_id)

    def expire(self) -> None:
        """Close the sessions idle for longer than allowed now (closing is otherwise done when a session is asked for)."""
        with self._announcing(), self._lock:
            self._expire()

    def remove(self, session_id: str, reason: str = "the client closed it") -> None:
        """Forget a session (raises :class:`SessionGone` when there is none)."""
        self.get(session_id)
        with self._announcing(), self._lock:
            self._forget(session_id, reason)

    def total_bytes(self) -> int:
        """The estimated memory of all open sessions (:func:`result_nbytes`)."""
        return sum(entry.nbytes for entry in self._entries.values())

    def __len__(self) -> int:
        with self._announcing(), self._lock:
            self._expire()
            return len(self._entries)

    @contextlib.contextmanager
    def _announcing(self):
        """Call ``on_close`` for the sessions closed inside, once the store's lock is free (it may write files);
        its errors are logged, not raised."""
        try:
            yield
        finally:
            with self._lock:
                closed, self._closed = self._closed, []
            for session_id in closed if self.on_close is not None else ():
                try:
                    self.on_close(session_id)
                except Exception:
                    LOG.error("closing session %s:\n%s", session_id, traceback.format_exc())

    def _expire(self) -> None:
        now = self.clock()
        for session_id in [s for s, e in self._entries.items() if now - e.last_used > self.idle_seconds]:
            self._forget(session_id, f"it was idle for more than {self.idle_seconds:g} s")

    def _forget(self, session_id: str, reason: str) -> None:
        entry = self._entries.pop(session_id, None)
        if entry is not None:  # the engine's state goes; its job keeps what downloads need (see _announcing)
            entry.result.session = None
            self._closed.append(session_id)
        self._remember(session_id, f"was closed: {reason}")

    def _remember(self, session_id: str, said: str) -> None:
        """Keep what a request for the session, gone, is told after its id (``was closed: ...``)."""
        self._gone[session_id] = said
        while len(self._gone) > 1000:
            self._gone.popitem(last=False)


CORRECTION_FIELDS = {"reprompt": ("structure", "prompt", "overwrite"), "edit": ("structure", "mask"),
                     "propagate": ("structure",), "undo": ("structure",),
                     "gave_way": ("structure", "mask"), "gave_up": ("structure", "taker", "mask")}
"""The fields of each correction's request body."""
WRITTEN_ELSEWHERE = ("gave_way", "gave_up")
"""The actions that tell the session how a client wrote the last correction by its own rule (the Slicer module's node):
:meth:`rau.session.Session.gave_way` and :meth:`rau.session.Session.gave_up`."""


def read_correction(entry: Entry, action: str, name: str, body: dict):
    """The structure ``name`` as the session spells it (matched as :meth:`rau.result.Result.named` matches, as
    ``rau correct`` does), then what the action takes read from the request ``body``: a ``reprompt``'s ``prompt``
    (:func:`rau.serve.wire.prompt_from_json`), an ``edit``'s or ``gave_way``'s ``mask`` (:func:`rau.serve.wire.mask_from_json`),
    a ``gave_up``'s ``taker`` (another structure) and ``mask``, before the correction waits for the device: a wrong name is named first,
    whatever the rest."""
    result = entry.result
    name = structure_named(result, name)
    check_fields(body, CORRECTION_FIELDS[action], action)
    if action == "reprompt":
        overwrite = body.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise InputError(f"reprompt: overwrite must be true or false, got {overwrite!r:.40}")
        return name, (prompt_from_json(body.get("prompt") or {}, result.target), overwrite)
    if action in ("edit", *WRITTEN_ELSEWHERE) and "mask" not in body:
        raise InputError(f"{action}: give the {'edited' if action == 'edit' else 'written'} mask as 'mask' (null for an empty one)")
    if action == "edit" or action == "gave_way":
        return name, mask_from_json(body["mask"], result.target.shape)
    if action == "gave_up":
        if not isinstance(body.get("taker"), str):
            raise InputError("gave_up: give the name of the structure that took the voxels as 'taker'")
        taker = structure_named(result, body["taker"])
        if taker == name:
            raise InputError(f"gave_up: taker {body['taker']!r} is {name!r} itself; give the other structure that took its voxels")
        return name, (taker, mask_from_json(body["mask"], result.target.shape))
    return name, None


def structure_named(result: Result, name: str) -> str:
    """The structure ``name`` as the session spells it (matched as :meth:`rau.result.Result.named` matches); refuses
    one the session does not have, naming those it has."""
    try:
        return result.named(name).structure.name
    except KeyError:
        raise InputError(f"no structure {name!r} in this session; it has: {names_in_words([s.structure.name for s in result.structures])}") from None


def correct(entry: Entry, action: str, name: str, given: tuple[Prompt, bool] | tuple[str, np.ndarray] | np.ndarray | None = None) -> list[StructureResult]:
    """Apply ``reprompt`` (``given``: the prompt and whether its answer may take other structures' voxels), ``edit`` (``given``: the user's hand-edited mask, from which later
    corrections start, taken as :meth:`rau.session.Session.edit` takes it and held in the result as given: voxels it paints
    over another structure are in both, as in a ``.seg.nrrd``'s layers), ``propagate``, ``undo``, ``gave_way`` or ``gave_up`` (:func:`written_elsewhere`) to one
    structure, as :func:`read_correction` read them.

    Returns the session's new answer for every structure it changed (``Session.changed``), that one first (a client
    such as the Slicer module writes it by its own overwrite rule). The result (what downloads carry) takes them as
    ``rau correct`` writes them: the corrected one gives way (unless the reprompt asked to overwrite); and the session goes on from what the result took, so a
    chain of ``rau correct`` runs gives what the same corrections give here.
    """
    with entry.lock:
        result, session = entry.result, entry.result.session
        if session is None:  # closed (expired, evicted) since it was looked up
            raise SessionGone("the session was closed while the correction waited")
        answers = apply_correction(result, session, action, name, given)
        entry.nbytes = result_nbytes(result)  # its answers, features and undo grow: counted when the server next needs room
        return answers


def apply_correction(result: Result, session: Session, action: str, name: str, given) -> list[StructureResult]:
    """Apply ``action`` to ``result`` and its ``session`` as :func:`correct` says; returns the session's new answers for the
    structures it changed, that one first."""
    if action in WRITTEN_ELSEWHERE:
        return [written_elsewhere(result, session, action, name, given)]
    if action == "edit":
        session.edit(name, given)  # as a session here takes it, and the result holds it so (before: gave way to the others)
        return [result.hold(session.results[name])]
    overwrite = action == "reprompt" and given[1]
    if action == "undo":
        item = session.undo(name)
    elif action == "reprompt":
        item = session.reprompt(name, given[0], overwrite=overwrite)
    else:
        item = session.propagate(name)
    answers = [session.results[changed] for changed in session.changed]
    result.put_correction(item, session, overwrite)  # later corrections start from what was written, as rau correct's do
    return answers


def written_elsewhere(result: Result, session: Session, action: str, name: str, given) -> StructureResult:
    """A client wrote the last correction by its own rule (the Slicer module's node) and says how ``name`` ended
    (``given``: a ``gave_way``'s mask, a ``gave_up``'s taker and mask): the session goes on as the client's session does
    (the same :class:`~rau.session.Session` method), and the result holds its answer as it is, so downloads hold what
    the client holds. ``session`` is the result's, taken before a close could take it. Returns that answer."""
    if action == "gave_way":
        session.gave_way(name, given)
    else:
        session.gave_up(given[0], name, given[1])
    return result.hold(session.results[name])
