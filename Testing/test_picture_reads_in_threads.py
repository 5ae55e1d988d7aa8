"""Picture reads overlapping in two threads (as ``rau serve`` reads uploads and runs jobs in threads), and a picture
read overlapping a DICOM file's functional groups, leave the process's warnings working."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pydicom
from PIL import Image as PILImage

from rau.io import read_image
from rau.io.frame_groups import frame_groups
from rau.io.images import _open_picture


def warnings_heard_after(*work) -> list[str]:
    """What a warning said after ``work`` has run in threads reaches: it should be the warning alone."""
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=each) for each in work]
        [thread.start() for thread in threads]
        [thread.join(10) for thread in threads]
        warnings.warn("a later warning")
    return [str(warning.message) for warning in heard]


def test_two_overlapping_picture_reads_leave_later_warnings_shown(tmp_path):
    """Before: each read held ``warnings.catch_warnings`` open; read A opened, read B opened, A closed, B closed put
    back A's list of warnings, so every later warning in the process went to a list no one read."""
    path = tmp_path / "plain.png"
    PILImage.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(path)
    first_open, second_open, first_closed = threading.Event(), threading.Event(), threading.Event()

    def first():
        with _open_picture(path):
            first_open.set()
            second_open.wait(1)  # B opens within A's read where reads may overlap; else A closes first
        first_closed.set()

    def second():
        first_open.wait(5)
        with _open_picture(path):
            second_open.set()
            first_closed.wait(1)  # B closes after A

    assert warnings_heard_after(first, second) == ["a later warning"]
    assert read_image(path).array.shape[-2:] == (6, 8)


def test_a_picture_read_inside_a_dicom_files_functional_groups_read_leaves_later_warnings_shown(tmp_path, monkeypatch):
    """Before: the functional groups' read (all warnings ignored while pydicom reads) began, a picture's read began,
    the groups' read ended, then the picture's put back the groups' filters: every later warning was ignored."""
    picture, dicom_file = tmp_path / "plain.png", tmp_path / "plain.dcm"
    PILImage.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(picture)
    dicom_file.write_bytes(b"not a DICOM file")
    groups_reading, picture_open, groups_done = threading.Event(), threading.Event(), threading.Event()
    read = pydicom.dcmread

    def slow_read(*args, **kwargs):  # pydicom's own read, once the picture's read had a chance to start
        groups_reading.set()
        picture_open.wait(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(pydicom, "dcmread", slow_read)

    def groups():
        frame_groups(dicom_file)
        groups_done.set()

    def picture_read():
        groups_reading.wait(5)
        with _open_picture(picture):
            picture_open.set()
            groups_done.wait(1)  # the groups' read ends first where the two may overlap

    assert warnings_heard_after(groups, picture_read) == ["a later warning"]
