"""Two references of the same image that share a structure's voxels vote twice only on a structure the run asks for:
a run asking only for a structure they outline differently is served; one asking for the shared structure (or for
every structure) is refused naming it. Names asked are matched as names are matched (case and spaces aside)."""

from pathlib import Path

import pytest

from test_reference_copy_structures import assert_refused_as_copy, reference_copy, segment
from test_reference_shared_structures import with_ring


def segment_two_annotations(tmp_path: Path, structures: list[str]) -> int:
    """The same head with two different rings on HC18 000 (the picture re-saved), run asking for ``structures``."""
    first = with_ring(reference_copy(tmp_path / "a", 255, "unused", compress_level=9))
    second = with_ring(reference_copy(tmp_path / "c", 255, "unused"), ring_width=12)
    return segment(tmp_path, second, first, structures)


def test_a_structure_shared_but_not_asked_for_does_not_refuse_the_references(tmp_path, capsys):
    """Before: exit 2, 'is a copy of ... for 'Fetal Head'', a structure the run did not segment."""
    assert segment_two_annotations(tmp_path, ["RING"]) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "seg.nii.gz").exists()


@pytest.mark.parametrize("structures", [["fetal head", "ring"], None])
def test_the_shared_structure_asked_for_or_every_structure_is_refused(tmp_path, capsys, structures):
    assert_refused_as_copy(tmp_path, capsys, segment_two_annotations(tmp_path, structures),
                           "reference 'c/img.png' (labels 'c/two.png') is a copy of 'a/img.png' (labels 'a/two.png') for 'Fetal Head'")
