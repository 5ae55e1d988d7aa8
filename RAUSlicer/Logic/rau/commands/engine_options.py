"""Command-line options shared by every command that runs an engine, made from :class:`rau.options.EngineOptions`."""

from __future__ import annotations

import argparse
import typing

from rau.engines import DEFAULT_ENGINE, ENGINES
from rau.options import DEFAULTS, EngineOptions, flag, option_fields, value_type


def add_engine_arguments(parser: argparse.ArgumentParser, engine_default: str | None = DEFAULT_ENGINE, engine_help: str = "") -> None:
    """``--engine`` (``engine_default`` when not given, said by ``engine_help``) and one flag per engine option (one the
    chosen engine does not use is ignored with a warning: :func:`rau.engines.checks.warn_unused_options`).

    Every flag defaults to None ("not given"), so :func:`engine_options` leaves the default to
    :class:`EngineOptions`. A boolean option whose default is True gets a ``--no-...`` flag.
    """
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default=engine_default, choices=sorted(ENGINES), help=engine_help or f"default: {engine_default}")
    add_option_arguments(group, [spec.name for spec in option_fields() if spec.metadata["cli"]])


def add_option_arguments(group, names: list[str], defaults_shown: bool = True) -> None:
    """One flag per engine option in ``names`` (see :func:`add_engine_arguments`); ``defaults_shown``: the help
    gives each option's default."""
    hints = typing.get_type_hints(EngineOptions)
    for spec in (spec for spec in option_fields() if spec.name in names):
        kind, default, text = value_type(hints[spec.name]), getattr(DEFAULTS, spec.name), spec.metadata["help"]
        if kind is bool:
            shown = " (on by default; this flag turns it off)" if default else ""
            group.add_argument(flag(spec.name), dest=spec.name, action="store_const", const=not default, default=None, help=text + shown)
            continue
        extra = {"nargs": 2, "type": float} if kind is tuple else {"type": kind}
        if spec.metadata["choices"]:
            extra["choices"] = spec.metadata["choices"]
        if spec.metadata["metavar"]:
            extra["metavar"] = spec.metadata["metavar"]
        shown = f" (default: {default})" if default is not None and defaults_shown else ""
        group.add_argument(flag(spec.name), dest=spec.name, default=None, help=text + shown, **extra)


def engine_options(args: argparse.Namespace, **fixed) -> EngineOptions:
    """The engine options the user gave (others keep their defaults), plus ``fixed`` ones set by the command."""
    return EngineOptions.from_dict({**given_options(args), **fixed})


def given_options(args: argparse.Namespace) -> dict:
    """The engine options given on the command line, by name (not their defaults)."""
    return {spec.name: getattr(args, spec.name) for spec in option_fields() if getattr(args, spec.name, None) is not None}
