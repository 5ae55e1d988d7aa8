"""The server's access log leaves query strings out: a client that puts its token in the URL is refused, and the token
does not land in the operator's log (a real ``rau serve`` process on loopback)."""

from __future__ import annotations

import requests
from serve_helpers import serve_process

TOKEN = "a-secret-token-0123456789"


def test_a_token_sent_in_the_url_stays_out_of_the_server_s_output(tmp_path):
    """Before: uvicorn logged 'GET /v1/info?token=a-secret-token-0123456789 HTTP/1.1" 401'."""
    (tmp_path / "token").write_text(TOKEN)
    output, log = tmp_path / "output.txt", tmp_path / "log.txt"
    with serve_process(None, "--token-file", str(tmp_path / "token"), output=output, log=log) as url:
        refused = requests.get(f"{url}/v1/info?token={TOKEN}", timeout=60)
        asked = requests.get(f"{url}/v1/jobs/0123456789abcdef0123456789abcdef?wait=0.1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert (refused.status_code, asked.status_code) == (401, 404)
    said = output.read_text() + log.read_text()
    assert '"GET /v1/info HTTP/1.1" 401' in said and '"GET /v1/jobs/0123456789abcdef0123456789abcdef HTTP/1.1" 404' in said, said
    assert TOKEN not in said and "?" not in said, said
