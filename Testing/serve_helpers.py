"""A real ``rau serve`` (uvicorn) on 127.0.0.1 with a free port, in a thread, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


@contextlib.contextmanager
def running_server(config):
    """Yield ``(url, app)`` for a server with ``config``; it stops (and its job threads end) on exit."""
    import uvicorn

    from rau.serve.app import create_app

    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("rau serve did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
