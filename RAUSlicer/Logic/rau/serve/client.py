"""HTTP client for ``rau serve``: submit a job, follow it, cancel it, download, correct through the session.

Imports ``requests`` (which Slicer ships) and rau's file writing (:mod:`rau.io.atomic`), not PyTorch, the server
or rau's engines, so a workstation without them can drive a GPU server.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from pathlib import Path

import requests

from rau.errors import InputError, ServerError
from rau.io.atomic import atomic_path
from rau.io.label_tables import label_tables_beside

API_VERSION = 3
API_HEADER = "X-RAU-API-Version"
TOKEN_VARIABLE = "RAU_SERVER_TOKEN"
"""The environment variable the Slicer module and :func:`rau.serve.remote.remote_engine` read the token from."""
DOWNLOADS = {"label_map": (".nii.gz", "a NIfTI label map"), "label_table": (".csv", "a CSV label table"),
             "result": (".json", "a JSON result"), "seg_nrrd": (".seg.nrrd", "a Slicer segmentation")}
"""Each output a job's downloads hold: the suffix a file it is written to must end with, and what it is, in words."""
OUTPUT_KINDS = tuple(DOWNLOADS)
API_ROUTES = ("info", "jobs", "sessions")
"""The first parts of the API's paths after ``/v1``: an address ending in ``/v1`` or ``/v1/`` one of them is no server address."""


class IncompatibleServer(ServerError):
    """Client and server speak different API versions; the message says which side to upgrade."""


class JobCancelled(ServerError):
    """The job was cancelled (by this client or another); nothing was written."""


def version_mismatch_message(client_version: int, server_version: int, url: str) -> str:
    """The one wording of a version mismatch, used by client and server."""
    side = "the client (RAUSlicer / the rau package on this computer)" if client_version < server_version else f"rau on the server {url}"
    return f"this client speaks rau API version {client_version} but the server {url} speaks version {server_version}: upgrade {side}"


class Client:
    """One ``rau serve`` server. ``token``: the server's bearer token (needed off loopback)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        """Raises :class:`ServerError` for a ``url`` that is no server address: ``http(s)://HOST[:PORT]``, with the
        path of a proxy in front of the server if there is one, but not the API's own ``/v1/...``."""
        parts = urllib.parse.urlsplit(url.strip().rstrip("/"))
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:  # not a number
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.query or parts.fragment:
            raise ServerError(f"{url!r} is not a server address; give http://HOST:PORT (or https://), as rau serve prints it")
        path = parts.path.split("/")
        api = next((i for i, part in enumerate(path) if part == "v1" and (i == len(path) - 1 or path[i + 1] in API_ROUTES)), None)
        if api is not None:
            base = f"{parts.scheme}://{parts.netloc}{'/'.join(path[:api])}"
            raise ServerError(f"{url!r} is not a server address: give it without the API's path /v1/..., as rau serve prints it: {base}")
        self.url, self.token, self.timeout = url.strip().rstrip("/"), token, timeout
        self.http = requests.Session()
        self.http.headers[API_HEADER] = str(API_VERSION)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self._checked = False

    # --- plumbing ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs = {"timeout": self.timeout, **kwargs}
        try:
            response = self.http.request(method, self.url + path, **kwargs)
        except requests.RequestException as error:
            unsent = any(isinstance(cause, (ConnectionRefusedError, socket.gaierror)) for cause in _causes(error))
            raise ServerError(self._no_answer(error, kwargs["timeout"]), unsent=unsent) from error
        if response.status_code >= 400:
            detail = _detail(response)
            if response.status_code == 401:
                detail += f" ({self._token_hint()})"
            error_class = IncompatibleServer if response.status_code == 426 else ServerError
            raise error_class(f"rau server {self.url}: {detail}", response.status_code)
        return response

    def _no_answer(self, error: requests.RequestException, timeout: float) -> str:
        """Why a request got no answer, as a sentence naming the server."""
        if isinstance(error, requests.Timeout):
            return f"rau server {self.url} did not answer within {timeout:g} s"
        causes = list(_causes(error))
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return f"rau server {self.url} refused the connection: is it running?"
        if any(isinstance(cause, socket.gaierror) for cause in causes):
            return (f"rau server {self.url}: the name {urllib.parse.urlsplit(self.url).hostname} could not be looked up: "
                    "is it spelled right, and is this computer on the server's network?")
        if any(isinstance(cause, (ConnectionResetError, http.client.RemoteDisconnected)) for cause in causes):
            if self._checked:  # it answered this client as a rau server before
                return f"rau server {self.url} dropped the connection: it may have stopped or crashed"
            return (f"rau server {self.url} closed the connection without answering: is it a rau server, and does a "
                    "proxy or firewall between stop the request?")
        return f"rau server {self.url} did not answer: {error}"

    def _read(self, response: requests.Response) -> dict:
        """The JSON object the server answered; an answer that is none (another web service at the address) says so."""
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self._not_rau(response.url, response.status_code, "no JSON object")
        return answer

    def _not_rau(self, address: str, status: int, what: str) -> ServerError:
        """The error of an answer no rau server gives at ``address`` (another web service at the server's address, or
        a wrong path on it), saying ``what`` it was."""
        return ServerError(f"{address} did not answer as a rau server does ({what}): is {self.url} the address "
                           "rau serve printed?", status)

    def _token_hint(self) -> str:
        sent = "the token sent is not the server's" if self.token else "no token was sent"
        return f"{sent}: give the token in the server's --token-file; the Slicer module reads it from {TOKEN_VARIABLE}"

    def _json(self, method: str, path: str, **kwargs) -> dict:
        self.check_compatible()
        return self._read(self._call(method, path, **kwargs))

    # --- info ----------------------------------------------------------------------------------
    def info(self) -> dict:
        """``GET /v1/info``: rau and API versions, engines (and why some are unavailable), device, models loaded."""
        return self._read(self._call("GET", "/v1/info"))

    def check_compatible(self) -> dict | None:
        """Raise :class:`IncompatibleServer` unless the server speaks this client's API version, :class:`ServerError`
        when its answer names none or it has no ``/v1/info`` (another web service, or a wrong path); checked once."""
        if self._checked:
            return None
        try:
            response = self._call("GET", "/v1/info")
        except ServerError as error:
            if error.status in (404, 405):  # every rau server answers GET /v1/info
                raise self._not_rau(self.url + "/v1/info", error.status, f"HTTP {error.status}") from error
            raise
        info = self._read(response)
        version = info.get("api_version")
        if type(version) is not int:  # every rau server gives a whole number (not a bool, a string or null)
            raise self._not_rau(response.url, response.status_code, f"api_version {json.dumps(version)}" if "api_version" in info else "no api_version")
        if version != API_VERSION:
            raise IncompatibleServer(version_mismatch_message(API_VERSION, version, self.url), 426)
        self._checked = True
        return info

    # --- jobs ----------------------------------------------------------------------------------
    def submit(self, target, references, engine: str | None = None, *, target_spacing: float | None = None,
               structures: list[str] | None = None, options: dict | None = None, label_table=None,
               seg_nrrd: bool = False) -> str:
        """Upload a target and its references (``[(image, labels, spacing or None), ...]``), each label map with the
        label tables beside it that ``rau segment`` would read (:func:`sidecar_tables`); return the job id.
        Without ``engine`` the server's default runs (``rau serve --engine``)."""
        spec = {
            "engine": engine,
            "options": options or {},
            "structures": structures,
            "target_spacing": target_spacing,
            "reference_spacing": [spacing for _, _, spacing in references],
            "seg_nrrd": seg_nrrd,
        }
        paths = [("target", target)]
        for image, labels, _ in references:
            paths += [("reference", image), ("reference_labels", labels)]
            # right after its labels, in the order rau segment reads them: the server puts them beside the labels in that order
            paths += [("reference_table", table) for table in sidecar_tables(labels)]
        if label_table:
            paths.append(("label_table", label_table))
        for field, path in paths:  # before any is opened: none is left open
            if Path(path).is_dir():
                raise ValueError(f"{field.replace('_', ' ')} {path}: a folder (a DICOM series?); the server takes one file per "
                                 "image: save the series as NIfTI or NRRD (Slicer, or rau's readers) and send that")
            if not Path(path).is_file():
                raise FileNotFoundError(f"{field.replace('_', ' ')} {path}: no such file")
        handles = [(field, open(path, "rb"), Path(path).name) for field, path in paths]
        try:
            files = [(field, (name, handle)) for field, handle, name in handles]
            return self._json("POST", "/v1/jobs", data={"spec": json.dumps(spec)}, files=files)["job"]
        finally:
            for _, handle, _ in handles:
                handle.close()

    def job(self, job_id: str, wait: float = 0.0) -> dict:
        """The job's state, step, progress fraction, error, result summary and session id.

        ``wait``: let the server hold the answer up to this many seconds, until the job ends (long poll).
        """
        return self._json("GET", f"/v1/jobs/{job_id}", params={"wait": wait} if wait else None)

    def cancel(self, job_id: str) -> dict:
        """Ask the server to stop the job (a running job stops at its next progress report)."""
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def wait(self, job_id: str, on_progress=None, should_cancel=None, poll_seconds: float = 0.25) -> dict:
        """Follow a job to its end; ``on_progress(step, fraction)`` on each poll; cancel when ``should_cancel()``.

        Returns the final job record; raises :class:`JobCancelled` or :class:`ServerError` when it did not finish.
        """
        cancel_sent = False
        while True:
            try:
                record = self.job(job_id, wait=poll_seconds)
            except ServerError as error:
                if error.status:
                    raise
                raise ServerError(f"{error}; if it stopped, job {job_id} is lost with it: press Run again once it is back") from error
            if on_progress:
                on_progress(record.get("step", ""), float(record.get("progress", 0.0)))
            if record["state"] == "done":
                return record
            if record["state"] == "cancelled":
                reason = f" ({record['error']})" if record.get("error") else ""  # the server shut down: no client asked
                raise JobCancelled(f"rau server {self.url}: job {job_id} was cancelled{reason}")
            if record["state"] == "failed":
                raise ServerError(f"rau server {self.url}: job {job_id} failed: {record.get('error')}", record.get("status", 500))
            if should_cancel and should_cancel() and not cancel_sent:
                self.cancel(job_id)
                cancel_sent = True

    def download(self, job_id: str, kind: str, path, overwrite: bool = False) -> Path:
        """Write one output (``label_map``, ``label_table``, ``result``, ``seg_nrrd``) of a finished job to ``path``
        (its folders made), as ``rau segment`` writes (:func:`rau.io.atomic.atomic_path`): whole or not at all, with
        the permissions the umask gives, an existing file replaced only with ``overwrite`` (else
        :class:`rau.io.atomic.OutputExistsError`, a :class:`FileExistsError`). A ``path`` whose suffix is not the
        output's (:data:`DOWNLOADS`) is refused before anything is asked or written."""
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"unknown output {kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")
        check_download_name(kind, path)
        self.check_compatible()
        response = self._call("GET", f"/v1/jobs/{job_id}/files/{kind}")
        with atomic_path(path, overwrite) as temporary:  # an existing file may be the very one submitted
            temporary.write_bytes(response.content)
        return Path(path)

    # --- sessions ------------------------------------------------------------------------------
    def reprompt(self, session_id: str, structure: str, prompt: dict, overwrite: bool = False) -> dict:
        """Correct one structure with points/box (``{"points", "labels", "box"}``): its new state and mask.
        ``overwrite``: it may take other structures' voxels (else it gives way to them)."""
        body = {"structure": structure, "prompt": prompt, **({"overwrite": True} if overwrite else {})}
        return self._json("POST", f"/v1/sessions/{session_id}/reprompt", json=body)

    def propagate(self, session_id: str, structure: str) -> dict:
        """Re-run one structure through the volume from its prompts."""
        return self._json("POST", f"/v1/sessions/{session_id}/propagate", json={"structure": structure})

    def undo(self, session_id: str, structure: str) -> dict:
        """Put back the structure as it was before its last correction."""
        return self._json("POST", f"/v1/sessions/{session_id}/undo", json={"structure": structure})

    def edit(self, session_id: str, structure: str, mask: dict | None) -> dict:
        """The user's hand-edited mask of the structure (bit-packed as ``rau.serve.wire.encode_mask`` packs it; None:
        empty): later corrections start from it."""
        return self._json("POST", f"/v1/sessions/{session_id}/edit", json={"structure": structure, "mask": mask})

    def gave_way(self, session_id: str, structure: str, mask: dict | None) -> dict:
        """Where the client wrote the last correction, the structure gave way to others, keeping ``mask`` (packed as
        :meth:`edit`'s): the server's session goes on from it (``rau.session.Session.gave_way``)."""
        return self._json("POST", f"/v1/sessions/{session_id}/gave_way", json={"structure": structure, "mask": mask})

    def gave_up(self, session_id: str, taker: str, structure: str, mask: dict | None) -> dict:
        """Where the client wrote it, ``taker``'s last correction took voxels from the structure, which kept ``mask``
        (packed as :meth:`edit`'s): undoing that correction gives them back (``rau.session.Session.gave_up``)."""
        body = {"structure": structure, "taker": taker, "mask": mask}
        return self._json("POST", f"/v1/sessions/{session_id}/gave_up", json=body)

    def close_session(self, session_id: str, timeout: float | None = None) -> None:
        """Free the session on the server (``timeout``: seconds to wait for it, else the client's)."""
        self._json("DELETE", f"/v1/sessions/{session_id}", timeout=timeout or self.timeout)


def sidecar_tables(labels) -> list[Path]:
    """The label tables that ``rau segment`` reads beside the label map ``labels``, in the order it reads them
    (:func:`rau.io.label_tables.label_tables_beside`; a ``.seg.nrrd`` names its own segments: none)."""
    return [] if Path(labels).name.lower().endswith(".seg.nrrd") else label_tables_beside(labels)


def check_download_name(kind: str, path) -> None:
    """Refuse a file name for the ``kind`` download that does not end with its suffix (:data:`DOWNLOADS`): before, the
    label map's NIfTI bytes went into a ``.png`` that no reader could read."""
    suffix, what = DOWNLOADS[kind]
    name = Path(path).name.lower()
    if not name.endswith(suffix) or len(name) == len(suffix):
        raise InputError(f"{path}: the {kind} download is {what}; name it with {suffix}")


def _causes(error: BaseException, depth: int = 8):
    """``error`` and the errors it wraps, as requests and urllib3 wrap them (in ``args``, ``reason``, ``__cause__``)."""
    for _ in range(depth):
        if not isinstance(error, BaseException):
            return
        yield error
        wrapped = next((argument for argument in error.args if isinstance(argument, BaseException)), None)
        error = getattr(error, "reason", None) or wrapped or error.__cause__


def _detail(response: requests.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else f"HTTP {response.status_code} {response.reason}"
