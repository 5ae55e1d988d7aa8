"""Engine options for one server job: the client's choices within what the server was started with.

The one place the server turns JSON into :class:`~rau.options.EngineOptions` (checked by that table, as
on the command line, its errors naming each option as the JSON field a client sends). Models, devices and remote services are the server operator's: a client may not
point the server at other files or hosts.
"""

from __future__ import annotations

import os

from rau.engines.checks import warn_unused_options
from rau.engines import unused_options
from rau.errors import InputError, OptionError
from rau.options import EngineOptions, flag, in_words, option_fields, said_in
from rau.user_warnings import collected_warnings

CLIENT_OPTIONS = ("top_k", "fusion", "deformable", "slice_axis", "window", "slice_margin", "vlm_per_structure")
"""What a client may choose per job; every other option is the operator's."""
CLIENT_NAMES = {name: name for name in CLIENT_OPTIONS}
"""How the server's errors name a client option: as the JSON field a client sends."""
OPERATOR_NAMES = {spec.name: f"the engine server operator's `rau serve {flag(spec.name)}`" for spec in option_fields()
                  if spec.name not in CLIENT_OPTIONS and spec.metadata["cli"]}
"""How a client's messages name an option of the server's operator (its ``rau serve`` flag), which the client cannot set."""

OPERATOR_PLACES = ("model_cache", "vlm_server", "vlm_adapter")
"""The operator's options that always name a folder or a URL of the server's side."""


def is_place(name: str, value) -> bool:
    """Whether the operator's ``value`` of option ``name`` is a folder or URL of the server's side (one of
    :data:`OPERATOR_PLACES`, or a model given as a local path), which clients are not shown; a model id is."""
    return name in OPERATOR_PLACES or (isinstance(value, str) and os.path.exists(value))


def shown_options(options: dict) -> dict:
    """``options`` (by name) without those that are the operator's folders and URLs (:func:`is_place`)."""
    return {name: value for name, value in options.items() if not is_place(name, value)}


def options_from_json(payload: dict | None, server_options: EngineOptions, engine: str,
                      references: int) -> tuple[EngineOptions, list[str]]:
    """The engine options for a job of ``engine`` with ``references`` references: ``server_options`` plus the client's
    choices in ``payload``, and the warnings ``rau segment`` gives (in client words) for each choice the engine does not
    read, or not with that many references, and for a ``top_k`` above them (:func:`rau.engines.checks.warn_unused_options`).
    Every choice is checked, but one the engine does not use is left out, so it makes no warm engine of its own."""
    known = {spec.name for spec in option_fields() if spec.metadata["cli"]}  # the others no operator sets either
    chosen = {}
    for key, value in (payload or {}).items():
        if key in CLIENT_OPTIONS:
            if value is not None:
                chosen[key] = value
        elif key in known:
            if value is not None and value != getattr(server_options, key):
                theirs = getattr(server_options, key)
                shown = "" if is_place(key, theirs) else f" ({theirs!r})"
                raise OptionError(f"option {key} is set by the server operator{shown}; leave it out")
        else:
            raise OptionError(f"unknown option {key!r}; a client may set: {', '.join(CLIENT_OPTIONS)}")
    try:
        server_options.replace(**chosen)  # every choice checked, as the command line checks a flag the engine ignores
    except InputError as error:
        raise in_client_words(error)
    unused = unused_options(engine, chosen, references)
    with collected_warnings():  # the job reports them, not the server's standard error
        said = warn_unused_options(engine, chosen, references)
    used = server_options.replace(**{key: value for key, value in chosen.items() if key not in unused})
    return used, [client_words(message) for message in said]


def in_client_words(error: Exception) -> Exception:
    """``error`` itself, an input error reworded (:func:`rau.options.said_in`) to name each client option as the JSON
    field (``top_k``), not as the command line's flag (``--top-k``; ``option top_k (--top-k)`` and ``--top-k (top_k)``,
    which name both, become ``option top_k`` and ``top_k``)."""
    return said_in(error, CLIENT_NAMES)


def client_words(message: str) -> str:
    """``message`` naming each client option as the JSON field, not as the command line's flag (see :func:`in_client_words`)."""
    return in_words(message, CLIENT_NAMES)
