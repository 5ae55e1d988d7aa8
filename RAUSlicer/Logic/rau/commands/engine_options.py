"""Command-line options shared by every command that runs an engine, made from :class:`rau.options.EngineOptions`."""

from __future__ import annotations

import argparse
import typing

from rau.engines import DEFAULT_ENGINE, ENGINES
from rau.options import DEFAULTS, EngineOptions, flag, option_fields, value_type


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and one flag per engine option (each engine ignores those it does not use).

    Every flag defaults to None ("not given"), so :func:`engine_options` leaves the default to
    :class:`EngineOptions`. A boolean option whose default is True gets a ``--no-...`` flag.
    """
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES), help=f"default: {DEFAULT_ENGINE}")
    hints = typing.get_type_hints(EngineOptions)
    for spec in option_fields():
        if not spec.metadata["cli"]:
            continue
        kind, default, text = value_type(hints[spec.name]), getattr(DEFAULTS, spec.name), spec.metadata["help"]
        if kind is bool:
            name, shown = (flag(spec.name), "") if not default else ("--no-" + spec.name.replace("_", "-"), " (on by default; this flag turns it off)")
            group.add_argument(name, dest=spec.name, action="store_const", const=not default, default=None, help=text + shown)
            continue
        extra = {"nargs": 2, "type": float} if kind is tuple else {"type": kind}
        if spec.metadata["choices"]:
            extra["choices"] = spec.metadata["choices"]
        if spec.metadata["metavar"]:
            extra["metavar"] = spec.metadata["metavar"]
        shown = f" (default: {default})" if default is not None else ""
        group.add_argument(flag(spec.name), dest=spec.name, default=None, help=text + shown, **extra)


def engine_options(args: argparse.Namespace, **fixed) -> EngineOptions:
    """The engine options the user gave (others keep their defaults), plus ``fixed`` ones set by the command."""
    given = {spec.name: getattr(args, spec.name) for spec in option_fields() if getattr(args, spec.name, None) is not None}
    return EngineOptions.from_dict({**given, **fixed})
