"""The ``rau serve`` command: its options, work folder and start-up mistakes, and serving with a token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import requests

from rau.cli import main as rau_main
from rau.commands.serve import address_said
from rau.serve.app import ServerConfig
from rau.serve.client import Client, ServerError


def test_rau_serve_command_serves_with_a_token(tmp_path):
    from serve_helpers import serve_process

    token = "a-token-of-enough-length-1234"
    (tmp_path / "token").write_text(token + "\n")
    with serve_process(tmp_path / "work", "--token-file", str(tmp_path / "token")) as url:
        assert requests.get(f"{url}/v1/info", timeout=60).status_code == 401
        assert Client(url, token=token).info()["engines"]["registration"]["available"]


def test_the_address_rau_serve_prints_is_one_the_client_takes(tmp_path):
    """Before: it printed http://127.0.0.1:PORT/v1/info, which the client sent requests under (".../v1/info/v1/info":
    "Not Found"); an address with the API's path is refused saying to give it without."""
    from serve_helpers import serve_process

    with serve_process(tmp_path / "work", output=tmp_path / "printed.txt") as url:
        printed = (tmp_path / "printed.txt").read_text().split()[2]
        assert printed == url
        assert Client(printed).info()["api_version"]
        with pytest.raises(ServerError, match=rf"^'{url}/v1/info' is not a server address: give it without the API's path "
                                              rf"/v1/\.\.\., as rau serve prints it: {url}$"):
            Client(f"{url}/v1/info")


def test_a_server_on_every_interface_prints_this_machine_s_name_not_the_wildcard_address(tmp_path):
    """Before: "rau serve: http://0.0.0.0:PORT (the address for the Slicer module's Engine location)", an address no
    client on another machine can use."""
    import socket

    from serve_helpers import serve_process

    host, token = "0.0.0.0", "a-token-of-enough-length-1234"
    (tmp_path / "token").write_text(token + "\n")
    with serve_process(tmp_path / "work", "--host", host, "--token-file", str(tmp_path / "token"), output=tmp_path / "printed.txt") as url:
        port = url.rsplit(":", 1)[1]
        name = socket.gethostname()
        printed = (tmp_path / "printed.txt").read_text()
        assert printed.startswith(f"rau serve: http://{name}:{port} (the address for the Slicer module's Engine location; "
                                  f"--host {host} listens on every interface: any address of this machine works in place of {name}), "
                                  f"work folder {tmp_path / 'work'}"), printed
        assert Client(printed.split()[2], token=token).info()["api_version"]


def test_the_ipv6_wildcard_address_is_said_as_this_machine_s_name_and_other_ipv6_addresses_bracketed():
    """Before: "http://[::]:8000", no address a client can use."""
    import socket

    name = socket.gethostname()
    assert address_said("::", 8000) == (f"http://{name}:8000 (the address for the Slicer module's Engine location; --host :: "
                                        f"listens on every interface: any address of this machine works in place of {name})")
    assert address_said("::1", 8000) == "http://[::1]:8000 (the address for the Slicer module's Engine location)"


def test_an_option_given_at_its_core_default_is_sent_to_a_server_started_otherwise(tmp_path, shared_data):
    """Before: deformable=True, the core default, was left out, so a server started --no-deformable ran rigid: the
    remote result was the local deformable=False one."""
    from serve_helpers import running_server

    from rau.cli import build_parser
    from rau.commands.serve import server_config
    from rau.engines import Request, create_engine
    from rau.io import read_image
    from rau.references import load_reference
    from rau.serve.remote import remote_engine

    folder = shared_data / "hc18_fetal_head_us"
    reference = load_reference(folder / "images/012_HC.png", folder / "masks/012_HC_mask.png", 0.08346045)
    request = Request([reference], read_image(folder / "images/058_HC.png", 0.077068008))
    here = {deformable: create_engine("registration", {"deformable": deformable}).run(request).structures[0].mask for deformable in (True, False)}
    assert not np.array_equal(here[True], here[False])
    started = server_config(build_parser().parse_args(["serve", "--work-dir", str(tmp_path / "work"), "--no-deformable"]))
    with running_server(started) as (url, _):  # in this process: what the server was started with is the point
        for deformable in (True, False):
            there = remote_engine(url, "registration", {"deformable": deformable}).run(request)
            assert np.array_equal(there.structures[0].mask, here[deformable]), deformable
        assert np.array_equal(remote_engine(url, "registration", {}).run(request).structures[0].mask, here[False])  # left out: the operator's


def test_a_token_file_other_users_can_read_is_warned_of(tmp_path, capsys):
    """Before: a token file anyone on the computer could read (a new file's usual mode, 0644) was used silently."""
    from rau.cli import build_parser
    from rau.commands.serve import server_config

    token_file = tmp_path / "token"
    token_file.write_text("a-token-of-enough-length-1234\n")
    arguments = ["serve", "--work-dir", str(tmp_path / "work"), "--token-file", str(token_file)]
    for mode, warned in ((0o644, True), (0o600, False)):
        token_file.chmod(mode)
        assert server_config(build_parser().parse_args(arguments)).token == "a-token-of-enough-length-1234"
        err = capsys.readouterr().err
        assert (err == f"warning: --token-file {token_file}: other users of this computer can read it; make it yours "
                "alone (chmod 600)\n") == warned and (err == "") != warned


def test_a_token_file_is_read_no_further_than_a_token_takes(tmp_path):
    """Before: --token-file /dev/zero read until memory ran out (an internal error, MemoryError); a pipe still works."""
    import os

    from rau.errors import OptionError
    from rau.serve.security import read_token

    with pytest.raises(OptionError, match="--token-file /dev/zero: holds more than 4096 bytes"):
        read_token("/dev/zero")
    read_end, write_end = os.pipe()  # as --token-file <(pass rau) gives it
    os.write(write_end, b"a-token-of-enough-length-1234\n")
    os.close(write_end)
    try:
        assert read_token(f"/dev/fd/{read_end}") == "a-token-of-enough-length-1234"
    finally:
        os.close(read_end)


def test_a_given_work_dir_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    from rau.cli import build_parser
    from rau.commands.serve import server_config

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    assert server_config(build_parser().parse_args(["serve", "--work-dir", str(tmp_path / "work")])).work_dir == tmp_path / "work"
    assert not (tmp_path / "work").exists() and not any((tmp_path / "tmp").iterdir())  # the work folder is made as it starts


def test_rau_serve_limits_default_to_the_server_config_ones(tmp_path):
    from rau.cli import build_parser
    from rau.commands.serve import server_config

    config = server_config(build_parser().parse_args(["serve", "--work-dir", str(tmp_path / "work")]))
    default = ServerConfig(work_dir=tmp_path / "work")
    limits = ("max_upload_bytes", "max_image_bytes", "max_queued_jobs", "session_idle_seconds", "max_sessions", "max_session_bytes")
    assert [getattr(config, name) for name in limits] == [getattr(default, name) for name in limits]


def test_a_temporary_work_folder_goes_with_the_server(tmp_path):
    """Without --work-dir the uploads live in a temporary folder: stopping the server removes it."""
    import os

    from serve_helpers import serve_process

    with serve_process(None, env={**os.environ, "TMPDIR": str(tmp_path)}):
        assert [folder.name.startswith("rau-serve-") for folder in tmp_path.iterdir()] == [True]
    assert not any(tmp_path.iterdir())


def _exit_status(argv) -> int:
    """``rau``'s exit status, argparse's exits included."""
    try:
        return rau_main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize("arguments, message", [
    (["--work-dir", "{file}"], "--work-dir {file}: cannot create this output folder, {file} is a file"),
    (["--work-dir", "{file}/sub"], "--work-dir {file}/sub: cannot create this output folder, {file} is a file"),
    (["--max-upload-mb", "nan"], "argument --max-upload-mb: must be a positive number, got 'nan'"),
    (["--max-session-gb", "0"], "argument --max-session-gb: must be a positive number, got '0'"),
    (["--session-idle-minutes", "inf"], "argument --session-idle-minutes: must be a positive number, got 'inf'"),
    (["--session-idle-minutes", "1e308"], "argument --session-idle-minutes: must be at most 525600 minutes (a year), got 1e+308"),  # before: sessions never closed
    (["--max-session-gb", "1e308"], "argument --max-session-gb: must be at most 1048576 GiB (a PiB), got 1e+308"),  # before: internal error (OverflowError)
    (["--max-upload-mb", "1e308"], "argument --max-upload-mb: must be at most 1048576 MiB (a TiB), got 1e+308"),
    (["--max-upload-mb", "1e-9"], "argument --max-upload-mb: must be at least one byte (9.54e-07 MiB), got 1e-09"),  # before: a 0-byte limit, every upload refused
    (["--max-image-mb", "9e-7"], "argument --max-image-mb: must be at least one byte (9.54e-07 MiB), got 9e-07"),
    (["--max-session-gb", "1e-10"], "argument --max-session-gb: must be at least one byte (9.31e-10 GiB), got 1e-10"),
    (["--max-sessions", "0"], "argument --max-sessions: must be at least 1, got '0'"),
    (["--port", "99999"], "argument --port: must be from 1 to 65535, got '99999'"),
    (["--port", "{busy}"], "--host 127.0.0.1 --port {busy}: cannot listen there"),
    (["--device", "mps"], "--device mps: device 'mps' was requested but no Apple MPS GPU is available"),  # before: a 422 on every client call
    (["--sam2-model", "{folder}"], "--sam2-model {folder} has no config.json"),  # before: started, then a 503 on every SAM2 job
    (["--vlm-model", "{folder}"], "--vlm-model {folder} has no config.json"),
    (["--vlm-server", "http://127.0.0.1:8777", "--vlm-model", "m"],  # before: started, then a 422 on every vlm-box job
     "unknown vision-language model family for 'm'; supported: Qwen2.5-VL, Qwen3-VL, Qwen2-VL; name a model of one of them, or --vlm-family"),
    (["--vlm-server", "http://127.0.0.1:8777", "--vlm-adapter", "{folder}"],  # before: started, then every vlm-box job failed (422)
     "--vlm-adapter applies to a local model; load the adapter on the server instead"),
])
def test_start_up_mistakes_exit_2_naming_the_option(tmp_path, capsys, monkeypatch, arguments, message):
    import socket

    monkeypatch.setattr("rau.serve.app.serve", lambda config, sock: None)  # a server that starts returns 0 at once
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    with socket.create_server(("127.0.0.1", 0)) as busy:
        names = {"file": tmp_path / "file", "folder": tmp_path / "folder", "busy": busy.getsockname()[1]}
        arguments = [a.format(**names) for a in arguments]
        assert _exit_status(["serve", *(["--work-dir", str(tmp_path / "work")] if "--work-dir" not in arguments else []), *arguments]) == 2
    assert f"rau serve: error: {message.format(**names)}" in capsys.readouterr().err


def test_a_work_dir_the_server_may_not_write_in_is_refused_at_start(tmp_path, capsys):
    """Before: the server started, then answered every job 500 (PermissionError in the log). A folder root may not
    write in either (:func:`unwritable_folders.unwritable`)."""
    from unwritable_folders import unwritable

    locked = tmp_path / "locked"
    locked.mkdir()
    with unwritable(locked):
        assert _exit_status(["serve", "--work-dir", str(locked)]) == 2
    assert f"rau serve: error: --work-dir {locked}: no permission to write in {locked}" in capsys.readouterr().err


def test_a_server_that_cannot_listen_leaves_no_temporary_work_folder(tmp_path, monkeypatch, capsys):
    import socket
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # found again from TMPDIR
    with socket.create_server(("127.0.0.1", 0)) as busy:
        assert _exit_status(["serve", "--port", str(busy.getsockname()[1])]) == 2
    assert "cannot listen there" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # before: an empty rau-serve-XXXX folder stayed


def test_a_server_that_cannot_listen_makes_no_work_dir(tmp_path, capsys):
    """Before: the --work-dir it was given was made before the port was found taken, and stayed."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        assert _exit_status(["serve", "--port", str(busy.getsockname()[1]), "--work-dir", str(tmp_path / "new" / "work")]) == 2
    assert "cannot listen there" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("token", ["pässwörd-1234567890", "密码密码密码密码密码密码密码密码", "tab\tin-the-middle-1234"])
def test_a_token_of_anything_but_printable_ascii_is_refused_naming_its_file(tmp_path, token):
    """Before: the server started with it, and no client could send it (HTTP headers carry no other characters)."""
    from rau.errors import OptionError
    from rau.serve.security import read_token

    (tmp_path / "token").write_text(token + "\n", encoding="utf-8")
    with pytest.raises(OptionError, match=f"--token-file {tmp_path / 'token'}: the token may hold only printable ASCII characters"):
        read_token(tmp_path / "token")


def test_a_server_started_on_a_work_dir_removes_the_job_folders_of_stopped_servers_not_of_running_ones(tmp_path):
    """Before: the job folders of a stopped server stayed in --work-dir for ever (a new server knows nothing of them,
    cannot serve them and never removed them): a server restarted daily filled the disk."""
    from serve_helpers import running_server, serve_process
    from test_serve import write_two_halves

    work, halves = tmp_path / "work", write_two_halves(tmp_path)
    with running_server(ServerConfig(work_dir=work)) as (other, _):  # a second server on the same work folder, running throughout
        kept = _finished_job(Client(other), halves)
        with serve_process(work) as url:  # a process of its own: its lock goes when it stops
            stopped = _finished_job(Client(url), halves)
        assert _job_folders(work, stopped)  # its outputs stay in the work folder until a server starts there again
        with running_server(ServerConfig(work_dir=work)):
            assert not _job_folders(work, stopped)
        assert _job_folders(work, kept)
        assert Client(other).download(kept, "label_map", tmp_path / "kept.nii.gz").is_file()


def _finished_job(client: Client, halves) -> str:
    reference, target, table = halves
    return client.wait(client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table))["job"]


def _job_folders(work: Path, job: str) -> list[Path]:
    return [path for path in work.rglob(job) if path.is_dir()]


KILLED_BEFORE_LOCKING = """
import os, signal, sys
from pathlib import Path
from rau.serve import runs
runs.lock_file = lambda descriptor: os.kill(os.getpid(), signal.SIGKILL)
runs.start_run(Path(sys.argv[1]))
"""
"""A server process killed between making its new lock file and locking it."""


def test_a_lock_file_a_killed_server_made_and_never_locked_is_removed_by_the_next_start(tmp_path):
    """Before: its empty lock file stayed in --work-dir for ever (every later start took it for a server still starting)."""
    import signal
    import subprocess
    import sys

    from conftest import script_environment
    from serve_helpers import running_server

    jobs = tmp_path / "work" / "jobs"
    with running_server(ServerConfig(work_dir=tmp_path / "work")):  # running throughout: its folder and lock stay
        running = set(jobs.iterdir())
        killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_LOCKING, str(jobs)], env=script_environment())
        assert killed.returncode == -signal.SIGKILL
        left = set(jobs.iterdir()) - running
        assert [(path.suffix, path.stat().st_size) for path in left] == [(".lock", 0)]
        with running_server(ServerConfig(work_dir=tmp_path / "work")):
            after = set(jobs.iterdir())
        assert running <= after  # the running server's
        assert not left & after, left


def test_a_server_starting_as_another_removes_its_new_lock_file_starts_with_another(tmp_path, monkeypatch):
    """A new lock file, not yet locked, looks like a killed server's to a server starting at that moment, which removes
    it: the starting server takes another (never a lock on a file no other server can see)."""
    from rau.file_locks import lock_file
    from rau.serve import runs

    removed = []

    def removed_first(descriptor: int) -> None:  # the other server's start comes between the file and its lock
        if not removed:
            removed.extend(jobs.iterdir())
            runs.remove_stopped_runs(jobs)
        lock_file(descriptor)

    jobs = tmp_path / "jobs"
    monkeypatch.setattr(runs, "lock_file", removed_first)
    folder, handle = runs.start_run(jobs)
    with handle:
        assert len(removed) == 1 and not removed[0].exists()
        assert sorted(jobs.iterdir()) == [folder, folder.with_suffix(runs.LOCK_SUFFIX)]
        runs.remove_stopped_runs(jobs)  # it holds its lock: its folder stays
        assert folder.is_dir()
