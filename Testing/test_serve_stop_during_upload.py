"""A ``rau serve`` process told to stop (SIGTERM) while an upload is still coming slowly, longer than the 10 s it
gives open requests (a CT over a slow VPN while the operator restarts the server): real process, real HTTP on loopback."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time

import pytest

from serve_helpers import serve_process
from test_serve import finished_job

from rau.serve.client import Client

CHUNK, PAUSE = 4096, 0.05
"""How the body comes: at 80 KiB/s its announced size (below) would take well over the 10 s a stopping server gives."""


JOB = ("/v1/jobs", "multipart/form-data; boundary=x",
       b'--x\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{"engine": "registration"}\r\n'
       b'--x\r\nContent-Disposition: form-data; name="target"; filename="ct.nii.gz"\r\n'
       b"Content-Type: application/octet-stream\r\n\r\n", 3_000_000)
HAND_EDIT = ("/v1/sessions/{job}/edit", "application/json", b'{"structure": "left", "mask": "', 1_000_000)
"""Each request's path (``{job}``: a finished job's, whose session is open, as a correction's body is read for an open
session only), Content-Type, the start of its body (then zeros) and its announced size (a hand edit's within what the
session takes, 1 MiB and a mask of its 64 x 64 target)."""


def slow_upload(host: str, port: int, path: str, content_type: str, start: bytes, length: int) -> tuple[int, dict]:
    """POST a body that comes in slow chunks until the server answers; the answer's status and JSON."""
    with socket.create_connection((host, port), timeout=60) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n".encode()
                           + f"Content-Type: {content_type}\r\n\r\n".encode() + start)
        sent = len(start)
        while sent < length and not select.select([connection], [], [], PAUSE)[0]:  # until the server answers
            connection.sendall(bytes(min(CHUNK, length - sent)))
            sent += CHUNK
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # closed with the body unread: the answer came before
            while chunk := connection.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if b"application/json" in head else body.decode()


@pytest.mark.parametrize("request_", [JOB, HAND_EDIT], ids=["job", "hand edit"])
def test_an_upload_still_coming_when_a_stopping_server_closes_is_answered_503_without_a_traceback(tmp_path, request_):
    """Before: uvicorn cancelled the request 10 s into the stop; the client got "500 Internal Server Error" (plain text,
    as a bug is answered) and the log "Exception in ASGI application" with a CancelledError's traceback."""
    answers = []
    path, content_type, start, length = request_
    with serve_process(tmp_path / "work", log=tmp_path / "serve.log") as url:
        path = path.format(job=finished_job(Client(url), tmp_path)) if "{job}" in path else path
        kept = sorted((tmp_path / "work/jobs").glob("*/*"))
        host, port = url.removeprefix("http://").split(":")
        uploading = threading.Thread(target=lambda: answers.append(slow_upload(host, int(port), path, content_type, start, length)), daemon=True)
        uploading.start()
        time.sleep(1)
        stopped = time.monotonic()
    stopping_took = time.monotonic() - stopped
    uploading.join(timeout=60)
    log = (tmp_path / "serve.log").read_text()
    assert answers == [(503, {"detail": "the server shut down before the request's body ended; nothing was done: send it "
                                        "again once the server is back"})], log
    assert "Traceback" not in log and "Exception in ASGI application" not in log and "Cancel" not in log, log
    assert "Application shutdown complete." in log and stopping_took < 15  # it stops as it did, within its 10 s
    assert sorted((tmp_path / "work/jobs").glob("*/*")) == kept  # nothing was queued or kept
