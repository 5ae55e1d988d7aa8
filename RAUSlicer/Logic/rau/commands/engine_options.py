"""Command-line options shared by every command that runs an engine."""

from __future__ import annotations

import argparse

from rau.engines import DEFAULT_ENGINE, ENGINES


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and the options engines read (each engine ignores those it does not use)."""
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES), help=f"default: {DEFAULT_ENGINE}")
    group.add_argument("--top-k", type=int, default=None, help="references fused when several are given (default 5)")
    group.add_argument("--fusion", choices=["vote", "staple"], default=None, help="multi-reference fusion (default vote)")
    group.add_argument("--no-deformable", action="store_true", help="registration: affine only, skip the deformable stage")
    group.add_argument("--seed", type=int, default=None, help="random seed for sampling in registration")


def engine_options(args: argparse.Namespace) -> dict:
    """The engine options the user set, as a dict for :func:`rau.engines.create_engine`."""
    keys = ["top_k", "fusion", "seed"]
    options = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "no_deformable", False):
        options["deformable"] = False
    return options
