"""A real ``rau serve`` (uvicorn) on 127.0.0.1 with a free port, in a thread, for tests and benchmarks;
and a fixture that makes the registration engine deterministic for the tests comparing outputs."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time


@contextlib.contextmanager
def running_server(config):
    """Yield ``(url, app)`` for a server with ``config``; it stops (and its job threads end) on exit."""
    import uvicorn

    from rau.serve.app import create_app, uvicorn_config

    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, log_level="warning", lifespan="on"))
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


@contextlib.contextmanager
def serve_process(work_dir, *arguments: str, env=None, output=None, log=None, stop=signal.SIGTERM):
    """Yield the URL of ``rau serve`` running as its own process on a free loopback port (as deployed);
    ``work_dir`` None: the server's own temporary one; ``output``: a file that gets what it prints, ``log``: one that
    gets what it logs (its standard error). Leaving stops it with the signal ``stop``."""
    import subprocess
    import sys

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    work = ["--work-dir", str(work_dir)] if work_dir is not None else []
    command = [sys.executable, "-m", "rau.cli", "serve", "--port", str(port), *work, *arguments]
    printed = open(output, "w") if output else subprocess.DEVNULL
    logged = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=printed, stderr=logged, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:  # any answer says it listens; /v1/info would wait for torch (the device it names), seconds a test may not need
                requests.get(f"{url}/v1/jobs/{'0' * 32}", timeout=120)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rau serve did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(stop)
        process.wait(timeout=60)
        for file in (printed, logged):
            if file is not subprocess.DEVNULL:
                file.close()
