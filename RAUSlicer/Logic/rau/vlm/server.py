"""An OpenAI-compatible chat-completions server (vLLM, SGLang, ...) as a VLM backend.

Images travel as base64 PNG data URLs to the one URL the user named: redirects are
refused and environment proxies are not used, so nothing goes anywhere else.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request

from rau.vlm.backend import Backend, Reply
from rau.vlm.families import ModelFamily


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, request, fp, code, message, headers, new_url):
        raise RuntimeError(
            f"VLM server {request.full_url} redirected to {new_url}: redirect to {new_url} refused, "
            "so that images go only to the server you named"
        )


def endpoint(url: str) -> str:
    """The chat-completions URL for a server URL given with or without ``/v1``."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"VLM server URL must start with http:// or https://, got {url!r}")
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

    def __init__(self, url: str, model: str, family: ModelFamily, api_key: str | None = None, timeout: float = 600.0):
        self.url, self.model, self.family, self.api_key, self.timeout = endpoint(url), model, family, api_key, timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        self.calls = 0

    def generate(self, messages: list[dict], max_new_tokens: int) -> Reply:
        body = {"model": self.model, "messages": wire_messages(messages), "max_tokens": max_new_tokens, "temperature": 0}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode("utf-8"), headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300] if error.fp else error.msg
            raise RuntimeError(f"VLM server {self.url} answered HTTP {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            raise RuntimeError(f"cannot reach VLM server {self.url}: {error.reason}") from error
        except (ValueError, OSError) as error:
            raise RuntimeError(f"VLM server {self.url} sent an unreadable reply: {error}") from error
        self.calls += 1
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as error:
            raise RuntimeError(f"VLM server {self.url} reply has no choices[0].message.content: {str(data)[:200]}") from error
        usage = data.get("usage") or {}
        return Reply(text, usage.get("prompt_tokens"), usage.get("completion_tokens"))
