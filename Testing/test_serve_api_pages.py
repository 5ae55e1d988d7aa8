"""What ``rau serve`` answers besides its API (a real ``rau serve`` on loopback): no interactive docs pages, which load
their scripts from a public CDN, but its OpenAPI description (behind the token); and a query parameter it cannot read
refused in its own words, as its other refusals are (one sentence as ``detail``)."""

from __future__ import annotations

import requests
from serve_helpers import running_server

from rau.serve.app import ServerConfig
from test_serve import server  # noqa: F401  (server: fixture)

TOKEN = "s3cret-token-for-tests-0123456789"


def test_no_docs_page_is_served_and_the_openapi_description_is_behind_the_token(tmp_path):
    """Before: /docs and /redoc answered 200 with pages that load Swagger UI's and ReDoc's scripts from a CDN."""
    with running_server(ServerConfig(work_dir=tmp_path / "work", token=TOKEN)) as (url, _):
        sent = {"Authorization": f"Bearer {TOKEN}"}
        for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert requests.get(url + page, headers=sent, timeout=30).status_code == 404, page
        assert requests.get(f"{url}/openapi.json", timeout=30).status_code == 401
        described = requests.get(f"{url}/openapi.json", headers=sent, timeout=30)
        assert described.status_code == 200 and "/v1/jobs/{job_id}" in described.json()["paths"]


def test_a_query_parameter_the_server_cannot_read_is_refused_naming_it_and_what_it_takes(server):  # noqa: F811
    """Before: 422 with FastAPI's list of error objects as ``detail``, which rau's client printed as a Python list (it
    prints a refusal's ``detail`` as it comes: :func:`rau.serve.client._detail`)."""
    url, _ = server
    asked = requests.get(f"{url}/v1/jobs/0123456789abcdef0123456789abcdef?wait=abc", timeout=30)
    assert asked.status_code == 422
    assert asked.json() == {"detail": "query parameter wait='abc': Input should be a valid number, unable to parse string as "
                                      "a number; wait is the seconds to wait for the job to end (at most 10)"}
