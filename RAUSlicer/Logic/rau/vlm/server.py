"""An OpenAI-compatible chat-completions server (vLLM, SGLang, ...) as a VLM backend.

Images travel as base64 PNG data URLs to the one URL the user named: redirects are
refused and environment proxies are not used, so nothing goes anywhere else.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import time
import urllib.error
import urllib.request

from rau import validation
from rau.errors import UnavailableError
from rau.io.json_text import parse_json
from rau.options import DEFAULTS
from rau.user_warnings import warn_once
from rau.vlm.backend import Backend, Reply
from rau.vlm.families import ModelFamily

RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0)
"""Waits between attempts when the server refuses the connection (starting up); about 4 s in all."""
MAX_REPLY_BYTES = 16 * 2**20
"""Longer replies are refused unread (a chat answer is a few kilobytes)."""
ERROR_BYTES = 2**16
"""How much of an HTTP error's body is read: all of an API key it echoes, however escaped, to leave it out."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, request, fp, code, message, headers, new_url):
        raise UnavailableError(
            f"VLM server {request.full_url} redirected to {new_url}: redirect to {new_url} refused, "
            "so that images go only to the server you named"
        )


class _DeadlineConnection:
    """Mixed into an http.client connection: connecting, sending the request and reading the reply (head and body) all
    end by one deadline, ``timeout`` s after the connection is made. A socket's timeout bounds each wait only, so a
    server sending a byte now and then would otherwise hold the answer without end."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = time.monotonic() + self.timeout

    def connect(self):
        self.timeout = _time_left(self.deadline)
        super().connect()
        self.sock.settimeout(_time_left(self.deadline))  # the request is sent in one sendall, bounded as a whole

    def response_class(self, sock, *args, **kwargs):
        return http.client.HTTPResponse(_DeadlineSocket(sock, self.deadline), *args, **kwargs)


class _DeadlineSocket:
    """What http.client reads a reply from (its ``makefile``): ``sock``, no read waiting past ``deadline``."""

    def __init__(self, sock, deadline: float):
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str):
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))


class _DeadlineReader(io.RawIOBase):
    """``sock``'s reading side (its own ``makefile``), each read waiting for data no later than ``deadline``."""

    def __init__(self, sock, deadline: float):
        self.sock, self.raw, self.deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.sock.settimeout(_time_left(self.deadline))
        return self.raw.readinto(buffer)

    def close(self):
        self.raw.close()
        super().close()


def _time_left(deadline: float) -> float:
    """Seconds until ``deadline`` (``time.monotonic()``); a TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _DeadlineHTTP(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _DeadlineHTTPS(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, request):
        return self.do_open(_DeadlineHTTP, request)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, request):
        return self.do_open(_DeadlineHTTPS, request, context=self._context)


def endpoint(url: str) -> str:
    """The chat-completions URL for a server URL given with or without ``/v1`` (checked by
    :func:`rau.validation.server_url`)."""
    url = validation.server_url(url).rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


def data_url(image) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URL (lossless)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def wire_messages(messages: list[dict]) -> list[dict]:
    """Conversation parts in the chat-completions shape (``image_url`` parts for images)."""
    return [
        {
            "role": message["role"],
            "content": [
                {"type": "image_url", "image_url": {"url": data_url(part["image"])}} if part["type"] == "image" else part
                for part in message["content"]
            ],
        }
        for message in messages
    ]


class ServerBackend(Backend):
    """Sends each conversation to ``url`` and returns the first choice's text."""

    def __init__(self, url: str, model: str, family: ModelFamily, api_key: str | None = None, timeout: float = DEFAULTS.vlm_timeout):
        self.url, self.model, self.family, self.api_key, self.timeout = endpoint(url), model, family, api_key, timeout
        self._echoed_key = _echo_pattern(api_key) if api_key else None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect, _HTTPHandler, _HTTPSHandler)
        self.calls = 0

    def generate(self, messages: list[dict], max_new_tokens: int) -> Reply:
        body = {"model": self.model, "messages": wire_messages(messages), "max_tokens": max_new_tokens, "temperature": 0}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode("utf-8"), headers, method="POST")
        data = self._post(request)
        self.calls += 1
        try:
            text = _text_of(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as error:
            raise UnavailableError(f"VLM server {self.url} reply has no choices[0].message.content: {self._shown(str(data), 200)}") from error
        self._note_model(data.get("model"))
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        cut_short = isinstance(data["choices"][0], dict) and data["choices"][0].get("finish_reason") == "length"  # max_tokens reached
        return Reply(text, _token_count(usage.get("prompt_tokens")), _token_count(usage.get("completion_tokens")), cut_short)

    def _note_model(self, named) -> None:
        """Keep the model a reply names (:attr:`served_model`); warn (printed once per process) when it is not the one
        asked for: a server may answer under an alias, or with whatever model it has loaded, whose boxes are then
        misread."""
        if not isinstance(named, str):
            return
        self.served_model = self._shown(named, 200)  # kept for result JSONs: an API key it echoes is left out there too
        if named != self.model:
            warn_once(f"VLM server {self.url} answered as model {self.served_model!r}, not {self.model!r} as asked; its "
                      f"boxes were read in the {self.family.name} convention (the family of --vlm-model, or --vlm-family): if the "
                      "server runs another model, name it with --vlm-model or --vlm-family")

    def _shown(self, text: str, limit: int = 300) -> str:
        """Up to ``limit`` characters of ``text`` from the server, the API key left out wherever it echoes it, in any
        form (errors are printed and stored); cut after, so no part of a key is shown either."""
        return (self._echoed_key.sub("<RAU_VLM_API_KEY>", text) if self._echoed_key else text)[:limit]

    def _post(self, request: urllib.request.Request):
        """The decoded JSON reply; a refused connection is retried after each of :data:`RETRY_DELAYS_S`."""
        for delay in (*RETRY_DELAYS_S, None):
            try:
                with self._opener.open(request, timeout=self.timeout) as response:  # all of it by the timeout (_DeadlineConnection)
                    body = _read_up_to(response, MAX_REPLY_BYTES + 1)
                    missing = response.length  # of a Content-Length, when the server closed the connection early
                if len(body) > MAX_REPLY_BYTES:
                    raise UnavailableError(f"VLM server {self.url} sent more than {MAX_REPLY_BYTES // 2**20} MB; refused")
                if missing:
                    raise UnavailableError(f"VLM server {self.url} closed the connection after {len(body)} of {len(body) + missing} bytes of its reply")
                return parse_json(body.decode("utf-8"))
            except UnavailableError:
                raise
            except urllib.error.HTTPError as error:
                detail = error.read(ERROR_BYTES).decode("utf-8", "replace") if error.fp else error.msg
                raise UnavailableError(f"VLM server {self.url} answered HTTP {error.code}: {self._shown(detail)}") from error
            except urllib.error.URLError as error:
                if isinstance(error.reason, ConnectionRefusedError) and delay is not None:
                    time.sleep(delay)
                    continue
                raise UnavailableError(f"cannot reach VLM server {self.url}: {error.reason}") from error
            except TimeoutError as error:
                raise UnavailableError(f"VLM server {self.url} gave no answer within {self.timeout:g} s (--vlm-timeout)") from error
            except (ValueError, OSError) as error:
                raise UnavailableError(f"VLM server {self.url} sent an unreadable reply: {self._shown(str(error))}") from error
            except http.client.IncompleteRead as error:  # a chunked reply cut off
                raise UnavailableError(f"VLM server {self.url} closed the connection before the end of its reply") from error
            except http.client.HTTPException as error:  # a bad status line, too many or too long headers
                raise UnavailableError(f"VLM server {self.url} sent an unreadable reply: {self._shown(repr(error))}") from error


def _echo_pattern(key: str) -> re.Pattern:
    """``key`` as a server's text may carry it: each character as is or escaped, as JSON and Python write it
    (backslashes before it: ``\\"``, ``\\\\``, ``\\/``, ``\\'``, also escaped twice) or as ``\\uXXXX``."""
    return re.compile("".join(rf"(?:\\*{re.escape(c)}|\\+u(?i:{ord(c):04x}))" for c in key))


def _text_of(content) -> str:
    """A message's text: a string, or the text parts of a list of parts (``[{"type": "text", "text": ...}]``, as
    some servers send); a TypeError for anything else."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(part["text"] for part in content if part.get("type") == "text" and isinstance(part.get("text"), str))
    raise TypeError(f"content of type {type(content).__name__}")


def _token_count(value) -> int | None:
    """A token count of the reply's ``usage``, or None when it is not a whole number >= 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _read_up_to(response, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``response``, as they come."""
    chunks, size = [], 0
    while size < limit:
        chunk = response.read1(min(limit - size, 2**16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
