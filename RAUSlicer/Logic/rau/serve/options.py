"""Engine options for one server job: the client's choices within what the server was started with.

The one place the server turns JSON into :class:`~rau.options.EngineOptions` (checked by that table, as
on the command line, its errors naming each option as the JSON field a client sends). Models, devices and remote services are the server operator's: a client may not
point the server at other files or hosts.
"""

from __future__ import annotations

import re

from rau.errors import OptionError
from rau.options import EngineOptions, flag, option_fields

CLIENT_OPTIONS = ("top_k", "fusion", "deformable", "slice_axis", "window", "slice_margin", "vlm_per_structure")
"""What a client may choose per job; every other option is the operator's."""


def options_from_json(payload: dict | None, server_options: EngineOptions) -> EngineOptions:
    """The engine options for a job: ``server_options`` plus the client's choices in ``payload``."""
    known = {spec.name for spec in option_fields()}
    chosen = {}
    for key, value in (payload or {}).items():
        if key in CLIENT_OPTIONS:
            if value is not None:
                chosen[key] = value
        elif key in known:
            if value is not None and value != getattr(server_options, key):
                raise OptionError(f"option {key} is set by the server operator ({getattr(server_options, key)!r}); leave it out")
        else:
            raise OptionError(f"unknown option {key!r}; a client may set: {', '.join(CLIENT_OPTIONS)}")
    try:
        return server_options.replace(**chosen)
    except OptionError as error:
        raise in_client_words(error) from error


def in_client_words(error: Exception) -> Exception:
    """An :class:`OptionError` naming each client option as the JSON field (``top_k``), not as the command line's flag
    (``--top-k``; ``option top_k (--top-k)`` and ``--top-k (top_k)``, which name both, become ``option top_k`` and
    ``top_k``); any other error as it is."""
    if not isinstance(error, OptionError):
        return error
    message = str(error)
    for name in CLIENT_OPTIONS:
        cli = flag(name)
        message = message.replace(f"option {name} ({cli})", f"option {name}").replace(f"{cli} ({name})", name)
        message = re.sub(rf"{re.escape(cli)}(?![\w-])", name, message)
    return OptionError(message)
