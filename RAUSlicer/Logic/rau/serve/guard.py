"""What every request passes first: no web page's request, the token, the client's API version, the body's size; a bug answers 500."""

import traceback

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from rau.errors import failure_reason
from rau.serve.client import API_HEADER, API_VERSION, version_mismatch_message
from rau.serve.jobs import LOG
from rau.serve.security import authorized, web_page_refusal


async def guard(request: Request, call_next):
    """Refuse a request a web page may have sent (403, :func:`~rau.serve.security.web_page_refusal`), one without the
    server's token (401), of another API version (400, 426) or with a body too large or of unknown size (413, 411);
    answer a bug with its reason (500) and its traceback in the log."""
    config = request.app.state.server.config
    port = (request.scope.get("server") or (None, None))[1]  # the port the request came in on
    refusal = web_page_refusal(request.headers.get("host"), request.headers.get("origin"), port, config.token)
    if refusal:
        return JSONResponse({"detail": refusal}, 403)
    if not authorized(request.headers.get("authorization"), config.token):
        return JSONResponse({"detail": "missing or wrong token: send 'Authorization: Bearer <token>'"}, 401, {"WWW-Authenticate": "Bearer"})
    client_version = request.headers.get(API_HEADER)
    if client_version is not None and not (client_version.isascii() and client_version.isdigit() and len(client_version) <= 9):
        shown = client_version if len(client_version) <= 40 else client_version[:40] + f"... ({len(client_version)} characters)"
        return JSONResponse({"detail": f"{API_HEADER} must be a whole number (this server speaks API {API_VERSION}), got {shown!r}"}, 400)
    if client_version is not None and int(client_version) != API_VERSION:
        return JSONResponse({"detail": version_mismatch_message(int(client_version), API_VERSION, str(request.base_url))}, 426)
    if request.method in ("POST", "PUT"):
        length = request.headers.get("content-length")
        if "transfer-encoding" in request.headers:  # a body of unknown size; beside a Content-Length the chunks count
            return JSONResponse({"detail": "send a Content-Length header, not a chunked body"}, 411)
        if int(length or 0) > config.max_upload_bytes:
            return JSONResponse({"detail": too_large(int(length), config.max_upload_bytes)}, 413)
    try:
        return await call_next(request)
    except ClientDisconnect:  # the client went away before its request was read (logged where its body stopped)
        return Response(status_code=400)
    except Exception as error:  # a bug: its reason to the client, as a failed job's, and its traceback to the log
        LOG.error("%s %s failed:\n%s", request.method, request.url.path, traceback.format_exc())
        return JSONResponse({"detail": failure_reason(error)}, 500)


def too_large(length: int, limit: int, what: str = "upload", whose: str = "the server's limit") -> str:
    """Why ``what`` of ``length`` bytes is refused (over ``whose`` of ``limit``): in MiB, or in bytes where both round
    to the same MiB."""
    size, most = f"{length / 2**20:.1f} MiB", f"{limit / 2**20:.1f} MiB"
    if size == most:
        size, most = f"{length} bytes", f"{limit} bytes"
    return f"{what} of {size} exceeds {whose} of {most}"
