"""Requests whose body comes too slowly: answered 408 once nothing came for a while or the body is late overall
(:class:`BodyPace`), whatever the route; those whose body is still coming when a stopping server closes them: answered
503; a client that goes away before its body is whole is logged in one line."""

from __future__ import annotations

import asyncio

from rau.serve.jobs import LOG

UPLOAD_IDLE_SECONDS = 60.0
UPLOAD_MIN_RATE = 16 * 2**10
"""How fast a request's body must come (``ServerConfig.upload_idle_seconds`` and ``upload_min_rate``, the rule of
:class:`BodyPace`): never silent for a minute, and in all within a minute plus a second per 16 KiB (128 kbit/s, a
poor mobile link's; 3 min for a 2 MiB hand edit, 33 min for a 30 MiB CT)."""


class BodyPace:
    """The one rule for how fast a request's body of ``length`` bytes must come, from when the route first reads it:
    nothing may come for at most ``idle_seconds`` at a time, and the whole body within ``idle_seconds`` plus a second
    per ``min_rate`` bytes (a body trickled a byte at a time held its connection and its place in the queue as long as
    the client went on). :meth:`wait` says how long the next part may take, :meth:`too_slow` why it came too late."""

    def __init__(self, length: int, idle_seconds: float, min_rate: float, clock):
        self.length, self.idle_seconds, self.min_rate, self.clock = length, idle_seconds, min_rate, clock
        self.allowed = idle_seconds + length / min_rate
        self.started = clock()
        self.received = 0
        self.at_deadline = False

    def wait(self) -> float:
        """How long the next part of the body may take to come."""
        left = self.started + self.allowed - self.clock()
        self.at_deadline = left < self.idle_seconds  # this wait ends with the time for the whole body
        return max(0.0, min(self.idle_seconds, left))

    def came(self, size: int) -> None:
        self.received += size

    def too_slow(self) -> str:
        """Why the body is refused (408), the next part not having come within :meth:`wait`."""
        if not self.at_deadline:
            return f"the request's body stalled: nothing came for {self.idle_seconds:g} s; nothing was done: send it again"
        took = self.clock() - self.started
        return (f"the request's body came too slowly: {self.received} of {self.length} bytes in {took:.0f} s, where the "
                f"server waits {self.idle_seconds:g} s plus a second per {self.min_rate:g} bytes ({self.allowed:.0f} s "
                "for this one); nothing was done: send it again over a faster connection")


class ClosingBodies:
    """When a stopping server stops waiting for the request bodies still coming (:meth:`close_in`)."""

    def __init__(self):
        self._closed: asyncio.Future | None = None

    def closed(self) -> asyncio.Future:
        """Done once the bodies still coming are closed; on the server's event loop."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        return self._closed

    def close_in(self, seconds: float) -> None:
        """Close the bodies still coming in ``seconds``; on the event loop's thread (in its signal handler too)."""
        loop = asyncio.get_running_loop()
        loop.call_soon_threadsafe(loop.call_later, seconds, self._close)

    def _close(self) -> None:
        if not self.closed().done():
            self.closed().set_result(None)


class BodyTimeouts:
    """ASGI middleware: while a request's body is still coming, a wait for its next part longer than :class:`BodyPace`
    allows (``idle_seconds``, ``min_rate``) raises FastAPI's ``HTTPException(408)``, and one still waiting once
    ``closing`` closed the bodies its ``HTTPException(503)``, which the route's error handling answers (nothing was done; uvicorn would cancel the request
    instead, answering 500 as for a bug). A client that disconnects is logged as such (the route then fails on a body
    it cannot read; nobody is left to answer). Once the body is whole, waits are the framework's (a download listens
    for the client's disconnect as long as it lasts)."""

    def __init__(self, app, idle_seconds: float, min_rate: float, closing: ClosingBodies):
        self.app, self.idle_seconds, self.min_rate, self.closing = app, idle_seconds, min_rate, closing

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from fastapi import HTTPException

        whole, pace = False, None

        async def timed_receive():
            nonlocal whole, pace
            if whole:
                return await receive()
            if pace is None:  # the body's first read: the time until then is the server's
                length = int(dict(scope["headers"]).get(b"content-length", 0))  # h11 checked it; chunked bodies are refused
                pace = BodyPace(length, self.idle_seconds, self.min_rate, asyncio.get_running_loop().time)
            receiving, closed = asyncio.ensure_future(receive()), self.closing.closed()
            try:
                done, _ = await asyncio.wait({receiving, closed}, timeout=pace.wait(), return_when=asyncio.FIRST_COMPLETED)
            except BaseException:
                receiving.cancel()
                raise
            if receiving not in done:
                receiving.cancel()
                if closed.done():
                    LOG.warning("%s %s: the server shut down before the request's body ended", scope["method"], scope["path"])
                    raise HTTPException(503, "the server shut down before the request's body ended; nothing was done: "
                                             "send it again once the server is back")
                raise HTTPException(408, pace.too_slow())
            message = receiving.result()
            pace.came(len(message.get("body", b"")))
            if message["type"] == "http.disconnect":
                LOG.warning("%s %s: the client disconnected before its request was read", scope["method"], scope["path"])
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
