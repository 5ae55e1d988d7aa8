"""The benchmarks' ``--json`` option: its folder is made when the option is read, so a run of many minutes never
ends in a missing folder with its figures lost."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def json_file(value: str) -> Path:
    """An argparse ``type=`` for ``--json PATH``: makes the file's folder now; a bad path is argparse's error."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot make the folder {path.parent} ({error.strerror})") from None
    if not os.access(path.parent, os.W_OK):  # found now, not once a run of hours has ended
        raise argparse.ArgumentTypeError(f"no permission to write in {path.parent}")
    return path
