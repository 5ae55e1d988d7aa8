"""Engine options for one server job: the client's choices within what the server was started with.

The one place the server turns JSON into engine options (the dict read by
:func:`rau.engines.create_engine`, as the CLI's :func:`rau.commands.engine_options.engine_options` builds it).
Models, devices and remote services are the server operator's: a client may not point the server at
other files or hosts.
"""

from __future__ import annotations

from rau.errors import OptionError

CLIENT_OPTIONS = {
    "top_k": lambda v: _positive_int(v, "top_k"),
    "fusion": lambda v: _choice(v, "fusion", ("vote", "staple")),
    "deformable": lambda v: _bool(v, "deformable"),
    "slice_axis": lambda v: _choice(v, "slice_axis", ("auto", "i", "j", "k")),
    "window": lambda v: _window(v),
    "vlm_per_structure": lambda v: _bool(v, "vlm_per_structure"),
}
SERVER_OPTIONS = ("sam2_model", "device", "vlm_model", "vlm_server", "vlm_adapter", "vlm_family")


def options_from_json(payload: dict | None, server_options: dict) -> dict:
    """The engine options for a job: ``server_options`` plus the client's checked choices in ``payload``."""
    options = dict(server_options)
    for key, value in (payload or {}).items():
        if key in SERVER_OPTIONS:
            if value is not None and value != server_options.get(key):
                raise OptionError(f"option {key} is set by the server operator ({server_options.get(key)!r}); leave it out")
        elif key in CLIENT_OPTIONS:
            if value is not None:
                options[key] = CLIENT_OPTIONS[key](value)
        else:
            raise OptionError(f"unknown option {key!r}; a client may set: {', '.join(CLIENT_OPTIONS)}")
    return options


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"option {name} must be a whole number of at least 1, got {value!r}")
    return value


def _choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(f"option {name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"option {name} must be true or false, got {value!r}")
    return value


def _window(value) -> list[float]:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, (int, float)) for v in value) or value[0] >= value[1]:
        raise OptionError(f"option window must be [low, high] with low < high, got {value!r}")
    return [float(v) for v in value]
