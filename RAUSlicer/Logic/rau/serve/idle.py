"""Requests whose body stalls: answered 408 once nothing came for a while, whatever the route."""

from __future__ import annotations

import asyncio


class StalledBodyTimeout:
    """ASGI middleware: while a request's body is still coming, a wait of more than ``seconds`` for its next part
    raises FastAPI's ``HTTPException(408)``, which the route's error handling answers (nothing was done). Once the
    body is whole, waits are the framework's (a download listens for the client's disconnect as long as it lasts)."""

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
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
