"""``rau batch`` output names: made unique with case not counting, as macOS and Windows file systems take them."""

from pathlib import Path

import pytest

from rau.batch.items import output_names
from rau.errors import InputError


def test_targets_whose_names_differ_only_in_case_get_names_that_differ_otherwise():
    """Before, ``A/Case.png`` and ``B/case.png`` gave ``Case`` and ``case``: one set of files on macOS and Windows."""
    names = output_names([Path("/data/A/Case.png"), Path("/data/B/case.png"), Path("/data/B/other.png")])
    assert names == ["A_Case", "B_case", "B_other"]
    assert len({name.casefold() for name in names}) == len(names)


def test_targets_in_one_folder_whose_names_differ_only_in_case_are_refused_saying_so():
    with pytest.raises(InputError, match="'data_Case' and 'data_case' differ only in case, which macOS and Windows file systems do not tell apart"):
        output_names([Path("/data/Case.png"), Path("/data/case.png")])
