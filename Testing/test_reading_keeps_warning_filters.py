"""Reading a picture (Pillow) or an enhanced DICOM file's functional groups (pydicom) leaves the process's warning
filters alone: ``warnings.catch_warnings`` is process-wide and not thread-safe, and rau reads in worker threads
(``rau serve``'s jobs, the Slicer module's) while other code runs. The read is held open on a named pipe, so that another
thread adds its filter while it is under way."""

from __future__ import annotations

import io
import os
import threading
import warnings

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.io.frame_groups import frame_groups
from rau.io.images import picture_bytes

OTHER_FILTER = "a filter another thread adds"


def filter_survives_read(read, content: bytes, pipe) -> dict:
    """Run ``read(pipe)`` in a thread; while it waits on the pipe, add a filter here, then feed it ``content``. Returns
    what the read gave, and whether the filter is still installed once it ended."""
    os.mkfifo(pipe)
    result = {}
    reading = threading.Thread(target=lambda: result.setdefault("read", read(pipe)))
    reading.start()
    try:
        with open(pipe, "wb") as writer:  # opens once the read has opened the pipe: the read is under way
            warnings.filterwarnings("ignore", message=OTHER_FILTER)
            writer.write(content)
    finally:
        reading.join(10)
    result["kept"] = any(message is not None and message.pattern == OTHER_FILTER for _, message, *_ in warnings.filters)
    warnings.filters[:] = [entry for entry in warnings.filters if entry[1] is None or entry[1].pattern != OTHER_FILTER]
    return result


def test_reading_a_picture_keeps_a_filter_another_thread_adds(tmp_path):
    """Before: the read restored the filters it found as it began, so the one added meanwhile was gone."""
    png = io.BytesIO()
    PILImage.fromarray(np.zeros((4, 5), np.uint8)).save(png, "PNG")
    result = filter_survives_read(picture_bytes, png.getvalue(), tmp_path / "picture.png")
    assert result == {"read": 20, "kept": True}


def test_reading_frame_groups_keeps_a_filter_another_thread_adds(tmp_path):
    sitk.WriteImage(sitk.Image(4, 5, sitk.sitkInt16), str(tmp_path / "slice.dcm"))
    result = filter_survives_read(frame_groups, (tmp_path / "slice.dcm").read_bytes(), tmp_path / "slice_pipe.dcm")
    assert result == {"read": None, "kept": True}  # a one-frame file has no functional groups


def test_a_picture_over_pillows_limit_but_within_raus_opens_without_a_warning(tmp_path):
    """Pillow warns of a "decompression bomb" above its limit (about 89 million pixels), below rau's: rau opens the
    header without Pillow's check, so nothing is said, and above rau's limit it refuses in its own words."""
    from bad_input_cases import _png_header_only

    (tmp_path / "large.png").write_bytes(_png_header_only(10000, 9500))
    with warnings.catch_warnings():  # this thread only runs here
        warnings.simplefilter("error")
        assert picture_bytes(tmp_path / "large.png") == 95_000_000
    assert PILImage.MAX_IMAGE_PIXELS < 95_000_000
