"""Warnings to the user: printed on standard error, or collected for a caller that shows them itself.

The readers, writers and engines say what the user should know (a label value the table does not name,
structures a label map cannot show in full) with :func:`warn`. The command line prints them and records a
run's in its result JSON; the server collects them per job (:func:`collected_warnings`) and reports them with the
job, as its client cannot see the server's standard error; a ``rau batch`` worker hands back what it would print
(:func:`collected_warnings` with a list to echo to, and Python's own warnings: :func:`python_warnings_into`), as a Ray
actor's standard error is not the user's. Collection is
per thread (a context variable), so jobs running at once keep theirs apart.
"""

from __future__ import annotations

import sys
import threading
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable

_COLLECTED: ContextVar[tuple[list[str], bool | list[str]] | None] = ContextVar("rau_collected_warnings", default=None)
_WORDING: ContextVar[Callable[[str], str] | None] = ContextVar("rau_warnings_wording", default=None)
WARNING_FILTERS = threading.RLock()
"""Held by each read that changes Python's warning filters or records its warnings (``warnings.catch_warnings``: a
picture's, a DICOM file's functional groups): they are process-wide, and two such blocks overlapping in two threads
(``rau serve``'s jobs, the module's worker thread) would put them back out of order, every later warning of the
process swallowed or ignored. The reads are quick. :func:`python_warnings_into`, which spans a worker process's
whole work, holds none: a read in another thread of that process would wait for it."""
_PRINTED_ONCE: set[str] = set()
"""The messages :func:`warn_once` has printed (or echoed to a list) in this process."""


def warn(message: str) -> None:
    """Tell the user ``message``: printed as ``warning: message``, or kept by the innermost :func:`collected_warnings`
    (and printed too if it echoes)."""
    message = _worded(message)
    if _printed_here():
        _print(message)
    record(message)


def warn_once(message: str) -> None:
    """:func:`warn` for a warning that every run would say again (a loaded model's: :func:`model_warnings`): recorded
    once by each :func:`collected_warnings` it is said in, printed once per process."""
    message = _worded(message)
    collected = _COLLECTED.get()
    if collected is not None and message in collected[0]:
        return
    if _printed_here() and message not in _PRINTED_ONCE:
        _PRINTED_ONCE.add(message)
        _print(message)
    record(message)


def _worded(message: str) -> str:
    """``message`` as the innermost :func:`warnings_worded` words it (as it is outside one)."""
    wording = _WORDING.get()
    return wording(message) if wording else message


def _printed_here() -> bool:
    """Whether a warning said now is printed: outside any :func:`collected_warnings`, or inside one that echoes."""
    collected = _COLLECTED.get()
    return collected is None or collected[1] is not False


def _print(message: str) -> None:
    """Print ``message`` on standard error, or add it to the list the innermost :func:`collected_warnings` echoes to."""
    collected = _COLLECTED.get()
    if collected is not None and isinstance(collected[1], list):
        collected[1].append(message)
    else:
        print(f"warning: {message}", file=sys.stderr)


def record(message: str) -> None:
    """Keep ``message`` in the innermost :func:`collected_warnings` without printing it (for a caller that reports it
    itself, as ``rau evaluate`` does a case's); outside one, nothing."""
    if (collected := _COLLECTED.get()) is not None:
        collected[0].append(message)


@contextmanager
def model_warnings():
    """Around the loading of a model: keep the warnings it says (no GPU, an adapter trained on another base model) in
    the list it yields, and say them when it ends (:func:`say_again`). The model, kept warm for later runs (a
    ``rau batch`` worker's, a ``rau serve`` engine's), says them again on each use, so that each run records them."""
    try:
        with collected_warnings() as said:
            yield said
    finally:
        say_again(said)


def say_again(messages: list[str]) -> None:
    """Say a loaded model's warnings (:func:`model_warnings`) with :func:`warn_once`."""
    for message in messages:
        warn_once(message)


@contextmanager
def collected_warnings(echo: bool | list[str] = False):
    """Keep the warnings said inside the block (in this thread) in the list it yields, instead of printing them;
    ``echo``: print them as well (a command that also records them in its result JSON), or, a list, add there those
    it would print (a worker's, for the process the user sees to print)."""
    collected: list[str] = []
    token = _COLLECTED.set((collected, echo))
    try:
        yield collected
    finally:
        _COLLECTED.reset(token)


@contextmanager
def warnings_worded(wording: Callable[[str], str]):
    """Say the warnings said inside the block (in this thread) as ``wording(message)``: for a front end that names
    options otherwise than the command line (:func:`rau.options.worded_for`)."""
    token = _WORDING.set(wording)
    try:
        yield
    finally:
        _WORDING.reset(token)


@contextmanager
def python_warnings_into(said: list[str], about: str):
    """Around a ``rau batch`` worker's work: the Python warnings it meets (Pillow's of a damaged file's tags) are
    added to ``said``, each text once and after ``about`` (the target's name), instead of going to the worker's
    standard error, which is not the user's for a Ray actor. Python's filters decide what is kept, as they decide what
    is printed. ``warnings.catch_warnings`` is process-wide: for a process that does one thing at a time."""
    with warnings.catch_warnings(record=True) as heard:
        try:
            yield
        finally:
            said += [f"{about}{text}" for text in dict.fromkeys(str(warning.message) for warning in heard)]


def ignore_deprecated_checkpointing_reads() -> None:
    """Keep out of the output the one FutureWarning transformers 5.24 gives when peft (wrapping a model in a LoRA) or
    trl (generating during GRPO) reads a model's deprecated ``is_gradient_checkpointing``: rau cannot avoid it. The
    filter stays installed (calling again keeps one copy): ``warnings.catch_warnings`` is process-wide and not
    thread-safe, and ``rau serve`` loads adapters in job threads."""
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
