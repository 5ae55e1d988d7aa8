"""The HTTP client of ``rau serve`` on its own: what it accepts as an address, and what it says when the address
answers as no rau server does or not at all."""

from __future__ import annotations

import http.server
import re
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from serve_helpers import running_server

from rau.serve.app import ServerConfig, create_app
from rau.serve.client import API_ROUTES, Client, ServerError


@contextmanager
def page_server(handler):
    """A plain ``http.server`` on loopback with ``handler``; yields its URL."""
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as page:
        threading.Thread(target=page.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{page.server_address[1]}"
        page.shutdown()


def test_the_client_imports_neither_pytorch_nor_the_server():
    code = "import sys, rau.serve.client; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & {"torch", "fastapi", "uvicorn"}, loaded & {"torch", "fastapi", "uvicorn"}


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host:8000", "http://", "http://host:abc", "http://h:1#x"])
def test_an_address_that_is_no_server_url_is_refused_saying_what_to_give(url):
    """Before: "did not answer: No connection adapters were found" (no scheme) or a bare "Not Found" (a path)."""
    with pytest.raises(ServerError, match=r"is not a server address; give http://HOST:PORT \(or https://\)"):
        Client(url)
    assert Client(" http://127.0.0.1:8000/ ").url == "http://127.0.0.1:8000"
    assert Client("https://example.org/rau/").url == "https://example.org/rau"  # behind a proxy at a sub-path


@pytest.mark.parametrize("url, base", [("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000"), ("http://127.0.0.1:8000/v1/info", "http://127.0.0.1:8000"),
                                       ("https://example.org/rau/v1/jobs/", "https://example.org/rau"),
                                       ("https://gw.example.org/v1/rau/v1/sessions/s1", "https://gw.example.org/v1/rau")])
def test_an_address_with_the_api_s_path_is_refused_saying_the_address_without_it(url, base):
    """Before: ".../v1/info" (as rau serve printed it) was taken, and every request answered "Not Found"."""
    with pytest.raises(ServerError, match=rf"^'{url}' is not a server address: give it without the API's path /v1/\.\.\., as rau serve prints it: {base}$"):
        Client(url)


@pytest.mark.parametrize("url", ["https://gw.example.org/api/v1/rau-serve", "https://gw.example.org/v1/rau", "http://127.0.0.1:8000/v1x/info"])
def test_a_proxy_address_with_a_v1_part_of_its_own_is_accepted(url):
    """Before: "'https://gw.example.org/api/v1/rau-serve' is not a server address: give it without the API's path
    /v1/..., as rau serve prints it: https://gw.example.org/api", any "v1" part taken for the API's."""
    assert Client(url).url == url


def test_the_api_routes_the_client_knows_are_the_server_s(tmp_path):
    """An address ending in /v1/ROUTE is refused for each of the server's routes, and only for them."""
    routes = {route.path.split("/")[2] for route in create_app(ServerConfig(work_dir=tmp_path / "work")).routes if route.path.startswith("/v1/")}
    assert routes == set(API_ROUTES)


def test_an_address_that_answers_html_is_said_to_be_no_rau_server():
    """Before: a bare "JSONDecodeError: Expecting value: line 1 column 1 (char 0)" from another web service's page."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200), self.send_header("Content-Type", "text/html"), self.end_headers()
            self.wfile.write(b"<html><body>another service</body></html>")

    with page_server(Page) as url:
        with pytest.raises(ServerError, match=rf"^{url}/v1/info did not answer as a rau server does .*: is {url} the address"):
            Client(url).job("x")


def test_a_client_of_a_server_that_has_stopped_is_told_it_refused_the_connection(tmp_path):
    """Before: "did not answer: HTTPConnectionPool(host=..., port=...): Max retries exceeded ... NewConnectionError
    ... Connection refused", urllib3's words."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        client = Client(url)
        client.info()
    with pytest.raises(ServerError, match=rf"^rau server {url} refused the connection: is it running\?$"):
        client.job("0" * 32)


def test_a_server_name_that_cannot_be_looked_up_is_said_so(monkeypatch):
    """Before: "did not answer: HTTPConnectionPool(...): Max retries exceeded ... NameResolutionError(...)", urllib3's
    words. The name service is made to fail as it does for an unknown name (no network needed)."""
    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(ServerError, match=r"^rau server http://gpu-box:8000: the name gpu-box could not be looked up: is it "
                                          r"spelled right, and is this computer on the server's network\?$"):
        Client("http://gpu-box:8000").info()


def test_a_server_that_drops_the_connection_is_said_to_have_closed_it():
    """Before: "did not answer: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))" or
    "RemoteDisconnected('Remote end closed connection without response')"."""
    class Hangup(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.close_connection = True  # no answer at all

    with page_server(Hangup) as url:
        with pytest.raises(ServerError, match=rf"^rau server {url} closed the connection without answering: is it a rau server"):
            Client(url).info()


def test_a_server_that_drops_a_job_poll_is_said_to_have_stopped_or_crashed_and_the_job_lost():
    """Before: "closed the connection without answering: is it a rau server, and does a proxy or firewall between stop
    the request?", for a rau server that had answered and was killed while the client followed its job."""
    import json

    from rau.serve.client import API_VERSION

    class KilledWhileRunning(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            if self.path == "/v1/info":
                self.send_response(200), self.send_header("Content-Type", "application/json"), self.end_headers()
                self.wfile.write(json.dumps({"api_version": API_VERSION}).encode())
            else:
                self.close_connection = True  # no answer at all

    with page_server(KilledWhileRunning) as url:
        with pytest.raises(ServerError, match=rf"^rau server {url} dropped the connection: it may have stopped or crashed; if it "
                                              rf"stopped, job {'0' * 32} is lost with it: press Run again once it is back$"):
            Client(url).wait("0" * 32)


@pytest.mark.parametrize("info, said", [({"api_version": "3.0"}, 'api_version "3.0"'), ({"api_version": "three"}, 'api_version "three"'),
                                        ({"api_version": None}, "api_version null"), ({"api_version": True}, "api_version true"),
                                        ({"rau_version": "0.0.1"}, "no api_version")])
def test_an_info_answer_without_a_whole_api_version_is_said_to_be_no_rau_server(info, said):
    """Before: ValueError "invalid literal for int() with base 10: '3.0'", a TypeError for null, and for none at all
    "the server speaks version -1: upgrade rau on the server"."""
    import json

    class Info(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200), self.send_header("Content-Type", "application/json"), self.end_headers()
            self.wfile.write(json.dumps(info).encode())

    with page_server(Info) as url:
        with pytest.raises(ServerError, match=rf"^{url}/v1/info did not answer as a rau server does \({re.escape(said)}\): is {url} the address"):
            Client(url).job("0" * 32)


@pytest.mark.parametrize("path", ["/v1x", "/rau"])
def test_a_wrong_path_on_a_rau_server_s_address_is_said_to_be_no_rau_server_address(tmp_path, path):
    """Before: a bare "rau server http://127.0.0.1:PORT/v1x: Not Found"."""
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        with pytest.raises(ServerError, match=rf"^{url}{path}/v1/info did not answer as a rau server does \(HTTP 404\): "
                                              rf"is {url}{path} the address rau serve printed\?$") as wrong:
            Client(url + path).job("x")
    assert wrong.value.status == 404
