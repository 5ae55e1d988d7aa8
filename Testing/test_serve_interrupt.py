"""SIGINT (Ctrl-C) stops ``rau serve`` as it stops every rau command, exit status 130 and "rau serve: cancelled",
also where it was started with SIGINT ignored, as a shell script's background job (``rau serve &``) is: uvicorn stops on
it all the same (a real server process, sent no request)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest


@pytest.mark.parametrize("inherited", [signal.SIG_DFL, signal.SIG_IGN])
def test_sigint_exits_130_saying_cancelled(tmp_path, inherited):
    """Before: started with SIGINT ignored, the server stopped on it and exited 0 saying nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "log.txt"
    with open(log, "w") as logged:
        server = subprocess.Popen([sys.executable, "-m", "rau.cli", "serve", "--port", str(port)], stdout=logged, stderr=logged,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, inherited))
        try:
            deadline = time.monotonic() + 120
            while "Application startup complete." not in log.read_text() and server.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)  # started, as its log says: no request is sent
            server.send_signal(signal.SIGINT)
            status = server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    said = log.read_text()
    assert "Application startup complete." in said, said
    assert status == 130 and said.rstrip().endswith("rau serve: cancelled"), (status, said)
