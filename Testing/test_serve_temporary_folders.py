"""The temporary work folder of a ``rau serve`` started without ``--work-dir``: a killed server's is removed by the
next server to start, never a running server's nor anything else in the temporary folder (real ``rau serve``
processes on loopback, the temporary folder their ``TMPDIR``)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import requests
from conftest import script_environment
from serve_helpers import serve_process

from rau.serve import runs, temporary_folders
from rau.serve.temporary_folders import SERVER_WORK

LOCK_NAME = SERVER_WORK.lock_name


def _in(tmp: Path) -> dict[str, str]:
    """The environment of a server whose temporary folder is ``tmp``."""
    return {**script_environment(), "TMPDIR": str(tmp)}


def _left_by_a_killed_server(folder: Path) -> Path:
    """Make ``folder`` as a killed server leaves it: its lock file, free, and a MiB of outputs."""
    (folder / "jobs").mkdir(parents=True)
    (folder / LOCK_NAME).touch()
    (folder / "jobs" / "label_map.nii.gz").write_bytes(bytes(2**20))
    return folder


def test_a_killed_server_s_temporary_folder_is_removed_by_the_next_server_to_start(tmp_path):
    """Before: a server killed outright (SIGKILL, a crash) left its temporary work folder, its uploads and its jobs'
    outputs, in the temporary folder for ever: weeks of patients' images nobody owns."""
    tmp, log = tmp_path / "tmp", tmp_path / "log.txt"
    tmp.mkdir()
    with serve_process(None, env=_in(tmp), stop=signal.SIGKILL):
        [killed] = tmp.iterdir()
        (killed / "jobs" / "label_map.nii.gz").write_bytes(bytes(3 * 2**20))  # what its jobs wrote
    assert killed.is_dir()  # nothing removed it as it died
    with serve_process(None, env=_in(tmp), log=log):
        [started] = tmp.iterdir()
        assert started != killed
    said = log.read_text()
    assert f"removed 1 temporary work folder that killed servers left in {tmp} ({killed.name}): 3.0 MiB freed" in said, said


def test_two_running_servers_leave_each_other_s_temporary_folders_alone(tmp_path):
    """Each holds its folder's lock while it runs: the start of the other finds it held."""
    tmp, log = tmp_path / "tmp", tmp_path / "log.txt"
    tmp.mkdir()
    with serve_process(None, env=_in(tmp)) as first:
        [first_folder] = tmp.iterdir()
        with serve_process(None, env=_in(tmp), log=log) as second:
            [second_folder] = set(tmp.iterdir()) - {first_folder}
            assert _answers(first) and _answers(second)
            assert (first_folder / LOCK_NAME).is_file() and (second_folder / "jobs").is_dir()
            assert (second_folder / LOCK_NAME).is_file() and (first_folder / "jobs").is_dir()
    assert "removed" not in log.read_text()


def _answers(url: str) -> bool:
    """Whether the server at ``url`` answers (a job it does not know: 404)."""
    return requests.get(f"{url}/v1/jobs/{'0' * 32}", timeout=60).status_code == 404


def test_only_folders_of_the_name_that_hold_the_lock_file_are_removed(tmp_path):
    """A user's own folder of that name without the lock file, a folder of another name with one, a file of that name
    and a link to a killed server's folder are not a killed server's temporary work folder: they are kept."""
    tmp, elsewhere, log = tmp_path / "tmp", tmp_path / "elsewhere", tmp_path / "log.txt"
    killed = _left_by_a_killed_server(tmp / "rau-serve-killed")
    no_lock = tmp / "rau-serve-mine"
    no_lock.mkdir()
    (no_lock / "notes.txt").write_text("mine")
    other_name = _left_by_a_killed_server(tmp / "rau-other")
    (tmp / "rau-serve-file").write_text("a file")
    linked = _left_by_a_killed_server(elsewhere / "rau-serve-target")
    (tmp / "rau-serve-link").symlink_to(linked)
    with serve_process(None, env=_in(tmp), log=log):
        assert not killed.exists()
        assert (no_lock / "notes.txt").read_text() == "mine"
        assert (other_name / LOCK_NAME).is_file() and (other_name / "jobs" / "label_map.nii.gz").is_file()
        assert (tmp / "rau-serve-file").read_text() == "a file"
        assert (linked / LOCK_NAME).is_file() and (tmp / "rau-serve-link").is_symlink()
    assert f"removed 1 temporary work folder that killed servers left in {tmp} (rau-serve-killed): 1.0 MiB freed" in log.read_text()


def test_a_folder_whose_lock_cannot_be_taken_is_kept_with_a_warning_and_the_server_starts(tmp_path):
    tmp, log = tmp_path / "tmp", tmp_path / "log.txt"
    unlockable = tmp / "rau-serve-unlockable"
    (unlockable / LOCK_NAME).mkdir(parents=True)  # no file to lock
    with serve_process(None, env=_in(tmp), log=log) as url:
        assert _answers(url)
        assert (unlockable / LOCK_NAME).is_dir()
    assert f"cannot open {unlockable / LOCK_NAME}, the lock of a temporary work folder (Is a directory); the folder is kept" in log.read_text()


def test_a_folder_that_cannot_be_removed_keeps_its_lock_file_for_the_next_start(tmp_path, monkeypatch, caplog):
    """Its lock file goes last: a folder half removed is still found, and removed, by a later start."""
    killed = _left_by_a_killed_server(tmp_path / "rau-serve-killed")
    caplog.set_level(logging.WARNING, logger="rau.serve")

    def refused(path):
        raise PermissionError(13, "Permission denied", str(path))

    with monkeypatch.context() as patched:
        patched.setattr(temporary_folders.shutil, "rmtree", refused)
        temporary_folders.remove_left_folders(tmp_path, temporary_folders.SERVER_WORK)
    assert (killed / LOCK_NAME).is_file()
    assert [record.getMessage() for record in caplog.records] == [
        f"cannot remove {killed}, the temporary work folder of a killed server (Permission denied); the next start tries again"]
    temporary_folders.remove_left_folders(tmp_path, temporary_folders.SERVER_WORK)
    assert not killed.exists()


def test_a_server_starting_as_another_takes_another_folder_when_the_other_removes_its_new_one(tmp_path, monkeypatch):
    """Two servers starting at once: one may find the other's new folder with its lock file made and not yet locked,
    take it for a killed server's and remove it; the other then makes another folder (never one it holds no lock on,
    or that another server is removing)."""
    from rau.file_locks import lock_file

    removed = []

    def other_start_first(descriptor: int) -> None:  # the other server's start comes between the lock file and its lock
        if not removed:
            removed.extend(tmp_path.iterdir())
            temporary_folders.remove_left_folders(tmp_path, temporary_folders.SERVER_WORK)
        lock_file(descriptor)

    monkeypatch.setattr(temporary_folders.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(runs, "lock_file", other_start_first)
    folder, handle = temporary_folders.new_temporary_folder(temporary_folders.SERVER_WORK)
    with handle:
        assert len(removed) == 1 and not removed[0].exists()
        assert list(tmp_path.iterdir()) == [folder] and (folder / LOCK_NAME).is_file()
        temporary_folders.remove_left_folders(tmp_path, temporary_folders.SERVER_WORK)  # it holds its lock: its folder stays
        assert (folder / LOCK_NAME).is_file()
