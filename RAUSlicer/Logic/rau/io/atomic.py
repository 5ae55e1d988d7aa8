"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from rau.errors import InputError, WriteError
from rau.file_locks import folder_locked


class OutputExistsError(InputError, FileExistsError):
    """An output file (``path``) exists and overwriting was not allowed."""

    def __init__(self, path):
        super().__init__(f"{path} exists; replace it with --overwrite (in Python: overwrite=True)")
        self.path = Path(path)


MAX_NAME_BYTES = 255
"""The longest file name, in bytes (UTF-8), that Linux and macOS file systems take (ext4, XFS, APFS)."""


def name_length_problem(path) -> str | None:
    """How the last name of ``path`` is longer than file systems allow (:data:`MAX_NAME_BYTES`); None if it fits."""
    length = len(os.fsencode(Path(path).name))
    return f"is {length} bytes long, over the {MAX_NAME_BYTES} that file systems allow" if length > MAX_NAME_BYTES else None


def check_name_lengths(outputs, remedy: str = "choose a shorter output name") -> None:
    """Refuse an output whose file name is longer than file systems allow (a sidecar's name is the longest)."""
    for output in map(Path, outputs):
        if problem := name_length_problem(output):
            raise InputError(f"{output}: this output's file name {problem}; {remedy}")


def check_writable(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` when ``path`` exists and ``overwrite`` is False (and refuse a name too long for
    file systems, :func:`check_name_lengths`, which the system would only answer with "File name too long")."""
    check_name_lengths([path])
    if Path(path).exists() and not overwrite:
        raise OutputExistsError(path)


def write_error(path: Path, error: OSError) -> WriteError:
    """The failure to write ``path``, told by ``error``'s reason alone (its file name would be a temporary one)."""
    return WriteError(f"could not write {path}: {error.strerror or error}")


TEMPORARY_STEM = 64
"""Bytes of the output's name that its temporary file keeps (file systems allow 255 in all)."""
TEMPORARY_NAME = re.compile(r"(?P<prefix>\..*?\.rau-)[a-z0-9_]{8}(?P<suffix>\..*)")
"""A temporary file's name (:func:`_hidden_prefix`, then the 8 random characters of :func:`tempfile.mkstemp`)."""


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False):
    """Yield a temporary path with the same file type (:func:`file_type_suffix`); put it at ``path`` on success.

    On any exception (Ctrl-C and SIGTERM included) the temporary file is removed, ``path`` is left
    untouched and the folders created for it are removed again. The file gets the permissions the
    umask allows, like any new file. Without ``overwrite`` an existing ``path`` is never replaced, not even one
    that another process wrote meanwhile (:class:`OutputExistsError`). Inside :func:`output_set` (or another
    ``atomic_path``) the file is placed with the set's others, all or none.
    """
    path = Path(path)
    if path in _open_temporaries.paths:  # a writer given an enclosing atomic_path's temporary file: write it directly
        yield path  # (another temporary beside it, named after no output, would be one no later run could clear away)
        return
    check_writable(path, overwrite)
    with output_set() as pending:
        pending.folders.extend(_make_folder(path.parent))
        temporary = None
        try:
            handle, name = tempfile.mkstemp(prefix=_hidden_prefix(path.name.split(".")[0]), suffix=file_type_suffix(path), dir=path.parent)
            os.close(handle)
            temporary = Path(name)
            with _opened(temporary):
                yield temporary
            os.chmod(temporary, 0o666 & ~current_umask())
            pending.files.append((temporary, path, overwrite))
            temporary = None  # the set places it, or removes it
        except OutputExistsError:  # a file written inside (e.g. a label map beside its table) exists: not a failed write
            raise
        except WriteError as error:  # a writer given the temporary file names it: name the output
            raise WriteError(str(error).replace(str(temporary), str(path))) from error
        except OSError as error:
            raise write_error(path, error) from error
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)


class _OpenTemporaries(threading.local):
    """The temporary files :func:`atomic_path` has yielded in this thread and not yet placed."""

    def __init__(self):
        self.paths: set[Path] = set()


_open_temporaries = _OpenTemporaries()


@contextlib.contextmanager
def _opened(temporary: Path):
    _open_temporaries.paths.add(temporary)
    try:
        yield
    finally:
        _open_temporaries.paths.discard(temporary)


NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS)
"""What a file system without hard links (FAT, some network shares) says to one."""


class _PendingOutputs(threading.local):
    """The files (temporary, output, overwrite) and new folders of the :func:`output_set` open in this thread."""

    files: list | None = None
    folders: list | None = None


_pending = _PendingOutputs()


@contextlib.contextmanager
def output_set():
    """Yield the pending outputs of a set of files written together (a label map, its table and result JSON): every
    :func:`atomic_path` in the block is placed when it ends, in the order they finished, and if one cannot be
    (an existing file without overwrite, a file the system will not replace), those placed are taken back out and
    the files they replaced put back. A set opened inside another joins it."""
    if _pending.files is not None:
        yield _pending
        return
    _pending.files, _pending.folders = [], []
    placed = False
    try:
        yield _pending
        _place_all(_pending.files)
        placed = True
    finally:
        for temporary, _, _ in _pending.files:  # a hard link placed it: its temporary name goes too
            temporary.unlink(missing_ok=True)
        for folder in [] if placed else reversed(_pending.folders):  # deepest last in the list: those left empty go
            with contextlib.suppress(OSError):
                folder.rmdir()
        _pending.files = _pending.folders = None


@contextlib.contextmanager
def folders_held(paths):
    """Hold the folders of the outputs ``paths`` (made now, removed again if the block fails while they are empty)
    locked for the block (:func:`rau.file_locks.folder_locked`), each once and in one order (two writers never wait
    for each other): of two runs writing the same set of outputs at once, one writes and places its whole set before
    the other begins. Enter it before :func:`signals_deferred`'s ``hold()``, so that Ctrl-C can end the wait, and
    never inside another (it would wait for itself)."""
    with contextlib.ExitStack() as stack:
        for folder in sorted({Path(os.path.abspath(path)).parent for path in paths}):
            stack.enter_context(_made_folder(folder))
            while not stack.enter_context(folder_locked(folder)):  # removed by the run it waited for, whose write failed
                stack.enter_context(_made_folder(folder))
        yield


def _place_all(files) -> None:
    """Move each temporary file to its output; on a failure, undo the moves before it (see :func:`output_set`)."""
    placed = []  # (output, the earlier file's hidden copy or None)
    try:
        for temporary, path, overwrite in files:
            earlier = _set_aside(path) if overwrite and path.exists() else None
            placed.append((path, earlier, False))
            _place(temporary, path, overwrite)
            placed[-1] = (path, earlier, True)
    except BaseException:
        for path, earlier, done in reversed(placed):
            with contextlib.suppress(OSError):  # the error that stopped the set is the one to tell
                if done:
                    path.unlink()
                if earlier is not None:
                    os.replace(earlier, path)
        raise
    for _, earlier, _ in placed:
        if earlier is not None:
            earlier.unlink(missing_ok=True)


def _set_aside(path: Path) -> Path:
    """Keep an output about to be replaced under a hidden name beside it (not one :func:`leftover_temporaries`
    takes): a hard link, so the output stays in place until the new file replaces it in one step (a file system
    without hard links: renamed, and missing for that moment)."""
    if path.is_dir() and not path.is_symlink():
        raise WriteError(f"could not write {path}: a folder of that name is in the way")
    handle, name = tempfile.mkstemp(prefix=_hidden_prefix(path.name.split(".")[0]) + "earlier-", dir=path.parent)
    os.close(handle)
    try:
        try:
            os.unlink(name)  # the name is the link's
            os.link(path, name, follow_symlinks=False)
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
            os.replace(path, name)
    except OSError as error:
        Path(name).unlink(missing_ok=True)
        raise write_error(path, error) from error
    return Path(name)


def _place(temporary: Path, path: Path, overwrite: bool) -> None:
    """Move ``temporary`` to ``path``; without ``overwrite`` by a hard link, which fails when ``path`` exists (a
    rename would replace a file another process placed since :func:`check_writable`)."""
    try:
        if overwrite:
            os.replace(temporary, path)
            return
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise OutputExistsError(path) from None
        except OSError as error:  # a file system without hard links (FAT, some network shares): check, then rename
            if error.errno not in NO_HARD_LINKS:
                raise
            check_writable(path, overwrite)
            os.replace(temporary, path)
    except OSError as error:
        if isinstance(error, OutputExistsError):
            raise
        raise write_error(path, error) from error


@contextlib.contextmanager
def signals_deferred():
    """Yield ``hold()``: from its call to the end of the block, Ctrl-C and SIGTERM are kept and acted on when the
    block ends, so that the renames of a set of outputs (a label map, its table and result JSON) all happen or none
    do. Signals reach Python in the main thread only; elsewhere (a server's job thread) ``hold()`` does nothing."""
    caught, previous = [], {}

    def hold():
        if not previous and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is not None:  # None: a handler set outside Python, which cannot be put back
                    previous[signum] = signal.signal(signum, lambda signum, frame: caught.append(signum))

    try:
        yield hold
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):  # Python's KeyboardInterrupt, the CLI's Terminated
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


@contextlib.contextmanager
def atomic_folder(path, overwrite: bool = False):
    """Yield a new temporary folder beside ``path``; on success rename it to ``path``, or move what it holds into
    ``path`` when that is an empty folder already (which so keeps its permissions, owner and place). With
    ``overwrite`` a ``path`` folder that holds files is replaced (:func:`_replace_folder`).

    Like :func:`atomic_path`: on any exception nothing stays, not even the folders created for it; what
    was written inside gets the permissions the umask allows (some writers make their files private).
    """
    path = Path(os.path.abspath(path))  # "." and "a/.." name their folder: the temporary one goes beside it, not in it
    with _made_folder(path.parent):
        temporary = None
        try:
            temporary = Path(tempfile.mkdtemp(prefix=_hidden_prefix(path.name), dir=path.parent))
            yield temporary
            _allow_umask_permissions(temporary)
            if overwrite and path.is_dir() and any(path.iterdir()):
                _replace_folder(temporary, path)
            elif path.is_dir():
                _move_contents(temporary, path)
            else:
                os.replace(temporary, path)
        except OSError as error:
            raise write_error(path, error) from error
        finally:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)


def _replace_folder(temporary: Path, folder: Path) -> None:
    """Put ``temporary`` in ``folder``'s place: the earlier folder is set aside under a fresh hidden name (so that
    one a killed run left never blocks nor is lost), put back if the new one cannot take its place, else removed."""
    earlier = Path(tempfile.mkdtemp(prefix=_hidden_prefix(folder.name) + "earlier-", dir=folder.parent))
    earlier.rmdir()  # the name is the earlier folder's
    os.replace(folder, earlier)
    try:
        os.replace(temporary, folder)
    except BaseException:
        os.replace(earlier, folder)
        raise
    shutil.rmtree(earlier)


def _move_contents(source: Path, folder: Path) -> None:
    """Move everything in ``source`` into the empty ``folder``; on a failure, what was moved is removed again."""
    if any(folder.iterdir()):
        raise OSError(f"{folder} is no longer empty")
    moved = []
    try:
        for entry in sorted(source.iterdir()):
            os.replace(entry, folder / entry.name)
            moved.append(folder / entry.name)
    except BaseException:
        for entry in moved:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        raise


def leftover_temporaries(paths) -> list[Path]:
    """The temporary files :func:`atomic_path` made for any of ``paths`` that a process killed while writing left
    behind (SIGKILL, out of memory, a Ray actor killed: no ``finally`` ran); each folder is listed once."""
    wanted = {(Path(path).parent, _hidden_prefix(Path(path).name.split(".")[0]), file_type_suffix(Path(path))) for path in paths}
    found = []
    for folder in sorted({folder for folder, _, _ in wanted}):
        for file in folder.iterdir() if folder.is_dir() else ():
            parts = TEMPORARY_NAME.fullmatch(file.name)
            if parts and (folder, parts["prefix"], parts["suffix"]) in wanted and file.is_file():
                found.append(file)
    return sorted(found)


def _hidden_prefix(stem: str) -> str:
    """A temporary file's name start beside its output: hidden, and short enough (:data:`TEMPORARY_STEM` bytes) that
    the random part fits too."""
    return "." + stem.encode()[:TEMPORARY_STEM].decode(errors="ignore") + ".rau-"  # no name a user gives a file of their own


def _allow_umask_permissions(folder: Path) -> None:
    """Give ``folder`` and everything in it the permissions a new file or folder gets under the umask."""
    umask = current_umask()
    os.chmod(folder, 0o777 & ~umask)
    for parent, folders, files in os.walk(folder):
        for name in folders:
            os.chmod(os.path.join(parent, name), 0o777 & ~umask)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o666 & ~umask)


def file_type_suffix(path: Path) -> str:
    """The suffix that tells writers the file type, in lower case (ITK knows .nii.gz, not .NII.GZ; the rename keeps
    the caller's case): the last one, with the one before it for ``.gz`` and ``.seg.nrrd``. No more: ITK's NIfTI
    writer cuts a name at its first ``.nii``, so ``case.nii.gz.nii.gz`` would be written as ``case.nii.gz``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if not suffixes:
        return ".tmp"
    compound = len(suffixes) > 1 and (suffixes[-1] == ".gz" or suffixes[-2:] == [".seg", ".nrrd"])
    return "".join(suffixes[-2:] if compound else suffixes[-1:])


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those made, outermost first."""
    missing = _missing_folders(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist, the deepest first."""
    return list(itertools.takewhile(lambda made: not made.exists(), [folder, *folder.parents]))


@contextlib.contextmanager
def new_folders_removed_on_error(folder):
    """A context in which ``folder`` and its parents that do not exist yet may be made: if what runs in it fails,
    those of them that are still empty are removed again, the deepest first."""
    missing = _missing_folders(Path(folder))
    try:
        yield
    except BaseException:
        for made in missing:
            with contextlib.suppress(OSError):
                made.rmdir()
        raise


@contextlib.contextmanager
def _made_folder(folder: Path):
    """Create ``folder`` and its missing parents (a file in the way: :func:`write_error`); if the write fails, remove
    those of them that stay empty."""
    with new_folders_removed_on_error(folder):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a file where the folder goes, put there after the outputs were checked
            raise write_error(folder, error) from error
        yield


def current_umask() -> int:
    """The process's umask (set and put back at once: Python has no way to read it alone)."""
    current = os.umask(0o022)
    os.umask(current)
    return current
