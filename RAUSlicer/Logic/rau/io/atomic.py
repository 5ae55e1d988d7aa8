"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from rau.errors import InputError, WriteError


class OutputExistsError(InputError, FileExistsError):
    """An output file (``path``) exists and overwriting was not allowed."""

    def __init__(self, path):
        super().__init__(f"{path} exists; replace it with --overwrite (in Python: overwrite=True)")
        self.path = Path(path)


def check_writable(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` when ``path`` exists and ``overwrite`` is False."""
    if Path(path).exists() and not overwrite:
        raise OutputExistsError(path)


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False):
    """Yield a temporary path with the same suffixes (in lower case); rename it to ``path`` on success.

    On any exception (Ctrl-C and SIGTERM included) the temporary file is removed, ``path`` is left
    untouched and the folders created for it are removed again. The file gets the permissions the
    umask allows, like any new file.
    """
    path = Path(path)
    check_writable(path, overwrite)
    with _parent_folder(path):
        suffix = "".join(path.suffixes).lower() or ".tmp"  # ITK knows .nii.gz, not .NII.GZ; the rename keeps the caller's case
        temporary = None
        try:
            handle, name = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}-", suffix=suffix, dir=path.parent)
            os.close(handle)
            temporary = Path(name)
            yield temporary
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
        except OutputExistsError:  # a file written inside (e.g. a label map beside its table) exists: not a failed write
            raise
        except OSError as error:
            raise WriteError(f"could not write {path}: {error}") from error
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def _parent_folder(path: Path):
    """Create ``path``'s missing folders; if the write fails, remove those of them that stay empty."""
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
