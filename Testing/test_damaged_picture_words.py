"""A picture cut short, said once in rau's words: by ``rau segment`` (no Pillow warning before the error) and by
``rau serve`` (real HTTP on loopback), naming the file as the CLI names it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image as PILImage

from rau.cli import main as rau_main
from rau.io import read_image
from test_serve import hc18_pair, server  # noqa: F401  (server: fixture)

NO_FORMAT = "not a readable image (no picture format could be identified in it: the file may be cut short, damaged or not a picture)"


def cut_tiff(target: Path, folder: Path, size: int) -> Path:
    """The first ``size`` bytes of a TIFF Pillow writes of ``target``."""
    whole, cut = folder / "whole.tif", folder / "t_cut.tif"
    PILImage.open(target).save(whole)
    cut.write_bytes(whole.read_bytes()[:size])
    return cut


@pytest.mark.parametrize("size, problem", [(20, NO_FORMAT), (100, "not a readable image (image file is truncated (0 bytes not processed))")])
def test_rau_segment_says_a_cut_tiff_is_damaged_without_pillow_s_warnings(shared_data, tmp_path, capsys, size, problem):
    """Before: "UserWarning: Corrupt EXIF data.  Expecting to read 12 bytes but only got 8" on stderr (opening it,
    and reading its EXIF), then "t_cut.tif: not a readable image (cannot identify image file 't_cut.tif')", the
    file named twice."""
    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    cut = cut_tiff(target, tmp_path, size)
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        code = rau_main(["segment", "--reference", str(image), "--reference-labels", str(labels), "--reference-spacing",
                         str(spacing), "--target", str(cut), "--target-spacing", str(target_spacing), "--out", str(tmp_path / "s.png")])
    assert code != 0 and [str(warning.message) for warning in heard] == []
    assert capsys.readouterr().err.strip().endswith(f"{cut}: {problem}")
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("size", [0, 3])
def test_a_picture_of_a_few_bytes_is_still_refused_in_rau_s_words(tmp_path, size):
    cut = tmp_path / "few.tif"
    cut.write_bytes(b"II*\0"[:size])
    with pytest.raises(Exception, match=re.escape(f"few.tif: {NO_FORMAT}")):
        read_image(cut)


def test_a_whole_tiff_reads_the_same_values_as_its_png(shared_data, tmp_path):
    _, target, _ = hc18_pair(shared_data)
    whole = tmp_path / "whole.tif"
    PILImage.open(target).save(whole)
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        assert np.array_equal(read_image(whole).array, read_image(target).array)
    assert heard == []


@pytest.mark.parametrize("field", ["target", "reference"])
def test_rau_serve_names_a_cut_tiff_upload_once(server, shared_data, tmp_path, field):  # noqa: F811
    """Before: "upload 't_cut.tif': not a readable image (cannot identify image file upload 't_cut.tif')"."""
    (image, labels, _), target, _ = hc18_pair(shared_data)
    cut = cut_tiff(target, tmp_path, 20)
    files = {"target": target, "reference": image, "reference_labels": labels, field: cut}
    answer = requests.post(f"{server[0]}/v1/jobs", files=[(f, (Path(p).name, Path(p).read_bytes())) for f, p in files.items()], timeout=60)
    assert (answer.status_code, answer.json()["detail"]) == (422, f"upload 't_cut.tif': {NO_FORMAT}")
    assert not server[1].state.server.jobs
