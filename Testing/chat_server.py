"""A loopback OpenAI-compatible chat-completions server for tests (http.server on 127.0.0.1, any free port by default).

``with ChatServer(answer) as server:`` serves ``POST /v1/chat/completions``; ``answer(body)``
returns the reply text (or an ``(status, text)`` pair for an error, or a dict: the whole reply), and ``server.requests``
keeps every request body and its headers. ``trickle``: seconds between the reply's bytes (a server that keeps the
connection busy without finishing its answer).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatServer:
    def __init__(self, answer, port: int = 0, trickle: float = 0.0):
        self.answer, self.requests = answer, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                reply = server.answer(body)
                status, text = reply if isinstance(reply, tuple) else (200, reply)
                if isinstance(reply, dict):
                    payload = reply
                elif status == 200:
                    payload = {"choices": [{"message": {"role": "assistant", "content": text}}], "usage": {"prompt_tokens": 321, "completion_tokens": 9}}
                else:
                    payload = {"error": {"message": text}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                step = 1 if trickle else len(data)
                for start in range(0, len(data), step):
                    self.wfile.write(data[start : start + step])
                    self.wfile.flush()
                    time.sleep(trickle)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class RawServer:
    """A loopback server that answers every request with the bytes ``reply`` as they stand (a broken HTTP reply),
    ``trickle`` seconds apart, then closes the connection. ``with RawServer(reply) as server:`` gives ``server.url``."""

    def __init__(self, reply: bytes, trickle: float = 0.0):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.reply, self.trickle = reply, trickle

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed by __exit__
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection:
            request = b""
            while b"\r\n\r\n" not in request or len(request) < _request_size(request):  # all of it: unread bytes would reset the connection
                chunk = connection.recv(2**16)
                if not chunk:
                    return
                request += chunk
            step = 1 if self.trickle else len(self.reply)
            for start in range(0, len(self.reply), step):
                try:
                    connection.sendall(self.reply[start : start + step])
                except OSError:  # the client gave up
                    return
                time.sleep(self.trickle)

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.socket.close()


def _request_size(request: bytes) -> int:
    """The bytes of a request whose head ``request`` begins with: its head and its Content-Length."""
    head = request.partition(b"\r\n\r\n")[0]
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    return len(head) + 4 + int(lengths[0])
