"""How references are named, the one rule for every caller (``rau segment``, ``rau evaluate``, ``rau batch``, the Python
API through :class:`rau.engines.base.Request`, the server by its client's file names): by their files' names, with as
many folders as tell them apart (README, "Bad input": references with the same file name in different folders)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rau.engines.base import Reference


def distinct_names(image_paths) -> list[str]:
    """Each image's file name, with as many parent folders as it takes to tell them apart (``subjA/image.nii.gz``,
    ``subjB/image.nii.gz``); distinct file names stay as they are, and a path given twice has one name."""
    given = [Path(path).absolute() for path in image_paths]
    unique = list(dict.fromkeys(given))
    paths = [path.parts for path in unique]
    depths = [1] * len(paths)
    while True:
        names = [Path(*parts[-depth:]).as_posix() for parts, depth in zip(paths, depths)]
        repeated = [i for i, name in enumerate(names) if names.count(name) > 1 and depths[i] < len(paths[i])]
        if not repeated:
            named = dict(zip(unique, names))
            return [named[path] for path in given]
        for i in repeated:
            depths[i] += 1


def named_apart(references: list[Reference], files) -> list[Reference]:
    """``references`` named by :func:`distinct_names` of their images (``files``: each one's image and labels); one
    image given with several label files is named with each one's labels: ``case.png (liver.png)``. Their labels are
    named apart so too (:attr:`rau.engines.base.Reference.labels_name`)."""
    return named_by(references, distinct_names([image for image, _ in files]), distinct_names([labels for _, labels in files]))


def named_by(references: list[Reference], image_names: list[str], label_names: list[str]) -> list[Reference]:
    """``references`` named by their images' names, an image name given more than once with its labels' name:
    ``case.png (liver.png)`` (:func:`named_apart` from paths; the server from the client's file names); their labels
    named ``label_names`` (:attr:`rau.engines.base.Reference.labels_name`)."""
    uses = Counter(image_names)
    names = [f"{image} ({label_name})" if uses[image] > 1 else image for image, label_name in zip(image_names, label_names)]
    return [dataclasses.replace(reference, name=name, labels_name=labels_name) for reference, name, labels_name in zip(references, names, label_names)]
