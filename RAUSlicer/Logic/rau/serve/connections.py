"""What one connection to ``rau serve`` may hold: uvicorn's HTTP/1.1 protocol (h11) with two bounds of its own
(:func:`guarded_protocol`). A connection that has not sent a request's complete headers within ``header_seconds`` is
closed (answered 408 if it began one); beyond :func:`connection_limit` open connections a new one is answered 503 and
closed at once. Each is logged in one line at most once a minute (:class:`RareWarning`), not once a connection.

uvicorn (0.54) has neither: its keep-alive timeout counts only once a response was sent, and its ``limit_concurrency``
answers 503 only once a request's headers came. So connections that never sent them each held a file descriptor until
the process had none left; then asyncio logged every failed accept, megabytes a second."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus

from rau.serve.jobs import LOG

HEADER_SECONDS = 20.0
"""How long a connection may take to send a request's headers (a few hundred bytes), from when it opened or its last
answer was sent: a client on any network sends them at once."""
MAX_CONNECTIONS = 100
"""The most connections open at once (a clinician's Slicer holds one or two, a script one), unless the process's
open-file limit takes fewer (:func:`connection_limit`)."""
RARE_SECONDS = 60
"""How often a :class:`RareWarning` is logged at most."""


def open_file_limit() -> int | None:
    """How many files (sockets included) this process may open; None where unlimited or not told (Windows)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def connection_limit(wanted: int, open_files: int | None) -> int:
    """The most connections a server keeps open whose process may open ``open_files`` files (None: no limit):
    ``wanted``, but at most a quarter of those files. Each connection may hold a socket and an upload spooled to a
    temporary file; the rest is for the server's own files (a macOS Slicer's default limit is 256: 64 connections)."""
    return wanted if open_files is None else max(1, min(wanted, open_files // 4))


class RareWarning:
    """A warning of a condition that may come many times a second (a client opening connections in a loop): logged the
    first time, then at most once per :data:`RARE_SECONDS`, saying how many times it came since it was last said."""

    def __init__(self, message: str, clock=time.monotonic):
        self.message, self.clock = message, clock
        self.said_at: float | None = None
        self.unsaid = 0

    def happened(self) -> None:
        now = self.clock()
        if self.said_at is None:
            LOG.warning("%s (said at most once a minute)", self.message)
        elif now - self.said_at < RARE_SECONDS:
            self.unsaid += 1
            return
        elif self.unsaid:
            LOG.warning("%s (%d times since it was last said)", self.message, self.unsaid + 1)
        else:
            LOG.warning("%s", self.message)
        self.said_at, self.unsaid = now, 0


@dataclass
class ConnectionLimits:
    """The bounds every connection of one server keeps, and their warnings (shared, so they are rare server-wide)."""

    header_seconds: float
    max_connections: int
    why: str = ""
    """Why ``max_connections`` is lower than the operator's (the open-file limit), for the log."""
    too_many: RareWarning = field(init=False)
    too_slow: RareWarning = field(init=False)

    def __post_init__(self):
        self.too_many = RareWarning(f"{self.max_connections} connections are open, as many as the server takes{self.why}: "
                                    "new ones are answered 503 until some close")
        self.too_slow = RareWarning(f"closed a connection that sent no complete request headers within "
                                    f"{self.header_seconds:g} s")


def guarded_http(header_seconds: float, max_connections: int):
    """uvicorn's ``http`` setting: its h11 protocol with these bounds (:func:`guarded_protocol`), ``max_connections``
    lowered to what the process's open-file limit allows (:func:`connection_limit`)."""
    open_files = open_file_limit()
    most = connection_limit(max_connections, open_files)
    why = f" (a quarter of its open-file limit, {open_files}: `ulimit -n` raises it)" if most < max_connections else ""
    limits = ConnectionLimits(header_seconds, most, why)
    return functools.partial(guarded_protocol(), limits=limits)


@functools.cache
def guarded_protocol() -> type:
    """uvicorn's h11 protocol, refusing a connection beyond ``limits.max_connections`` (503) and closing one that has sent
    no complete request headers ``limits.header_seconds`` after it opened or its last answer was sent (408 if it began
    one, else without a word, as uvicorn closes an idle connection). A class made here, as uvicorn is imported only once
    a server starts: ``rau`` works without it."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def __init__(self, *args, limits: ConnectionLimits, **kwargs):
            super().__init__(*args, **kwargs)
            self.limits = limits
            self.header_timer = None

        def connection_made(self, transport) -> None:
            full = len(self.connections) >= self.limits.max_connections
            super().connection_made(transport)
            if full:
                self.limits.too_many.happened()
                self.answer_and_close(503, f"the server has as many connections open as it takes "
                                           f"({self.limits.max_connections}); nothing was done: try again in a minute")
            else:
                self.wait_for_headers()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self.wait_for_headers()

        def connection_lost(self, exc) -> None:
            self.stop_waiting()
            super().connection_lost(exc)

        def wait_for_headers(self) -> None:
            self.stop_waiting()
            self.header_timer = self.loop.call_later(self.limits.header_seconds, self.headers_too_slow)

        def stop_waiting(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_too_slow(self) -> None:
            self.header_timer = None
            serving = self.cycle is not None and not self.cycle.response_complete
            if serving or self.transport.is_closing():  # its headers came: its body and its answer have their own rules
                return
            self.limits.too_slow.happened()
            if self.conn.trailing_data[0]:  # a request begun
                self.answer_and_close(408, f"the request's headers did not all come within "
                                           f"{self.limits.header_seconds:g} s; nothing was done: send the request again")
            else:  # none: a 408 could pass for the answer to a request the client is sending now
                self.transport.close()

        def answer_and_close(self, status: int, detail: str) -> None:
            """Answer ``status`` with ``detail`` (JSON, as the app's refusals) whatever the client sent, and close."""
            body = json.dumps({"detail": detail}).encode()
            self.transport.write(f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
                                 f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
            self.transport.close()

    return GuardedH11Protocol
