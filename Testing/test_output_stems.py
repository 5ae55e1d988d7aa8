"""Outputs are named after the target's file name without its whole extension, whatever format rau read it from:
before, a NIfTI pair's (``ct.hdr``, ``mr.img.gz``) and a Siemens DICOM file's (``scan.IMA``) outputs kept part of it
(``ct.hdr.nii.gz``, ``ct.hdr.labels.csv``, ``ct.hdr.result.json``), as ``output_stem`` had its own list of suffixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from rau.cli import main
from rau.io.segmentations import output_stem


def write_slice(array: np.ndarray, path: Path, image_io: str = "") -> None:
    """Write a 2D array with 0.5 mm pixels (SimpleITK picks the format by name unless ``image_io`` names one)."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.5))
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(path))
    if image_io:
        writer.SetImageIO(image_io)
    writer.Execute(image)


@pytest.fixture
def square() -> np.ndarray:
    picture = np.zeros((32, 32), np.int16)
    picture[8:24, 10:22] = 100
    return picture


@pytest.mark.parametrize(("written", "target", "image_io"), [("ct.hdr", "ct.hdr", ""), ("mr.hdr.gz", "mr.img.gz", ""),
                                                            ("scan.IMA", "scan.IMA", "GDCMImageIO")])
def test_batch_names_outputs_after_the_target_without_its_extension(tmp_path, square, capsys, written, target, image_io):
    write_slice(square, tmp_path / "ref.nii.gz")
    write_slice((square > 0).astype(np.uint8), tmp_path / "ref_labels.nii.gz")
    write_slice(np.roll(square, 2, 0), tmp_path / written, image_io)
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(f"target_image,reference_image,reference_labels\n{target},ref.nii.gz,ref_labels.nii.gz\n")
    assert main(["batch", str(cohort), "--out", str(tmp_path / "res"), "--workers", "1"]) == 0
    stem = target.split(".")[0]
    assert sorted(path.name for path in (tmp_path / "res").iterdir()) == sorted(
        ["batch_summary.csv", f"{stem}.nii.gz", f"{stem}.labels.csv", f"{stem}.result.json"])


@pytest.mark.parametrize(("name", "stem"), [("a.seg.nrrd", "a"), ("a.b.NII.GZ", "a.b"), ("scan.ima.nii", "scan.ima"),
                                            ("x.HDR.GZ", "x"), ("CT.1.3.12.2.16573", "CT.1.3.12.2.16573")])
def test_output_stem_drops_the_longest_image_extension_only(name, stem):
    assert output_stem(name) == stem
