"""Engine options for one server job: the client's choices within what the server was started with.

The one place the server turns JSON into :class:`~rau.options.EngineOptions` (checked by that table, as
on the command line). Models, devices and remote services are the server operator's: a client may not
point the server at other files or hosts.
"""

from __future__ import annotations

from rau.errors import OptionError
from rau.options import EngineOptions, option_fields

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
    return server_options.replace(**chosen)
