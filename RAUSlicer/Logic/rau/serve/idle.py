"""Requests whose body stalls: answered 408 once nothing came for a while, whatever the route; those whose body is
still coming when a stopping server closes them: answered 503; a client that goes away before its body is whole is
logged in one line."""

from __future__ import annotations

import asyncio

from rau.serve.jobs import LOG


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
    """ASGI middleware: while a request's body is still coming, a wait of more than ``seconds`` for its next part
    raises FastAPI's ``HTTPException(408)``, and one still waiting once ``closing`` closed the bodies its
    ``HTTPException(503)``, which the route's error handling answers (nothing was done; uvicorn would cancel the request
    instead, answering 500 as for a bug). A client that disconnects is logged as such (the route then fails on a body
    it cannot read; nobody is left to answer). Once the body is whole, waits are the framework's (a download listens
    for the client's disconnect as long as it lasts)."""

    def __init__(self, app, seconds: float, closing: ClosingBodies):
        self.app, self.seconds, self.closing = app, seconds, closing

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from fastapi import HTTPException

        whole = False

        async def timed_receive():
            nonlocal whole
            if whole:
                return await receive()
            receiving, closed = asyncio.ensure_future(receive()), self.closing.closed()
            try:
                done, _ = await asyncio.wait({receiving, closed}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:
                receiving.cancel()
                raise
            if receiving not in done:
                receiving.cancel()
                if closed.done():
                    LOG.warning("%s %s: the server shut down before the request's body ended", scope["method"], scope["path"])
                    raise HTTPException(503, "the server shut down before the request's body ended; nothing was done: "
                                             "send it again once the server is back")
                raise HTTPException(408, f"the request's body stalled: nothing came for {self.seconds:g} s; nothing was done: "
                                         "send it again")
            message = receiving.result()
            if message["type"] == "http.disconnect":
                LOG.warning("%s %s: the client disconnected before its request was read", scope["method"], scope["path"])
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
