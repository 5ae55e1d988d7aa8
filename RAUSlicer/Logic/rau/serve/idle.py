"""Requests whose body stalls: answered 408 once nothing came for a while, whatever the route; a client that goes
away before its body is whole is logged in one line."""

from __future__ import annotations

import asyncio

from rau.serve.jobs import LOG


class StalledBodyTimeout:
    """ASGI middleware: while a request's body is still coming, a wait of more than ``seconds`` for its next part
    raises FastAPI's ``HTTPException(408)``, which the route's error handling answers (nothing was done), and a client
    that disconnects is logged as such (the route then fails on a body it cannot read; nobody is left to answer). Once
    the body is whole, waits are the framework's (a download listens for the client's disconnect as long as it lasts)."""

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from fastapi import HTTPException

        whole = False

        async def timed_receive():
            nonlocal whole
            if whole:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except asyncio.TimeoutError:
                raise HTTPException(408, f"the request's body stalled: nothing came for {self.seconds:g} s; nothing was done: "
                                         "send it again") from None
            if message["type"] == "http.disconnect":
                LOG.warning("%s %s: the client disconnected before its request was read", scope["method"], scope["path"])
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
