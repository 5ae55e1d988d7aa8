"""Which files a NIfTI-1 pair (a header and voxels pair) is, as ITK's NIfTI reader finds them beside the file named."""

from __future__ import annotations

from pathlib import Path

from rau.validation.paths import file_exists


NIFTI_PAIR_SUFFIXES = (".hdr", ".hdr.gz", ".img", ".img.gz")
"""Names of either file of a header and voxels pair, which ITK reads as NIfTI-1 (``ni1``) or Analyze 7.5 (no magic)."""


def nifti_files(path) -> tuple[Path, Path]:
    """The file holding a NIfTI file's header and the one holding its voxels: ``path`` itself for both, or a pair's
    files found as ITK's NIfTI reader finds them beside ``path``: the header ``path`` itself unless it names the
    voxels, else ``.hdr`` or ``.hdr.gz``; the voxels ``.img`` or ``.img.gz`` (the first that exists; the first when
    neither does), each in the case of ``path``'s extension."""
    path = Path(path)
    suffix = pair_suffix(path)
    if suffix is None:
        return path, path
    stem, upper = path.name[: -len(suffix)], suffix.isupper()

    def beside(*suffixes: str) -> Path:
        named = [path.with_name(stem + (ending.upper() if upper else ending)) for ending in suffixes]
        return next((file for file in named if file_exists(file)), named[0])

    header = beside(".hdr", ".hdr.gz") if suffix.lower().startswith(".img") else path
    return header, beside(".img", ".img.gz")


def pair_suffix(path) -> str | None:
    """The extension of ``path`` when it names either file of a header and voxels pair (:data:`NIFTI_PAIR_SUFFIXES`),
    as written; None otherwise, also for an extension of mixed case (``.Hdr``), which ITK does not read."""
    name = Path(path).name
    suffix = next((name[-len(ending):] for ending in NIFTI_PAIR_SUFFIXES if name.lower().endswith(ending)), None)
    return suffix if suffix is not None and (suffix.islower() or suffix.isupper()) else None
