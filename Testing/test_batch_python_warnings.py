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


def tiff_with_a_damaged_tag(picture, out, tag: int = 270):
    """``picture`` as a TIFF whose text tag ``tag`` (270: its description) claims a million bytes: Pillow reads the
    pixels and warns, "Tag data larger than file. Skipping tag ``tag``"."""
    text = TiffImagePlugin.ImageFileDirectory_v2()
    text[tag] = "D" * 40
    Picture.open(picture).save(out, tiffinfo=text)
    data = bytearray(out.read_bytes())
    directory = struct.unpack("<I", data[4:8])[0]
    for entry in range(struct.unpack("<H", data[directory:directory + 2])[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack("<H", data[at:at + 2])[0] == tag:
            data[at + 4:at + 8] = struct.pack("<I", 10**6)
    out.write_bytes(bytes(data))
    return out


def damaged_tiffs_manifest(tmp_path, tags: dict[str, int]):
    """A manifest in ``tmp_path`` of :data:`MANIFEST`'s first case with one target per name in ``tags``: its target as a
    TIFF whose tag ``tags[name]`` is damaged (:func:`tiff_with_a_damaged_tag`), named ``name``."""
    with open(MANIFEST, newline="") as handle:
        row = next(csv.DictReader(handle))
    files = {column: (MANIFEST.parent / row[column]).resolve() for column in ("reference_image", "reference_labels", "target_image")}
    lines = ["reference_image,reference_labels,target_image,reference_spacing,target_spacing"]
    for name, tag in tags.items():
        target = tiff_with_a_damaged_tag(files["target_image"], tmp_path / f"{name}.tif", tag)
        lines.append(f"{files['reference_image']},{files['reference_labels']},{target},{row['reference_spacing']},{row['target_spacing']}")
    manifest = tmp_path / "batch.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_rau_batch_prints_a_workers_pillow_warning_once_naming_the_target(tmp_path):
    """Before: the worker process printed Pillow's "UserWarning: Tag data larger than file" itself, twice (opening
    and reading), not naming the file; with --ray the actor's output was dropped and the user saw nothing."""
    manifest = damaged_tiffs_manifest(tmp_path, {"odd": 270})
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
