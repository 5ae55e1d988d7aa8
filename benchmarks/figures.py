"""The benchmarks' shared checks. ``--json`` and the set builders' OUT folder: checked when the option is read, so a
run never ends in a folder that cannot be written with its work lost; ``--json`` is written whole or not at all. GPU benchmarks: refused (exit 2)
on a machine without CUDA before anything is written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rau.errors import InputError
from rau.io.atomic import atomic_path
from rau.io.outputs import check_folder_writable, check_new_folder


def json_file(value: str) -> Path:
    """An argparse ``type=`` for ``--json PATH``: a file name whose folder exists or can be made (it is made by
    :func:`write_json`, so a run refused for another reason leaves nothing); a bad path is argparse's error."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    try:
        check_folder_writable(path.parent)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path


def output_folder(value: str) -> Path:
    """An argparse ``type=`` for an OUT folder a script writes (:func:`rau.io.outputs.check_new_folder`: new or a
    folder, where this process may write): a file, or a folder that cannot be made, is argparse's error (exit 2)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    try:
        check_new_folder(Path(value), "folder")
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return Path(value)


def write_json(path: Path, value, **dumps) -> None:
    """Write ``value`` as JSON (``dumps``: :func:`json.dumps`'s options, ``indent=2`` unless given) to ``path``,
    making its folder: a temporary file beside it, then renamed, so an interrupted write leaves no truncated file."""
    text = json.dumps(value, **{"indent": 2, **dumps}) + "\n"
    with atomic_path(path, overwrite=True) as temporary:
        temporary.write_text(text, encoding="utf-8")


def require_cuda(parser: argparse.ArgumentParser, timed: str, instead: str) -> None:
    """Exit 2 through ``parser`` unless torch sees a CUDA GPU: ``timed`` what the benchmark times, ``instead`` what to run."""
    import torch

    if not torch.cuda.is_available():
        parser.error(f"this benchmark times {timed} on a CUDA GPU, and this machine has none ({instead})")


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    """A set builder's OUT argument (:func:`output_folder`): the folder is made if missing, and files of the set's
    names already in it are replaced (a set is rebuilt in place)."""
    parser.add_argument("out", type=output_folder, help="folder to write the set into (made if missing; files of the same names in it are replaced)")
