"""The temporary folder a remote run writes its uploads in while its job runs on a server: a killed client's is
removed by the next remote run of its user, never a running client's (clients as real processes, their temporary
folder their ``TMPDIR``, and real ``rau serve`` servers on loopback)."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import script_environment
from serve_helpers import running_server
from test_serve import write_two_halves

from rau.engines import Request
from rau.io import read_image
from rau.options import EngineOptions
from rau.references import load_reference
from rau.serve.app import ServerConfig
from rau.serve.client import Client
from rau.serve import temporary_folders
from rau.serve.remote import RemoteEngine
from rau.serve.temporary_folders import CLIENT_UPLOADS, held_temporary_folder

CLIENT = """
import sys
from rau.engines import Request
from rau.io import read_image
from rau.references import load_reference
from rau.serve.client import Client
from rau.serve.remote import RemoteEngine

url, image, labels, target = sys.argv[1:]
request = Request([load_reference(image, labels)], read_image(target))
RemoteEngine(Client(url), "registration", {"deformable": False}).run(request)
"""
"""A client process: one remote run of a reference on a target, files named on its command line."""


def files(tmp_path: Path) -> list[Path]:
    """A reference's image and labels and a target to run it on (:func:`write_two_halves`), written in ``tmp_path``."""
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    return [image, labels, target]


@contextlib.contextmanager
def client_whose_job_waits(inputs: list[Path], work: Path, tmp: Path):
    """Yield ``(process, folder)``: a client process, its temporary folder ``tmp``, whose remote run of ``inputs``
    (:func:`files`) waits on a server (its work folder ``work``) that holds its device, and the folder it writes its
    uploads in; leaving lets the job run."""
    with running_server(ServerConfig(work_dir=work)) as (url, app):
        with app.state.server.queues.device_lock(EngineOptions().device):
            process = subprocess.Popen([sys.executable, "-c", CLIENT, url, *map(str, inputs)],
                                       env={**script_environment(), "TMPDIR": str(tmp)})
            try:
                deadline = time.monotonic() + 120
                while not app.state.server.jobs:  # its uploads are written and sent
                    assert process.poll() is None and time.monotonic() < deadline, "the client's job never came"
                    time.sleep(0.05)
                [folder] = tmp.glob(f"{CLIENT_UPLOADS.prefix}*")
                yield process, folder
            except BaseException:
                process.kill()
                raise
        process.wait(timeout=120)


def remote_run_here(url: str, inputs: list[Path], tmp: Path, monkeypatch) -> None:
    """A remote run of ``inputs`` (:func:`files`) in this process, whose temporary folder is ``tmp``, on the server
    at ``url``."""
    image, labels, target = inputs
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    request = Request([load_reference(image, labels)], read_image(target))
    assert RemoteEngine(Client(url), "registration", {"deformable": False}).run(request).structures


def _bytes_in(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_killed_client_s_upload_folder_is_removed_by_the_next_remote_run(tmp_path, monkeypatch, caplog):
    """Before: a client killed while its job ran on the server (Slicer killed or crashing, a script SIGKILLed) left
    the reference and target images it uploads, patients' images, in the temporary folder for ever."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inputs = files(tmp_path)
    with client_whose_job_waits(inputs, tmp_path / "busy", tmp) as (client, killed):
        assert {path.name for path in killed.iterdir()} == {CLIENT_UPLOADS.lock_name, "reference0.mha", "reference0.seg.nrrd", "target.mha"}
        size = _bytes_in(killed)
        client.kill()
    assert client.wait() != 0 and killed.is_dir()  # nothing removed it as it died
    caplog.set_level(logging.WARNING, logger="rau.serve")
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        remote_run_here(url, inputs, tmp, monkeypatch)
    assert not list(tmp.glob(f"{CLIENT_UPLOADS.prefix}*"))  # the killed client's, and this run's own
    assert [record.getMessage() for record in caplog.records if record.name == "rau.serve"] == [
        f"removed 1 temporary upload folder that killed rau clients left in {tmp} ({killed.name}): {size / 2**20:.1f} MiB freed"]


def test_a_running_client_s_upload_folder_is_left_to_it(tmp_path, monkeypatch, caplog):
    """It holds its folder's lock while its job runs: another client's run finds it held, and the client removes its
    folder itself once its run is done."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    caplog.set_level(logging.WARNING, logger="rau.serve")
    inputs = files(tmp_path)
    with client_whose_job_waits(inputs, tmp_path / "busy", tmp) as (client, live):
        uploads = {path.name: path.read_bytes() for path in live.iterdir()}
        with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
            remote_run_here(url, inputs, tmp, monkeypatch)
        assert list(tmp.glob(f"{CLIENT_UPLOADS.prefix}*")) == [live]  # this run's own is gone
        assert {path.name: path.read_bytes() for path in live.iterdir()} == uploads
    assert client.wait() == 0 and not live.exists()
    assert not [record.getMessage() for record in caplog.records if record.name == "rau.serve"]


def test_a_run_s_folder_that_cannot_be_removed_is_said_and_removed_by_the_next_run(tmp_path, monkeypatch, caplog):
    """The run goes on (its result came); the folder keeps its lock file, free once the run is done, so the next run
    takes it for a killed client's and removes it."""

    def refused(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    caplog.set_level(logging.WARNING, logger="rau.serve")
    with monkeypatch.context() as patched:
        patched.setattr(temporary_folders.shutil, "rmtree", refused)
        with held_temporary_folder(CLIENT_UPLOADS) as kept:
            (kept / "uploads").mkdir()
    assert (kept / CLIENT_UPLOADS.lock_name).is_file()
    with held_temporary_folder(CLIENT_UPLOADS) as folder:
        assert list(tmp_path.iterdir()) == [folder]
    assert not list(tmp_path.iterdir())
    assert [record.getMessage() for record in caplog.records] == [
        f"cannot remove {kept}, the temporary upload folder of this rau client (Permission denied); the next remote run tries again",
        f"removed 1 temporary upload folder that killed rau clients left in {tmp_path} ({kept.name}): 0.0 MiB freed"]
