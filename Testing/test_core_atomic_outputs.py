"""Atomic outputs: a failed write leaves nothing, a set of files is placed all or none, and an output is never
replaced silently (rau.io.atomic)."""

import re

import pytest

from rau.errors import WriteError
from rau.io import OutputExistsError
from rau.io.atomic import atomic_path, output_set


def test_failed_write_leaves_no_partial_file(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "result.nii.gz") as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_a_set_of_outputs_is_placed_all_or_none(tmp_path):
    """Before: each file was renamed on its own, so when the last could not be (a folder, an immutable file in its
    place) the first ones were already replaced: a new label table beside an earlier run's label map."""
    table, label_map = tmp_path / "out.labels.csv", tmp_path / "out.nii.gz"
    table.write_text("earlier table")
    label_map.write_text("earlier label map")
    with pytest.raises(WriteError, match=f"could not write {re.escape(str(label_map))}: "), output_set():
        with atomic_path(table, overwrite=True) as temporary:
            temporary.write_text("new table")
        with atomic_path(label_map, overwrite=True) as temporary:
            temporary.write_text("new label map")
            label_map.unlink()
            label_map.mkdir()  # what the system will not replace, appeared while the run wrote
            (label_map / "kept").write_text("")
    assert table.read_text() == "earlier table" and (label_map / "kept").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.labels.csv", "out.nii.gz"]  # no hidden file left


def test_an_output_another_process_placed_while_this_one_wrote_is_not_replaced(tmp_path):
    """Before: without overwrite, the output was checked when the write began and then renamed over whatever was
    there: of two runs started together, both said "wrote" and the later one's files silently won."""
    out, folder = tmp_path / "new" / "out.labels.csv", tmp_path / "new"
    with pytest.raises(OutputExistsError, match="exists; replace it with --overwrite"):
        with atomic_path(out) as temporary:
            temporary.write_text("mine")
            out.write_text("theirs")
    assert out.read_text() == "theirs" and list(folder.iterdir()) == [out]
    with pytest.raises(OutputExistsError), output_set():  # and in a set, what this run placed goes again
        with atomic_path(tmp_path / "first.csv") as temporary:
            temporary.write_text("mine")
        with atomic_path(out) as temporary:
            temporary.write_text("mine")
    assert not (tmp_path / "first.csv").exists() and out.read_text() == "theirs"


def test_a_failed_write_removes_the_folders_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new" / "deeper" / "result.nii.gz") as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_an_output_replaced_with_overwrite_is_there_until_the_new_one_takes_its_place(tmp_path, monkeypatch):
    """Before: the earlier file was first renamed aside, so for a moment there was none at its name, and a process
    killed then left it under a hidden name only."""
    import rau.io.atomic as atomic

    out = tmp_path / "out.csv"
    out.write_text("earlier")
    place, seen = atomic._place, []

    def placing(temporary, path, overwrite):
        seen.append(path.read_text())  # what a reader finds as the new file goes in
        place(temporary, path, overwrite)

    monkeypatch.setattr(atomic, "_place", placing)
    with atomic_path(out, overwrite=True) as temporary:
        temporary.write_text("new")
    assert seen == ["earlier"] and out.read_text() == "new" and list(tmp_path.iterdir()) == [out]


def test_every_temporary_file_a_run_makes_is_one_a_later_run_clears_away(tmp_path, monkeypatch):
    """Before: a writer given the run's temporary file made its own beside it (``..rau-xxxxxxxx.nii.gz``, named after no
    output); a run killed at that moment left it, and no later run took it for one of its outputs' leftovers."""
    import tempfile

    import numpy as np

    from rau.image import Image
    from rau.io.atomic import leftover_temporaries
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    made = []
    mkstemp = tempfile.mkstemp

    def recorded(*args, **kwargs):
        handle, name = mkstemp(*args, **kwargs)
        made.append(name)
        return handle, name

    monkeypatch.setattr(tempfile, "mkstemp", recorded)
    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    mask = np.zeros(target.shape, bool)
    mask[0, 5:9, 5:9] = True
    paths = output_paths(tmp_path / "case.nii.gz", seg_nrrd=True)
    write_outputs(Result(target, [StructureResult(Structure("spleen", 1), mask, 0.9, "registration")], "registration"), paths, overwrite=False)
    assert len(made) == len(paths) == 4  # one temporary file for each output
    for name in made:  # as if the run had been killed before placing them
        open(name, "w").close()
    assert [str(path) for path in leftover_temporaries(paths.values())] == sorted(made)
