"""What ``rau serve --work-dir`` writes there (its folders, the jobs' outputs, their locks, uploads while read) is its
user's alone, whatever the umask: the images and results are patient data (a real server process on loopback)."""

from __future__ import annotations

import os

from serve_helpers import serve_process
from test_serve import write_two_halves

from rau.serve.client import Client


def test_the_work_folder_s_contents_are_private_to_the_server_s_user(tmp_path):
    """Before: folders 755 and files 644 under the usual umask 022, readable by every user of the computer."""
    reference, target, table = write_two_halves(tmp_path)
    work = tmp_path / "work"
    previous = os.umask(0o022)  # the server process inherits it
    try:
        with serve_process(work) as url:
            client = Client(url)
            job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
            client.wait(job)
            written = [work, *work.rglob("*")]
            modes = {path.relative_to(tmp_path).as_posix(): oct(path.stat().st_mode & 0o777) for path in written}
    finally:
        os.umask(previous)
    assert any(name.endswith("segmentation.nii.gz") for name in modes) and any(name.endswith(".lock") for name in modes)
    wrong = {name: mode for name, mode in modes.items() if mode != (oct(0o700) if (tmp_path / name).is_dir() else oct(0o600))}
    assert not wrong, wrong
