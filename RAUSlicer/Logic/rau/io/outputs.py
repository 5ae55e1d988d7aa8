"""Output safety, checked before any computation: never replace an input, its sidecar or
the manifest (not even with ``--overwrite``), only known suffixes, a folder that can be written.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from rau.errors import InputError, OptionError
from rau.io.atomic import MAX_NAME_BYTES, check_name_lengths, check_writable, name_length_problem
from rau.io.label_tables import LABEL_TABLE_SUFFIX, SIDECAR_SUFFIXES, own_tables, sidecar_stems, table_owners
from rau.io.segmentations import label_table_path
from rau.validation import same_file

LABEL_MAP_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".png")
"""What ``--out`` may end with: a Slicer segmentation, NIfTI, NRRD, or PNG for 2D targets."""
LABEL_MAP_FILE_SUFFIXES = tuple(suffix for suffix in LABEL_MAP_SUFFIXES if suffix != ".seg.nrrd")
"""What a label map, not a Slicer segmentation, may end with."""
WRITE_CHECK = ".rau-write-check-"
"""How the file :func:`try_writing_in` makes starts its name: hidden, and no output's (another process's check is not
a file of the folder's)."""


def label_map_suffix(path, option: str = "--out", suffixes: tuple[str, ...] = LABEL_MAP_SUFFIXES) -> str:
    """The output format suffix of ``path`` (lower case), one of ``suffixes``; anything else is refused."""
    name = Path(path).name.lower()
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    raise OptionError(f"{option} {path}: name it with one of {', '.join(suffixes)} (.png for 2D targets only)")


def protected_paths(inputs) -> dict[Path, str]:
    """Every input and the sidecar label tables a reader could pick up beside it -> what it is, in words
    (the inputs themselves first, then each one's own ``.labels.csv``, then other sidecar names)."""
    protected = {_resolve(given): f"the input {given}" for given in inputs}
    owners = [(given, owner) for given in inputs for owner in table_owners(given)]  # a link's tables lie beside its file too
    for given, owner in owners:
        protected.setdefault(_resolve(label_table_path(owner)), f"the label table of the input {given}")
    for given, owner in owners:
        for candidate in [owner.with_name(stem + suffix) for stem in sidecar_stems(owner) for suffix in SIDECAR_SUFFIXES]:
            protected.setdefault(_resolve(candidate), f"{candidate.name}, which a reader would take as a label table of the input {Path(given)}")
    return protected


def check_outputs(outputs, inputs, overwrite: bool) -> None:
    """Refuse outputs that would replace an input (or its sidecar), land on one file twice, have names too long,
    are folders, exist without ``overwrite``, or lie in a folder that cannot be written."""
    check_name_lengths(outputs)
    check_spares_inputs(outputs, inputs)
    seen: set[Path] = set()
    for output in map(Path, outputs):
        resolved = _resolve(output)
        if resolved in seen:
            raise InputError(f"{output}: two outputs would be written to this one file; choose another output name")
        seen.add(resolved)
        if output.is_dir():
            raise InputError(f"{output} is a folder; give a file name")
        check_writable(output, overwrite)
        check_folder_writable(output.parent, str(output))


def not_even_with_overwrite(overwrite_option: bool) -> str:
    """What a refusal that ``--overwrite`` would not lift says of it: nothing for a command without that option."""
    return " (refused even with --overwrite)" if overwrite_option else ""


def check_no_stray_tables(label_map: Path, outputs, elsewhere: str, overwrite_option: bool = True) -> None:
    """Refuse the output ``label_map`` beside a label table of its own name (:func:`rau.io.label_tables.own_tables`)
    that this run, writing ``outputs``, does not write: a reader takes every one, so it would name the label map's
    values beside this run's table. Refused even with ``--overwrite``: not this run's file, it is not this run's to
    replace; refusals offer ``elsewhere``, and say so only where the command has it (``overwrite_option``)."""
    written = {_resolve(output) for output in outputs}
    for table in own_tables(label_map):
        if _resolve(table) not in written:
            raise InputError(f"{label_map}: {table} beside it would be read as its label table too, but this run does not "
                             f"write it{not_even_with_overwrite(overwrite_option)}; move it away, or {elsewhere}")


NOT_IN_FILE_NAMES = re.compile(r'[/\\<>:"|?*\x00-\x1f]')
"""What a name cannot hold and stay one file's name: path separators, and what Windows refuses in file names."""


WINDOWS_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|COM[1-9\u00b9\u00b2\u00b3]|LPT[1-9\u00b9\u00b2\u00b3])(\..*)?", re.IGNORECASE)
"""Names Windows keeps for its devices (COM\u00b9 too), with any extension: ``CON.seg.nrrd`` is no file there."""
UNNAMED = "segmentation"
"""The file name's stem for something whose name leaves none."""


def file_name_from(name: str, suffix: str) -> str:
    """A file name for something named ``name`` (a node's name, perhaps a DICOM series description such as
    ``W/O CONTRAST``) ending in ``suffix``: each character of :data:`NOT_IN_FILE_NAMES` becomes ``_``, so the
    name stays one file in the folder it is saved in; leading and trailing dots and spaces go (a hidden file; Windows
    drops the trailing ones), a name left empty becomes :data:`UNNAMED`, a Windows device name gets a ``_`` after it,
    and a name too long for file systems (:data:`~rau.io.atomic.MAX_NAME_BYTES`) is cut so that every file written
    from it fits: a label map (:data:`LABEL_MAP_FILE_SUFFIXES`) is written with its label table, whose name may be the
    longer (:func:`rau.io.segmentations.write_label_map`)."""
    endings = (suffix, LABEL_TABLE_SUFFIX) if suffix.lower() in LABEL_MAP_FILE_SUFFIXES else (suffix,)
    room = MAX_NAME_BYTES - max(len(ending.encode()) for ending in endings) - 1  # the device's "_"
    stem = NOT_IN_FILE_NAMES.sub("_", name).encode()[:room].decode(errors="ignore").strip(". ") or UNNAMED
    device = WINDOWS_DEVICES.fullmatch(stem + suffix)
    return (stem[:device.end(1)] + "_" + stem[device.end(1):] if device else stem) + suffix


def check_new_folder(out: Path, option: str = "--out") -> None:
    """``out`` can be an output folder (:func:`~rau.io.atomic.atomic_folder`): a name file systems take, not a file,
    below folders (not a file), and one whose folder (and itself, if it exists) this process may write in; whether it
    may hold files already is the caller's rule."""
    if problem := name_length_problem(out):
        raise InputError(f"{option} {out}: its name {problem}; choose a shorter name")
    if out.exists() and not out.is_dir():
        raise InputError(f"{option} {out}: a file, not a folder")
    above = next((folder for folder in out.parents if folder.exists()), None)
    if above is not None and not above.is_dir():
        raise InputError(f"{option} {out}: {above} is a file, not a folder")
    for folder in (Path(os.path.abspath(out)).parent, out):  # the temporary folder goes beside out; an empty out is filled
        check_folder_writable(folder, f"{option} {out}")


def check_folder_spares_inputs(folder, inputs, option: str = "--out") -> None:
    """Refuse an output ``folder``, written as a whole (what it held goes), that holds an input or a label table a
    reader takes beside one, or is, or lies inside, an input folder."""
    out = _resolve(folder)
    for path, what in protected_paths(inputs).items():
        if path.exists() and (path == out or out in path.parents):
            raise InputError(f"{option} {folder} holds {what}, which writing {option} would delete; move it out of "
                             f"{folder}, or choose another {option}")
    for given in inputs:
        if Path(given).is_dir() and (_resolve(given) == out or _resolve(given) in out.parents):
            raise InputError(f"{option} {folder} lies in the input folder {given}; write it to a folder of its own")


def check_spares_inputs(outputs, inputs, elsewhere: str = "choose another output name", overwrite_option: bool = True) -> None:
    """Refuse outputs that would replace an input or a sidecar of one, or lie inside an input folder; refusals
    offer ``elsewhere`` and, where the command has ``--overwrite`` (``overwrite_option``), say it would not help."""
    protected = protected_paths(inputs)
    folders = [_resolve(p) for p in inputs if Path(p).is_dir()]
    hits = [(output, protected.get(_resolve(output)) or next((f"the input {p}" for p in inputs if same_file(p, output)), None)) for output in map(Path, outputs)]
    hits = sorted([(output, culprit) for output, culprit in hits if culprit], key=lambda hit: not hit[1].startswith("the input"))
    if hits:  # an input itself first, then a sidecar
        output, culprit = hits[0]
        verb = "replace" if _resolve(output).exists() else "be"  # a sidecar name no file has yet would become one
        raise InputError(f"{output}: this output would {verb} {culprit}{not_even_with_overwrite(overwrite_option)}; {elsewhere}")
    for output in map(Path, outputs):
        resolved = _resolve(output)
        if any(folder in resolved.parents for folder in folders):
            raise InputError(f"{output}: this output lies inside the input folder {next(f for f in folders if f in resolved.parents)}; choose another folder")


def check_folder_writable(folder: Path, named: str | None = None) -> None:
    """The nearest existing ancestor of ``folder`` is a folder this process may write in, and no folder on the way
    to it is a link to nothing (:func:`_check_no_link_to_nothing`); a refusal starts with ``named`` (``folder`` by
    default)."""
    named = named or str(folder)
    _check_no_link_to_nothing(folder, named)
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{named}: cannot create this output folder, {existing} is a file")
    try:
        try_writing_in(existing)
    except PermissionError:
        raise InputError(f"{named}: no permission to write in {existing}") from None
    except OSError as error:  # a read-only file system, a full disk, a share gone away
        raise InputError(f"{named}: cannot write in {existing} ({error.strerror})") from None


def try_writing_in(folder: Path) -> None:
    """Make a small file in the existing ``folder`` and remove it; raise :class:`OSError` when this process cannot.
    The folder's permissions do not tell: on Windows ``os.access`` reads only the read-only attribute."""
    tempfile.TemporaryFile(dir=folder, prefix=WRITE_CHECK).close()


def _check_no_link_to_nothing(folder: Path, named: str) -> None:
    """Refuse ``folder`` when it, or the folder that would hold it, is a link to nothing (a disk not mounted, a
    moved share): making it would fail only when the outputs are written, after the computation. The refusal names
    where the links end (a link to a link to nothing: the nothing)."""
    path = Path(folder)
    while not path.exists() and path != path.parent:
        if path.is_symlink():
            raise InputError(f"{named}: {path} is a link leading to {os.path.realpath(path)}, which does not exist")
        path = path.parent


def _resolve(path) -> Path:
    """``path`` with its links followed; a loop of links is the user's to untangle."""
    try:
        return Path(os.path.abspath(Path(path).expanduser())).resolve()
    except RuntimeError as error:  # Python 3.11 raises it for a symlink loop
        raise InputError(f"{path}: {error}; the path goes round a loop of links") from None
