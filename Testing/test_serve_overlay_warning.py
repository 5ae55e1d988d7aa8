"""A server job whose picture target is read at a pixel size Slicer does not show it with warns, as ``rau segment``
does, that its volume downloads will not overlay it in Slicer: in the job's warnings (among ``output_warnings``, said
by writing them) and in the downloaded result JSON, naming the client's file (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.cli import main as rau_main
from rau.serve.client import Client

OVERLAY = "will not overlay it in Slicer"


def write_pictures(folder, target_name: str = "tgt.png"):
    """A reference PNG with its label PNG (two halves of a bright block) and a target PNG like it."""
    rng = np.random.default_rng(0)
    picture = np.clip(rng.normal(40, 3, (64, 64)), 0, 255)
    picture[16:48, 8:56] += 100
    labels = np.zeros((64, 64), np.uint8)
    labels[16:48, 8:32], labels[16:48, 32:56] = 1, 2
    PILImage.fromarray(picture.astype(np.uint8)).save(folder / "ref.png")
    PILImage.fromarray(labels).save(folder / "ref_mask.png")
    PILImage.fromarray(picture.astype(np.uint8)).save(folder / target_name)
    return folder / "ref.png", folder / "ref_mask.png", folder / target_name


def job_warnings(url: str, target, reference, target_spacing, folder):
    """The finished job's record and the warnings of its downloaded result JSON (None: it records none)."""
    client = Client(url)
    job = client.submit(target, [reference], "registration", target_spacing=target_spacing, options={"deformable": False}, seg_nrrd=True)
    record = client.wait(job)
    result = json.loads(client.download(job, "result", folder / "job.result.json").read_text())
    return record, result.get("warnings")


def test_a_picture_target_read_at_another_pixel_size_is_warned_of_as_rau_segment_does(server, tmp_path):  # noqa: F811
    """Before: rau segment warned that the NIfTI would not overlay the PNG in Slicer, the job said nothing."""
    image, labels, target = write_pictures(tmp_path)
    record, recorded = job_warnings(server[0], target, (image, labels, 0.5), 0.25, tmp_path)
    overlay = [message for message in record["warnings"] if OVERLAY in message]
    assert len(overlay) == 1 and overlay == [m for m in record["output_warnings"] if OVERLAY in m], record
    assert [message for message in recorded if OVERLAY in message] == overlay
    assert str(tmp_path) not in overlay[0] and "target0" not in overlay[0]  # the client's file, not the server's copy
    out = tmp_path / "cli" / "seg.nii.gz"
    assert rau_main(["segment", "--target", str(target), "--target-spacing", "0.25", "--reference", str(image),
                     "--reference-labels", str(labels), "--reference-spacing", "0.5", "--no-deformable", "--out", str(out)]) == 0
    said = [m for m in json.loads(out.with_name("seg.result.json").read_text())["warnings"] if OVERLAY in m]
    # one rule, each in its own words: a job offers no .png label map, which it cannot download
    assert said == [overlay[0].replace("upload 'tgt.png'", str(target)) + "; or write a .png label map, which keeps no pixel size"]


SLICER_SPACING = "in Slicer set Volumes module > Volume Information > Image Spacing to"


def test_a_jpeg_target_with_a_resolution_is_told_the_spec_field_to_give_not_the_command_lines_option(server, tmp_path):  # noqa: F811
    """Before: "…; or write a .png label map, which keeps no pixel size; or give it a pixel size of 0.1 mm
    (--target-spacing or a manifest's spacing column)", which a server's client can follow neither of."""
    image, labels, _ = write_pictures(tmp_path)
    target = tmp_path / "t_dpi.jpg"
    PILImage.open(image).save(target, quality=95, dpi=(254, 254))  # Slicer shows it with 0.1 mm pixels
    record, recorded = job_warnings(server[0], target, (image, labels, None), None, tmp_path)
    told = ("upload 't_dpi.jpg': Slicer shows it with 0.1 mm pixels (its resolution, dots per inch), but rau read it at 1 mm, "
            "as a picture given no pixel size, so the segmentation written for it as a volume file will not overlay it in "
            f'Slicer; to make them agree, {SLICER_SPACING} 1 x 1 mm; or ask for "target_spacing": 0.1 in the job spec')
    assert [m for m in record["warnings"] if OVERLAY in m] == [told] and [m for m in recorded if OVERLAY in m] == [told]
    (tmp_path / "followed").mkdir()
    followed, recorded = job_warnings(server[0], target, (image, labels, 0.1), 0.1, tmp_path / "followed")  # as told
    assert followed["state"] == "done" and not [m for m in [*followed["warnings"], *(recorded or [])] if OVERLAY in m]


def test_a_png_target_given_a_target_spacing_is_told_no_png_label_map(server, tmp_path):  # noqa: F811
    """Before: "…; or write a .png label map, which keeps no pixel size", a download no job has."""
    image, labels, target = write_pictures(tmp_path)
    record, recorded = job_warnings(server[0], target, (image, labels, 0.25), 0.25, tmp_path)
    told = ("upload 'tgt.png': Slicer shows it with 1 mm pixels (it stores none), but rau read it at 0.25 mm as given, "
            "so the segmentation written for it as a volume file will not overlay it in Slicer; to make them agree, "
            f"{SLICER_SPACING} 0.25 x 0.25 mm")
    assert [m for m in record["warnings"] if OVERLAY in m] == [told] and [m for m in recorded if OVERLAY in m] == [told]


@pytest.mark.parametrize("nifti", [False, True])
def test_a_target_that_overlays_its_downloads_is_not_warned_of(server, tmp_path, nifti):  # noqa: F811
    """A PNG target given no pixel size (read at 1 mm, as Slicer shows it) and a NIfTI one (its own pixel size)."""
    if nifti:
        reference, target, _ = write_two_halves(tmp_path)
        target_spacing = None
    else:
        image, labels, target = write_pictures(tmp_path)
        reference, target_spacing = (image, labels, None), None
    record, recorded = job_warnings(server[0], target, reference, target_spacing, tmp_path)
    assert record["state"] == "done" and not [m for m in [*record["warnings"], *(recorded or [])] if OVERLAY in m]
