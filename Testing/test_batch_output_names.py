"""``rau batch`` output names: made unique with case and Unicode normalization not counting, as macOS and Windows file systems take them;
folder prefixes only where names clash; names an earlier run gave kept."""

from pathlib import Path

import pytest

from rau.batch.names import output_names
from rau.errors import InputError


def test_targets_whose_names_differ_only_in_case_get_names_that_differ_otherwise():
    """Before, ``A/Case.png`` and ``B/case.png`` gave ``Case`` and ``case``: one set of files on macOS and Windows."""
    names = output_names([Path("/data/A/Case.png"), Path("/data/B/case.png"), Path("/data/B/other.png")])
    assert names == ["A_Case", "B_case", "other"]
    assert len({name.casefold() for name in names}) == len(names)


def test_targets_in_one_folder_whose_names_differ_only_in_case_are_refused_saying_so():
    with pytest.raises(InputError, match="'data_Case' and 'data_case' differ only in case, which macOS and Windows file systems do not tell apart"):
        output_names([Path("/data/Case.png"), Path("/data/case.png")])


def test_only_clashing_targets_are_prefixed_and_deeper_where_a_prefixed_name_is_another_target_s():
    """Before, one clash prefixed every target of the manifest (``site1_007_HC``)."""
    site1, site2 = Path("/cohort/site1/006_HC.png"), Path("/cohort/site2/006_HC.png")
    assert output_names([site1, Path("/cohort/site1/007_HC.png"), site2]) == ["site1_006_HC", "007_HC", "site2_006_HC"]
    named_so = Path("/other/site1_006_HC.png")  # what site1/006_HC.png prefixed once would be
    assert output_names([site1, site2, named_so]) == ["cohort_site1_006_HC", "cohort_site2_006_HC", "site1_006_HC"]
    assert output_names([named_so, site2, site1]) == ["site1_006_HC", "cohort_site2_006_HC", "cohort_site1_006_HC"]
    with pytest.raises(InputError, match="targets /site1_006_HC.png and /site1/006_HC.png would write the same output files "
                                         r"\(their folder and file names joined with _ give 'site1_006_HC' for both\)"):
        output_names([Path("/site1_006_HC.png"), Path("/site1/006_HC.png"), Path("/site2/006_HC.png")])


def test_a_target_keeps_the_name_of_its_earlier_outputs_unless_that_would_clash():
    site1, site2, other = Path("/cohort/site1/006_HC.png"), Path("/cohort/site2/006_HC.png"), Path("/cohort/site1/007_HC.png")
    assert output_names([site1, other, site2], [["006_HC"], [], []]) == ["006_HC", "007_HC", "site2_006_HC"]
    assert output_names([site1], [["site1_006_HC"]]) == ["site1_006_HC"]  # the manifest shrank: still its name
    assert output_names([site1, site2], [["006_HC"], ["006_HC"]]) == ["site1_006_HC", "site2_006_HC"]  # claimed twice: by neither
    named_so = Path("/other/site1_006_HC.png")  # its bare name is site1/006_HC.png's earlier one
    assert output_names([site1, named_so], [["site1_006_HC"], []]) == ["006_HC", "site1_006_HC"]


def test_a_name_claimed_by_two_copies_of_one_file_goes_to_the_target_whose_own_file_made_it():
    """Before, ``A/x.png`` and a byte-identical ``D/x.png`` both claimed the ``x`` that ``A/x.png`` was done under, so
    neither kept it: A was done again as ``A_x`` and the earlier ``x.*`` stayed in --out, in no summary."""
    a, d = Path("/data/A/x.png"), Path("/data/D/x.png")
    assert output_names([a, d], [["x"], ["x"]], [["x"], []]) == ["x", "D_x"]
    assert output_names([d, a], [["x"], ["x"]], [[], ["x"]]) == ["D_x", "x"]  # in either order
    assert output_names([d], [["x"]], [[]]) == ["x"]  # the copy alone (a project moved elsewhere) still keeps it


COMPOSED, DECOMPOSED = "caf\u00e9", "cafe\u0301"  # "café": its é as one character, or as e and a combining accent


def test_targets_whose_names_differ_only_in_unicode_normalization_get_names_that_differ_otherwise():
    """Before, ``A/café.png`` (é composed) and ``B/café.png`` (decomposed) gave ``café`` twice, one file on macOS's
    file system (it does not tell the two forms apart)."""
    names = output_names([Path(f"/data/A/{COMPOSED}.png"), Path(f"/data/B/{DECOMPOSED}.png")])
    assert names == [f"A_{COMPOSED}", f"B_{DECOMPOSED}"]


def test_targets_in_one_folder_whose_names_differ_only_in_unicode_normalization_are_refused_saying_so():
    with pytest.raises(InputError, match=f"'data_{COMPOSED}' and 'data_{DECOMPOSED}' differ only in case or in how accented letters are "
                                         r"encoded \(one character, or a letter and an accent\), which macOS file systems do not tell apart"):
        output_names([Path(f"/data/{COMPOSED}.png"), Path(f"/data/{DECOMPOSED}.png")])
