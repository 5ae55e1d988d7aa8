"""The ``rau`` command. Each subcommand's command line lives in :mod:`rau.arguments` (``add_parser``), what it does in
:mod:`rau.commands` (``run``), imported only when it runs: ``--help`` and a refused argument load no engine.

Exit status: 0 done; 1 some cases or targets failed (``evaluate``, ``batch``: the others are reported); 2 bad input (:class:`rau.errors.InputError`, message names the culprit);
70 internal error (a bug: short message, traceback saved to the file the message names; a package of an extra not
installed is bad input: :func:`rau.extras.missing_extra`);
130 cancelled (Ctrl-C); 143 terminated (SIGTERM); 141 output pipe closed (as a shell reports SIGPIPE). Temporary files never survive any of these.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import io
import os
import pkgutil
import re
import signal
import sys
import tempfile
import traceback

from rau import __version__
from rau.errors import Cancelled, InputError, Terminated, failure_reason, path_refusal
from rau.extras import missing_extra

COMMANDS = ["segment", "correct", "evaluate", "demo", "train", "models", "serve", "batch"]
EXIT_INPUT = 2
EXIT_INTERNAL = 70
EXIT_CANCELLED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141  # as a shell reports a command killed by SIGPIPE


NEGATIVE_NUMBER = re.compile(r"-\.?\d")
"""A command-line word that starts like a negative number (``-1e3``, ``-.5``, the voxel ``-1,5``, the box
``-30,310,...``): a value, never an option's name (argparse takes only ``-3`` and ``-0.5`` for values), so it reaches
the option's own check."""

GIVEN_OPTIONS = "_rau_options_given"
"""The namespace attribute holding, while a command line is parsed, the options given so far (as argparse keeps the
arguments nothing took)."""


class CommandParser(argparse.ArgumentParser):
    """argparse's parser (exit status 2), except that a bad option value ends with one line, ``rau evaluate: error:
    argument --limit: ...``; a command line of the wrong shape (an argument nothing takes, one missing) shows the
    command's usage first, as argparse does. A word like a negative number is a value (:data:`NEGATIVE_NUMBER`), and
    an option that takes a value is given once (:class:`GivenOnce`); the subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER
        for name in (None, "store"):
            self.register("action", name, GivenOnce)

    def parse_known_args(self, args=None, namespace=None):
        parsed, rest = super().parse_known_args(args, namespace)
        vars(parsed).pop(GIVEN_OPTIONS, None)
        return parsed, rest

    def error(self, message: str):
        if not message.startswith("argument "):
            self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


class GivenOnce(argparse._StoreAction):
    """argparse's action for an option that takes a value (or a fixed group of them, ``--window LOW HIGH``), except that
    the option given twice is refused, naming it: argparse kept the last one silently (a second ``--target``, a second
    ``--box``). ``twice_hint``: what to do instead, said with the refusal. Options meant to be repeated append."""

    def __init__(self, *args, twice_hint: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.twice_hint = twice_hint

    def __call__(self, parser, namespace, values, option_string=None):
        given = vars(namespace).setdefault(GIVEN_OPTIONS, set())
        if self.option_strings and self.dest in given:
            hint = f" ({self.twice_hint})" if self.twice_hint else ""
            raise argparse.ArgumentError(self, f"given twice; give it once{hint}")
        given.add(self.dest)
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The ``rau`` argument parser with one subcommand per module of :mod:`rau.arguments`."""
    parser = CommandParser(prog="rau", description="Reference-based anatomical understanding.")
    parser.add_argument("--version", action="version", version=f"rau {__version__}")  # all nodes of a Ray cluster need the same
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"rau.arguments.{name}").add_parser(subparsers)
    return parser


def parse_arguments(argv: list[str] | None = None) -> tuple[argparse.Namespace, str]:
    """The command line and the name of the innermost (sub)command given (``rau train sft``), which reports an
    argument nothing takes (``rau segment: error: unrecognized arguments: ...``, its usage, exit 2), not ``rau``."""
    argv = sys.argv[1:] if argv is None else argv
    check_text_arguments(argv)
    parser = build_parser()
    args, unrecognized = parser.parse_known_args(argv)
    chosen = chosen_parser(parser, args)
    if unrecognized:
        chosen.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    return args, chosen.prog


def check_text_arguments(argv: list[str]) -> None:
    """Refuse an argument that is no UTF-8 text (a file name in another encoding, which Python keeps as escaped bytes):
    results record their inputs' names as text, so it would fail only once the work was done."""
    from rau.validation import check_text_name

    for value in argv:
        check_text_name(value)


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand's parser that ``args`` were parsed by (``rau train sft``'s, say)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return chosen_parser(action.choices[getattr(args, action.dest)], args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the subcommand, turn known errors into a message and an exit status."""
    previous = _on_sigterm()
    _escape_what_streams_cannot_encode()
    name = "rau"
    try:
        args, name = parse_arguments(argv)
        from rau.process_pools import check_not_importing_main  # here: it imports this module

        check_not_importing_main()
        return int(pkgutil.resolve_name(args.run)(args) or 0)  # the command's module is imported here
    except InputError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except (Cancelled, KeyboardInterrupt):
        print(f"{name}: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except Terminated:
        print(f"{name}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:  # the reader of our output went away (rau ... | head): stop quietly, as tools killed by SIGPIPE do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit must not fail again
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug: keep it visible, with its traceback in a file
        refusal = path_refusal(error) or missing_extra(error)  # unless a path given is refused, or an extra not installed
        if refusal is not None:
            print(f"{name}: error: {refusal}", file=sys.stderr)
            return EXIT_INPUT
        report = save_traceback(name)
        print(f"{name}: {failure_reason(error)}; please report it with {report}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        _restore_sigterm(previous)


def save_traceback(name: str) -> str:
    """Write the current exception's traceback to a new file in the temp folder; return its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    handle, path = tempfile.mkstemp(prefix=f"{name.replace(' ', '-')}-error-{stamp}-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as file:  # whatever the arguments hold
        file.write(f"rau {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
    return path


def _escape_what_streams_cannot_encode() -> None:
    """Make stdout and stderr write what their encoding cannot hold as escapes (``\\u53f3``), so that a structure or file
    name a console cannot show (cp1252 when Windows redirects output, ASCII under ``LC_ALL=C``) never fails a run whose
    work is done. A stream of another kind (a caller's own object) is left alone; they stay so, as stderr always was."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors != "backslashreplace":
            stream.reconfigure(errors="backslashreplace")


def _on_sigterm():
    """Make SIGTERM unwind like Ctrl-C so ``finally`` blocks remove temporary files (main thread only)."""
    def terminate(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
