"""Whether an output folder can be written is tried, by making a file there, before any work: its permissions do not
tell (on Windows ``os.access`` reads only the read-only attribute, so a folder without the write permission passes)."""

from __future__ import annotations

import os

import pytest
from bad_input_cases import inputs, template  # noqa: F401  (fixtures)
from test_bad_input import run_cli, segment, snapshot
from unwritable_folders import unwritable


@pytest.fixture
def windows_access(monkeypatch):
    """``os.access`` as Windows answers it for a folder without the read-only attribute: any access allowed."""
    monkeypatch.setattr(os, "access", lambda path, mode, **flags: True)


def test_a_segment_output_in_a_folder_without_write_permission_is_refused_before_the_engine_runs(
        inputs, capsys, monkeypatch, windows_access):  # noqa: F811
    """Before: registered the pair, then failed writing its label map."""
    import rau.commands.segment

    (inputs / "locked").mkdir()
    before = snapshot(inputs)
    monkeypatch.setattr(rau.commands.segment, "run_request", lambda *args, **kwargs: pytest.fail("the engine ran"))
    with unwritable(inputs / "locked"):
        status, error = run_cli(segment(out="locked/result.nii.gz"), inputs, monkeypatch, capsys)
    assert status == 2 and f"locked/result.nii.gz: no permission to write in {inputs / 'locked'}\n" in error, error
    assert snapshot(inputs) == before


def test_a_folder_that_cannot_be_written_for_another_reason_is_refused_with_the_systems_words(
        inputs, capsys, monkeypatch):  # noqa: F811
    """Before: a read-only file system (or a full disk) read "no permission to write in", which sends the user to
    the folder's permissions."""
    import errno
    import tempfile

    import rau.commands.segment

    def read_only_file_system(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    (inputs / "mounted").mkdir()
    before = snapshot(inputs)
    monkeypatch.setattr(rau.commands.segment, "run_request", lambda *args, **kwargs: pytest.fail("the engine ran"))
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only_file_system)
    status, error = run_cli(segment(out="mounted/result.nii.gz"), inputs, monkeypatch, capsys)
    assert status == 2 and f"mounted/result.nii.gz: cannot write in {inputs / 'mounted'} (Read-only file system)\n" in error, error
    assert snapshot(inputs) == before
