"""``--reference-spacing`` per reference without a pixel size of its own: one rule (rau.io.images.without_pixel_size)
says which references take one, for ``rau segment``'s count and for the check that asks for it."""

from __future__ import annotations

import argparse
import json

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
from dicom_files import xray_dicom

from rau.cli import main
from rau.commands.segment import reference_spacings


@pytest.fixture()
def unsized_and_sized(tmp_path):
    """A 2D NRRD reference written without ``spacings`` (a picture in all but name), a 0.2 mm NIfTI reference (one grey
    level brighter: no copy of the first), and a 0.2 mm NIfTI target: a disc moved 3 pixels."""
    rows, columns = np.mgrid[:64, :64]
    disc = ((rows - 30) ** 2 + (columns - 34) ** 2) < 150
    image = (100 + 100 * disc).astype(np.int16) + np.random.default_rng(0).integers(0, 10, (64, 64)).astype(np.int16)
    nrrd.write(str(tmp_path / "ref_unsized.nrrd"), image.T.copy())
    nrrd.write(str(tmp_path / "ref_unsized_labels.nrrd"), disc.astype(np.uint8).T.copy())
    for name, array in (("ref_mm.nii.gz", image + 1), ("ref_mm_labels.nii.gz", disc.astype(np.uint8)), ("target.nii.gz", np.roll(image, 3, 1))):
        written = sitk.GetImageFromArray(array)
        written.SetSpacing((0.2, 0.2))
        sitk.WriteImage(written, str(tmp_path / name))
    return tmp_path


def segment(folder, *spacings: str) -> list[str]:
    return ["segment", "--reference", str(folder / "ref_unsized.nrrd"), "--reference-labels", str(folder / "ref_unsized_labels.nrrd"),
            "--reference", str(folder / "ref_mm.nii.gz"), "--reference-labels", str(folder / "ref_mm_labels.nii.gz"),
            *[word for spacing in spacings for word in ("--reference-spacing", spacing)],
            "--target", str(folder / "target.nii.gz"), "--out", str(folder / "out.nii.gz"), "--no-deformable"]


def test_an_nrrd_reference_without_spacings_takes_the_one_pixel_size_given(unsized_and_sized, capsys):
    """Before: asked for its pixel size, then refused the one value given: "give one --reference-spacing per
    --reference (2) or per picture reference (0), or none; got 1" (only PNG, JPEG ... counted)."""
    assert main(segment(unsized_and_sized)) == 2
    assert "--reference " + str(unsized_and_sized / "ref_unsized.nrrd") + ": an NRRD file without a pixel size" in capsys.readouterr().err
    assert main(segment(unsized_and_sized, "0.2")) == 0, capsys.readouterr().err
    recorded = json.loads((unsized_and_sized / "out.result.json").read_text())["inputs"]["reference_spacing"]
    assert recorded == [0.2, None]


def test_a_count_that_fits_neither_names_what_takes_a_pixel_size(unsized_and_sized, capsys):
    assert main(segment(unsized_and_sized, "0.2", "0.2", "0.2")) == 2
    assert ("give one --reference-spacing per --reference (2) or per reference without a pixel size (1: a picture, "
            "or an NRRD or DICOM file that gives none), or none; got 3") in capsys.readouterr().err
    assert not (unsized_and_sized / "out.nii.gz").exists()


def test_a_dicom_frame_without_a_pixel_size_takes_one_value_as_a_picture_does(unsized_and_sized):
    """An ultrasound frame calibrated only in its regions gives no pixel size: as README says, it counts as a picture."""
    frame = xray_dicom(unsized_and_sized / "frame.dcm", "US", "1.2.840.10008.5.1.4.1.1.6.1")
    args = argparse.Namespace(reference=[str(frame), str(unsized_and_sized / "ref_mm.nii.gz")], reference_spacing=[0.15], reference_bank=None)
    assert reference_spacings(args) == [0.15, None]
