"""Errors a user can cause.

Everything derived from :class:`InputError` is bad input: the command line prints its
message (which names the file, option or row and the problem) and exits with status 2.
Any other exception is a bug and stays visible as one (see :func:`rau.cli.main`).
"""

from __future__ import annotations

import errno
import os
import re


class InputError(ValueError):
    """Bad input: the message names the culprit (file, option, manifest row) and the problem."""


class OptionError(InputError):
    """An engine or command option is unknown, of the wrong type or out of range."""


class UnavailableError(InputError, RuntimeError):
    """Something the user named (a model, a server) cannot be used from this machine now."""


class ImageReadError(InputError):
    """A file could not be read as an image, or holds voxels ``rau`` cannot use."""


class WriteError(InputError):
    """An output could not be written (disk full, no permission ...); nothing was left behind."""


def sizes_text(sizes) -> str:
    """Sizes along an image's axes as messages write them: ``0.25 x 0.2`` (six significant digits; the unit is the caller's)."""
    return " x ".join(f"{size:g}" for size in sizes)


def about(path, message, *aliases) -> str:
    """``message`` led by ``path``, unless it names that path, or one of ``aliases`` (the same thing otherwise named: a
    case's target file for its name), first already (as messages about a file do; one that starts with a file inside
    ``path``, ``path/model.safetensors: ...``, is led by ``path`` still)."""
    message = str(message)
    named = any(re.match(re.escape(str(name)) + r"(:|\s|$)", message) for name in (path, *aliases))
    return message if named else f"{path}: {message}"


PATH_REFUSALS = (errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR)
"""What the operating system says of a path the user gave (no permission, a name too long, a file taken for a
folder), whichever check or read met it first: bad input, not a bug."""


def path_refusal(error: BaseException) -> InputError | None:
    """``error`` as bad input naming its path when it is the operating system refusing a path
    (:data:`PATH_REFUSALS`), else None."""
    if isinstance(error, OSError) and not isinstance(error, InputError) and error.filename and error.errno in PATH_REFUSALS:
        return InputError(f"{os.fsdecode(error.filename)}: {system_reason(error)}")
    return None


def system_reason(error: OSError) -> str:
    """Why the operating system refused, in its words without the path ("permission denied")."""
    return os.strerror(error.errno).lower() if error.errno else str(error)


def failure_reason(error: Exception) -> str:
    """Why one case of a cohort failed, in a summary row: bad input by its message, which names the culprit (a path the
    operating system refused, :func:`path_refusal`, too); anything else (a bug) with its exception's class, to report it."""
    if isinstance(error, InputError):
        return str(error)
    refusal = path_refusal(error)
    return str(refusal) if refusal else f"internal error ({type(error).__name__}: {error})"


def one_line(text: str) -> str:
    """Text from another library (a download's error) as one line: its lines joined as sentences."""
    lines = _lines(text)
    return " ".join(line if line.endswith((".", ":", ";", ",")) or number == len(lines) - 1 else f"{line}."
                    for number, line in enumerate(lines))


UNREADABLE = "its header or data cannot be read in full: the file may be cut short or damaged"
"""What a reader's error says of a file whose format it knows but cannot read (ITK names the file again, and no reason)."""

UNIDENTIFIED = "no picture format could be identified in it: the file may be cut short, damaged or not a picture"
"""What a reader's error says of a picture file whose format Pillow cannot tell (Pillow names the file again)."""


def short_reason(error: Exception) -> str:
    """The informative line of a reader's error (ITK's carry a source location and a stale errno)."""
    lines = _lines(str(error)) or [type(error).__name__]
    useful = [line for line in lines if not line.startswith(("Exception thrown", "Reason: No such file"))] or lines
    reason = re.sub(r"^(ITK ERROR|sitk::ERROR): (\w+\(0x[0-9a-f]+\): )?", "", useful[-1])
    reason = re.sub(r"^cannot identify image file .*$", UNIDENTIFIED, reason)  # Pillow's: the file's path again
    return re.sub(r"^File cannot be read: .* for reading\.?$", UNREADABLE, reason)  # the file's path again, and no reason


def _lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class ServerError(RuntimeError):
    """An engine server (``rau serve``, :mod:`rau.serve.client`) refused a request or could not be reached; ``status``
    is the HTTP status (0: no answer); ``unsent``: the request never reached it (the connection was refused, the name
    not found), so it did nothing."""

    def __init__(self, message: str, status: int = 0, unsent: bool = False):
        super().__init__(message)
        self.status, self.unsent = status, unsent


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so temporary files are removed on the way out."""


class Cancelled(RuntimeError):
    """The user cancelled the run; nothing was written."""
