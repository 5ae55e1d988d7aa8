"""A correction's body is read only for an open session, and only up to what a correction of that session can hold (a
mask filling its target, and room for the rest): a real ``rau serve`` on loopback, the body announced but not sent."""

from __future__ import annotations

import http.client
import json

from test_serve import finished_job, server  # noqa: F401  (fixture)

from rau.serve.client import Client

SESSION = "0123456789abcdef0123456789abcdef"  # well formed; no job of this server


def announced(url: str, path: str, length: int) -> tuple[int, str]:
    """The answer to a JSON POST to ``path`` announcing ``length`` bytes and sending none: it comes at once only when
    the server refuses the request before reading its body (else it waits for the body)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", path)
    connection.putheader("Content-Length", str(length))
    connection.putheader("Content-Type", "application/json")
    connection.endheaders()
    answer = connection.getresponse()
    detail = json.loads(answer.read())["detail"]
    connection.close()
    return answer.status, detail


def test_a_correction_to_no_session_is_refused_before_its_body_is_read(server):  # noqa: F811
    """Before: 95 MiB to an unknown session were read and parsed (9 s, +500 MB of the server's memory) before the
    session was looked up; here the answer waited for a body that never comes."""
    status, detail = announced(server[0], f"/v1/sessions/{SESSION}/edit", 50 << 20)
    assert status == 410 and detail.startswith(f"session {SESSION} "), detail
    status, detail = announced(server[0], "/v1/sessions/not-a-session/edit", 50 << 20)
    assert status == 404 and "32 lowercase hex digits" in detail, detail


def test_a_correction_larger_than_its_session_s_target_can_need_is_refused_naming_the_limit(server, tmp_path):  # noqa: F811
    """Before: any body up to --max-upload-mb (2 GiB) was read whole into memory and parsed."""
    job = finished_job(Client(server[0]), tmp_path)
    limit = 4 * ((64 * 64 // 8 + 2) // 3) + (1 << 20)  # the base64 of a 64 x 64 mask's packed bits, and the room
    status, detail = announced(server[0], f"/v1/sessions/{job}/edit", limit + 1)
    assert status == 413, detail
    assert detail == (f"a correction's body of {limit + 1} bytes exceeds this session's limit of {limit} bytes "
                      "(a mask filling its target, and 1 MiB for the rest)"), detail
