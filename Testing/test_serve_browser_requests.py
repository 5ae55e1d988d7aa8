"""A web page open in a browser on the server's machine cannot use ``rau serve``: a request another site's page sent
(its ``Origin`` header) is refused whatever the token mode, and without a token one addressed to any name but a
loopback one (a page's request to a DNS name pointed at 127.0.0.1) is too (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import requests
from serve_helpers import running_server

from rau.serve.app import ServerConfig
from rau.serve.client import Client

TOKEN = "s3cret-token-for-tests-0123456789"
JOB_FORM = {"spec": (None, '{"engine": "registration"}'), "target": ("t.png", b"not read: refused before")}


def test_without_a_token_a_web_pages_request_is_refused_and_only_loopback_names_are_answered(tmp_path):
    """Before: each refused request here was answered (200, and the job 202 and run): any web page could use the
    server, and one whose DNS name was pointed at 127.0.0.1 could read its answers too."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        port = url.rpartition(":")[2]
        rebound = requests.get(f"{url}/v1/info", timeout=30, headers={
            "Host": f"attacker.example.com:{port}", "Origin": f"http://attacker.example.com:{port}"})
        assert rebound.status_code == 403
        assert rebound.json()["detail"] == (f"refused: Host 'attacker.example.com:{port}' is not this server's address; without "
                                            f"--token-file it answers only requests sent to localhost:{port}, 127.0.0.1:{port} "
                                            f"or [::1]:{port}, so that no web page can use it; through a tunnel or proxy that "
                                            "changes the port, start the server with --token-file")
        tunnelled = requests.get(f"{url}/v1/info", headers={"Host": f"localhost:{int(port) + 1}"}, timeout=30)  # ssh -L
        assert tunnelled.status_code == 403 and tunnelled.json()["detail"].endswith(
            "through a tunnel or proxy that changes the port, start the server with --token-file")
        cross_site = requests.post(f"{url}/v1/jobs", files=JOB_FORM, headers={"Origin": "http://evil.example"}, timeout=30)
        assert cross_site.status_code == 403
        assert cross_site.json()["detail"] == ("refused: the request came from the web page of http://evil.example (its Origin "
                                               "header); rau serve answers rau's clients, not web pages")
        preflight = requests.options(f"{url}/v1/jobs", timeout=30, headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
        assert app.state.server.jobs == {}
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"LocalHost:{port}", "127.0.0.1"):  # a tool may name no port
            assert requests.get(f"{url}/v1/info", headers={"Host": host}, timeout=30).status_code == 200, host
        own_page = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}  # a page of the server's own origin
        assert requests.get(f"{url}/v1/info", headers=own_page, timeout=30).status_code == 200
        assert Client(url).info()["queued_or_running"] == 0


def test_with_a_token_any_host_is_answered_but_a_web_pages_request_is_not(tmp_path):
    with running_server(ServerConfig(work_dir=tmp_path / "work", token=TOKEN)) as (url, app):
        sent = {"Authorization": f"Bearer {TOKEN}", "Host": "rau.example.org"}  # a name a reverse proxy passes on
        assert requests.get(f"{url}/v1/info", headers=sent, timeout=30).status_code == 200
        cross_site = requests.post(f"{url}/v1/jobs", files=JOB_FORM, headers={**sent, "Origin": "http://evil.example"}, timeout=30)
        assert cross_site.status_code == 403 and "web page" in cross_site.json()["detail"]
        assert app.state.server.jobs == {}
        assert Client(url, token=TOKEN).info()["queued_or_running"] == 0
