"""``rau batch`` hands back the Python warnings its workers meet (Pillow's of a TIFF's damaged tag) with each target's
row, as it does rau's own: a Ray actor's standard error never reaches the user, so both backends print them from the
rows, once each, naming the target."""

from __future__ import annotations

import csv
import struct
import subprocess
import sys
import warnings

from PIL import Image as Picture
from PIL import TiffImagePlugin

from rau.user_warnings import python_warnings_into
from test_batch import FAST, MANIFEST

PILLOW_SAYS = "Tag data larger than file. Skipping tag 270"


def tiff_with_a_damaged_tag(picture, out):
    """``picture`` as a TIFF whose description tag (270) claims a million bytes: Pillow reads the pixels and warns."""
    description = TiffImagePlugin.ImageFileDirectory_v2()
    description[270] = "D" * 40
    Picture.open(picture).save(out, tiffinfo=description)
    data = bytearray(out.read_bytes())
    directory = struct.unpack("<I", data[4:8])[0]
    for entry in range(struct.unpack("<H", data[directory:directory + 2])[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack("<H", data[at:at + 2])[0] == 270:
            data[at + 4:at + 8] = struct.pack("<I", 10**6)
    out.write_bytes(bytes(data))
    return out


def test_rau_batch_prints_a_workers_pillow_warning_once_naming_the_target(tmp_path):
    """Before: the worker process printed Pillow's "UserWarning: Tag data larger than file" itself, twice (opening
    and reading), not naming the file; with --ray the actor's output was dropped and the user saw nothing."""
    with open(MANIFEST, newline="") as handle:
        row = next(csv.DictReader(handle))
    files = {column: (MANIFEST.parent / row[column]).resolve() for column in ("reference_image", "reference_labels", "target_image")}
    target = tiff_with_a_damaged_tag(files["target_image"], tmp_path / "odd.tif")
    manifest = tmp_path / "batch.csv"
    manifest.write_text("reference_image,reference_labels,target_image,reference_spacing,target_spacing\n"
                        f"{files['reference_image']},{files['reference_labels']},{target},{row['reference_spacing']},{row['target_spacing']}\n")
    command = [sys.executable, "-m", "rau.cli", "batch", str(manifest), "--out", str(tmp_path / "out"), *FAST, "--workers", "1"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr.count(f"warning: odd: {PILLOW_SAYS}") == 1, finished.stderr
    assert "UserWarning" not in finished.stderr


def test_python_warnings_are_kept_once_each_after_the_name_as_python_s_filters_say():
    said = ["already said"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "not for users")
        with python_warnings_into(said, "t: "):
            warnings.warn("seen twice")
            warnings.warn_explicit("seen twice", UserWarning, "elsewhere.py", 3)
            warnings.warn("not for users")
    assert said == ["already said", "t: seen twice"]
