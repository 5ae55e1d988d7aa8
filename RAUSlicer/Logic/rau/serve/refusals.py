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


async def unreadable_parameters(request, error):
    """422 naming each parameter of the request that FastAPI could not read as its route declares it (a query
    parameter such as ``wait``), what was sent, why, and what the parameter is (its declared description), in one
    sentence as every refusal's ``detail`` is: FastAPI's own is a list of objects, which a client prints as such."""
    from fastapi.responses import JSONResponse

    route = request.scope.get("route")
    params = getattr(getattr(route, "dependant", None), "query_params", [])  # the routes describe their query parameters
    described = {param.alias: param.field_info.description for param in params if param.field_info.description}
    problems = []
    for problem in error.errors():
        where, name = (*problem["loc"], "")[:2]
        sent = f"={problem['input']!r:.60}" if isinstance(problem.get("input"), str) else ""
        about = f"; {name} is {described[name]}" if name in described else ""
        problems.append(f"{where} parameter {name}{sent}: {problem['msg']}{about}")
    return JSONResponse({"detail": "; ".join(problems)}, 422)


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
