"""How the server answers a request it refuses: each error's HTTP status, with the reason as ``detail``."""

from rau.errors import UnavailableError
from rau.serve.jobs import ServerStopping
from rau.serve.security import UnpackedTooLarge
from rau.serve.sessions import SessionGone


class QueueFull(RuntimeError):
    """A job submitted while ``max_queued_jobs`` wait already (503, before its upload is read)."""


class NotFound(LookupError):
    """A job, a job's output or a session action that does not exist (404); any other lookup that fails is a bug (500)."""


def ended(job) -> str:
    """How a job that gave no result ended: ``was cancelled`` or ``failed``."""
    return "was cancelled" if job.state == "cancelled" else "failed"


def answer(status: int):
    """An exception handler answering ``status`` with the error's message."""
    from fastapi.responses import JSONResponse

    async def handler(request, error):
        return JSONResponse({"detail": str(error)}, status)

    return handler


async def not_found(request, error):
    """404 with the error's message."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"detail": str(error.args[0]) if error.args else "not found"}, 404)


REFUSALS = {
    ValueError: answer(422),  # bad input
    UnpackedTooLarge: answer(413),  # an image that would unpack past --max-image-mb (a ValueError too: the nearest class's handler answers)
    UnavailableError: answer(503),  # a model or the VLM server cannot be used now: not the client's input
    SessionGone: answer(410),
    ServerStopping: answer(503),
    QueueFull: answer(503),
    NotFound: not_found,
}
"""Each refused request's error and its handler (:func:`rau.serve.app.create_app` adds them)."""
