"""The ``rau`` command. Each subcommand lives in :mod:`rau.commands` (``add_parser`` + ``run``)."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["segment", "evaluate", "demo", "train", "models"]


class UsageError(Exception):
    """Bad input that should end the command with a message and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rau", description="Reference-based anatomical understanding.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rau.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the subcommand, turn expected errors into a message and exit code."""
    from rau.engines.base import Cancelled

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except Cancelled as error:
        print(f"rau: {error}", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, RuntimeError, UsageError) as error:
        print(f"rau {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
