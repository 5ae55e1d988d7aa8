"""An output's folder that a file took the place of (after the checks, while the run computed) is a write error
naming it, not an internal error."""

from __future__ import annotations

import pytest

from rau.errors import WriteError
from rau.io.atomic import folders_held


@pytest.mark.parametrize("inside", [False, True], ids=["the_folder", "a_parent"])
def test_a_file_where_an_output_folder_goes_is_a_write_error(tmp_path, inside):
    """Before: FileExistsError / NotADirectoryError from mkdir (rau evaluate --json: exit 70, 'internal error')."""
    (tmp_path / "vanish").write_text("")
    folder = tmp_path / "vanish" / "deeper" if inside else tmp_path / "vanish"
    with pytest.raises(WriteError, match=rf"could not write {folder}: "):
        with folders_held([folder / "x.json", folder / "x.csv"]):
            pass
    assert (tmp_path / "vanish").read_text() == ""
