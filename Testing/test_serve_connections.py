"""What a ``rau serve`` connection may hold: a connection that sends no complete request headers in time is closed, the
open connections are bounded below the open-file limit, and a request body that comes too slowly overall is answered
408; real HTTP on loopback, with short limits (one server for the module)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import select
import socket
import time

import pytest
import requests

from rau.serve.app import ServerConfig
from rau.serve.connections import RareWarning, connection_limit
from serve_helpers import running_server

LIMITS = {"header_seconds": 1.0, "max_connections": 8, "upload_idle_seconds": 1.0, "upload_min_rate": 1000,
          "max_queued_jobs": 1}
"""The module's server: a second for a request's headers, 8 connections, a body silent for a second at most and coming at
1000 bytes/s on average after that second, one place in the queue (the trickled upload holds it)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(ServerConfig(work_dir=tmp_path_factory.mktemp("connections") / "work", **LIMITS)) as (url, app):
        host, port = url.removeprefix("http://").split(":")
        yield url, (host, int(port)), app


def served(url: str) -> bool:
    """Whether the app answers a request (one that needs no engine: the first ``/v1/info`` imports PyTorch)."""
    answered = requests.get(f"{url}/v1/jobs/{'0' * 32}", timeout=4)
    return answered.status_code == 404 and "no job" in answered.json()["detail"]


def answer(connection: socket.socket) -> tuple[int | None, dict | None]:
    """The status and JSON of the answer the server sent on ``connection``; ``(None, None)`` if it closed it without one
    (the socket's timeout raises)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _length(received):
            if not (chunk := connection.recv(65536)):
                break
            received += chunk
    if not received:
        return None, None
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _length(received: bytes) -> int:
    """The Content-Length of the answer whose head is in ``received``."""
    return int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", received).group(1))


def answered_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server answers ``connection`` (or closes it) within ``seconds``, leaving the answer to be read."""
    connection.settimeout(seconds)
    try:
        connection.recv(1, socket.MSG_PEEK)
        return True
    except TimeoutError:
        return False
    finally:
        connection.settimeout(4)


def test_connections_that_send_no_complete_headers_are_closed_after_the_limit_while_requests_go_on(server):
    """Before: a connection that never finished its request's headers held its file descriptor for as long as the client
    kept it open (uvicorn's keep-alive timeout counts only after a response); 300 under ``ulimit -n 256`` stopped the
    server, which then logged "Too many open files" about 1.4 MB/s."""
    url, address, _ = server
    idle = [socket.create_connection(address, timeout=4) for _ in range(6)]  # of the 8 the server takes
    begun = idle[3:]
    for connection, start in zip(begun, (b"GET /v1/info HTTP/1.1\r\n", b"POST /v1/jobs HTTP/1.1\r\nHost: x", b"G")):
        connection.sendall(start)  # headers begun, never ended
    opened = time.monotonic()
    assert served(url)  # the server goes on meanwhile
    for connection in idle:
        with connection:
            if connection in begun:
                assert answer(connection) == (408, {"detail": "the request's headers did not all come within 1 s; "
                                                              "nothing was done: send the request again"})
            else:  # nothing begun: closed without a word, as uvicorn closes an idle connection
                assert answer(connection) == (None, None)
    assert 0.9 < time.monotonic() - opened < 3


def test_connections_beyond_the_limit_are_refused_503_in_one_log_line_until_some_close(server, caplog):
    """Before: the server accepted connections until the process had no file descriptor left; asyncio then logged each
    failed accept with its traceback (megabytes a second) and the server answered nobody."""
    url, address, _ = server
    caplog.set_level(logging.WARNING, logger="rau.serve")
    opened = [socket.create_connection(address, timeout=4) for _ in range(LIMITS["max_connections"] + 4)]
    try:
        time.sleep(0.3)  # a refusal comes at once, the closing of an idle connection after a second
        refused = select.select(opened, [], [], 0)[0]
        assert len(refused) >= 4  # the module's other requests' connections are closed, or closing
        for connection in refused:
            assert answer(connection) == (503, {"detail": "the server has as many connections open as it takes (8); "
                                                          "nothing was done: try again in a minute"})
        said = [record.getMessage() for record in caplog.records if "as many as the server takes" in record.getMessage()]
        assert said == ["8 connections are open, as many as the server takes: new ones are answered 503 until some "
                        "close (said at most once a minute)"]
    finally:
        for connection in opened:
            connection.close()
    deadline = time.monotonic() + 3
    while not served(url):  # once the server saw them close
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_an_upload_that_comes_too_slowly_overall_is_answered_408_and_frees_its_queue_place(server):
    """Before: a body trickled a byte at a time, each within the 60 s a body may be silent, held its connection and its
    place in the queue for as long as the client went on."""
    url, address, _ = server
    start = (b'--x\r\nContent-Disposition: form-data; name="target"; filename="t.mha"\r\n'
             b"Content-Type: application/octet-stream\r\n\r\n")
    length = 1000  # at 1000 bytes/s after its first second: 2 s in all
    with socket.create_connection(address, timeout=4) as connection:
        connection.sendall(f"POST /v1/jobs HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\nContent-Length: {length}\r\n"
                           "Content-Type: multipart/form-data; boundary=x\r\n\r\n".encode() + start)
        began = time.monotonic()
        while time.monotonic() - began < 4 and not answered_within(connection, 0.25):  # never silent for a second
            connection.sendall(b"\0")
        took = time.monotonic() - began
        status, said = answer(connection)
    assert status == 408 and 1.8 < took < 3, (status, said, took)
    assert re.fullmatch(r"the request's body came too slowly: \d+ of 1000 bytes in 2 s, where the server waits 1 s plus a "
                        r"second per 1000 bytes \(2 s for this one\); nothing was done: send it again over a faster "
                        r"connection", said["detail"]), said
    not_a_form = requests.post(f"{url}/v1/jobs", data=b"not read", timeout=4)  # its place in the queue is free again
    assert not_a_form.status_code == 415, not_a_form.text


def test_the_connection_limit_leaves_three_quarters_of_the_open_file_limit_to_the_server():
    """Each connection may hold a socket and an upload spooled to a temporary file; the rest is for the server's own
    files (a macOS Slicer's default open-file limit is 256)."""
    assert connection_limit(100, 256) == 64
    assert connection_limit(100, 4096) == 100
    assert connection_limit(100, None) == 100  # no limit (Windows: not told)


def test_a_rare_warning_is_logged_once_then_at_most_once_per_interval_counting_what_it_left_out(caplog):
    now = [0.0]
    warning = RareWarning("the disk is full", clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="rau.serve")
    for moment in (0, 1, 2, 59, 61, 200):
        now[0] = moment
        warning.happened()
    assert [record.getMessage() for record in caplog.records] == [
        "the disk is full (said at most once a minute)",
        "the disk is full (4 times since it was last said)",
        "the disk is full",
    ]
