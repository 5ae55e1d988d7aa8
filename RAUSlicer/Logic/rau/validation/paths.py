"""Questions asked of a path that the file system may refuse to answer."""

from __future__ import annotations

import errno
from pathlib import Path


def file_exists(path) -> bool:
    """Whether ``path`` names a file (links followed). A name that file systems cannot hold (too long) names none:
    ``Path.is_file`` would raise for it (Python 3.11) where a caller only asks whether a file is there."""
    try:
        return Path(path).is_file()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            return False
        raise
