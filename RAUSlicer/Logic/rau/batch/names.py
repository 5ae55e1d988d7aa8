"""Output names of a cohort's targets: the target file's stem, prefixed with parent folders only where stems clash,
or the name an earlier run in the same ``--out`` gave the target (growing or shrinking the manifest renames nothing done)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from rau.errors import InputError
from rau.io.segmentations import output_stem


def folded(name: str) -> str:
    """A name as file systems compare it: case not counting (``Case`` and ``case`` are one file on the default file
    systems of macOS and Windows), nor how an accent is encoded (macOS stores names decomposed)."""
    return unicodedata.normalize("NFC", name).casefold()


def candidate_names(target) -> list[str]:
    """The names a target's outputs may have: its file's stem without the extension, then prefixed with one, two ...
    of its parent folders' names (``/data/site1/006_HC.png``: ``006_HC``, ``site1_006_HC``, ``data_site1_006_HC``)."""
    folders = Path(target).resolve().parent.parts[1:]
    stem = output_stem(target)
    return ["_".join([*folders[len(folders) - depth :], stem]) for depth in range(len(folders) + 1)]


def output_names(targets: list[Path], earlier: list[list[str]] | None = None, exact: list[list[str]] | None = None) -> list[str]:
    """One name per target, unique with :func:`folded` names: its stem, and for targets whose stems clash the stem
    prefixed with the fewest parent folders that make their names unique among all (each clashing group alike). With
    ``earlier`` (per target, those of its :func:`candidate_names` under which ``--out`` holds its outputs), a target
    keeps the first such name, unless another target claims it too or it would clash with another's name. With
    ``exact`` (per target, those of its ``earlier`` names whose outputs record exactly its file, not only a file of
    the same name and bytes), a name one target claims exactly is claimed by that target alone.

    Two targets in one folder whose names differ only in the extension (``a.png``, ``a.nii.gz``) are
    refused: usually one image in two formats, and no folder prefix tells their outputs apart.
    """
    candidates = [candidate_names(target) for target in targets]
    names = _prefixed_where_clashing(targets, candidates)
    return _keeping_earlier(names, _exact_claims_first(earlier, exact or [[] for _ in earlier])) if earlier else names


def _prefixed_where_clashing(targets: list[Path], candidates: list[list[str]]) -> list[str]:
    """Each target's stem, or for a group of targets sharing a stem, the group's stems prefixed with the fewest
    folders that give no name any other target has; refused when no depth does."""
    groups: dict[str, list[int]] = {}
    for index, names in enumerate(candidates):
        groups.setdefault(folded(names[0]), []).append(index)
    depth = {stem: int(len(members) > 1) for stem, members in groups.items()}
    while True:
        names = [options[min(depth[folded(options[0])], len(options) - 1)] for options in candidates]
        clashes: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            clashes.setdefault(folded(name), []).append(index)
        clashing = [members for _, members in sorted(clashes.items()) if len(members) > 1]
        if not clashing:
            return names
        for members in clashing:
            deeper = {folded(candidates[index][0]) for index in members if len(groups[folded(candidates[index][0])]) > 1
                      and depth[folded(candidates[index][0])] < len(candidates[index]) - 1}
            if not deeper:
                raise _clash(targets, names, members[:2])
        for stem in {folded(candidates[index][0]) for members in clashing for index in members}:
            if len(groups[stem]) > 1 and depth[stem] < max(len(candidates[index]) - 1 for index in groups[stem]):
                depth[stem] += 1


def _clash(targets: list[Path], names: list[str], pair: list[int]) -> InputError:
    """The refusal of two targets whose output names no folder prefix tells apart."""
    (first, one), (second, other) = [(targets[index], names[index]) for index in pair]
    if one != other and one.casefold() == other.casefold():
        why = f"their output names {one!r} and {other!r} differ only in case, which macOS and Windows file systems do not tell apart"
    elif one != other:
        why = (f"their output names {one!r} and {other!r} differ only in case or in how accented letters are encoded (one character, "
               "or a letter and an accent), which macOS file systems do not tell apart")
    elif Path(first).resolve().parent == Path(second).resolve().parent:
        why = "same folder, same name without the extension"
    else:
        why = f"their folder and file names joined with _ give {one!r} for both"
    return InputError(f"the manifest's targets {first} and {second} would write the same output files ({why}); rename one or leave one out")


def _exact_claims_first(earlier: list[list[str]], exact: list[list[str]]) -> list[list[str]]:
    """Each target's earlier names without those another target claims exactly (:func:`folded`): two copies of one
    file in two folders both match an earlier result of one of them, which is the one whose path it records."""
    claimed = {folded(name) for names in exact for name in names}
    return [[name for name in found if folded(name) not in claimed or name in mine] for found, mine in zip(earlier, exact)]


def _keeping_earlier(names: list[str], earlier: list[list[str]]) -> list[str]:
    """``names`` with each target's first earlier name in place of its own where no other target claims that name
    and no other target's name is that name (:func:`folded`); repeated until none changes (one kept name may free another)."""
    claims: dict[str, int] = {}
    for found in earlier:
        for name in {folded(name) for name in found}:
            claims[name] = claims.get(name, 0) + 1
    names = list(names)
    changed = True
    while changed:
        changed = False
        for index, found in enumerate(earlier):
            if not found or names[index] in found or claims[folded(found[0])] > 1:
                continue
            if folded(found[0]) not in {folded(name) for other, name in enumerate(names) if other != index}:
                names[index], changed = found[0], True
    return names
