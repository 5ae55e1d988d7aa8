"""A DICOM-folder reference of an engine that runs again to correct (registration+sam2, a tiny SAM2): files beside the
series that the reader ignores (a name that is not UTF-8, a macOS ``.DS_Store``) neither fail the run nor its correction."""

from __future__ import annotations

import os

import numpy as np
import SimpleITK as sitk

from rau.cli import main


def write_series(folder, volume) -> None:
    """``volume`` as an axial CT series, one file per slice (1 x 1 x 2 mm)."""
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((1, 1, 2))
    for k in range(volume.shape[0]):
        slice_ = image[:, :, k]
        for tag, value in [("0020|000e", "1.2.826.0.1.3680043.2.1125.7.2"), ("0020|000d", "1.2.826.0.1.3680043.2.1125.7.1"),
                           ("0020|0032", f"0\\0\\{2 * k}"), ("0020|0037", "1\\0\\0\\0\\1\\0"), ("0020|0013", str(k + 1)),
                           ("0008|0060", "CT"), ("0028|0030", "1\\1"), ("0018|0050", "2")]:
            slice_.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"s{k}.dcm"))
        writer.Execute(slice_)


def test_a_dicom_reference_folder_with_a_file_named_in_latin_1_and_a_ds_store_segments_and_corrects(tiny_sam2, tmp_path, capsys):
    """Before, the run failed after the work: 'internal error (UnicodeEncodeError: 'utf-8' codec can't encode character
    '\\udce4' ...)', exit 70, no outputs; and a .DS_Store added to the folder (macOS Finder) refused the correction."""
    volume = (np.random.default_rng(0).random((6, 40, 40)) * 200).astype(np.int16)
    volume[2:5, 10:30, 10:30] += 800
    write_series(tmp_path / "ref", volume)
    labels = sitk.GetImageFromArray((volume > 500).astype(np.uint8))
    labels.SetSpacing((1, 1, 2))
    sitk.WriteImage(labels, str(tmp_path / "ref_labels.nii.gz"))
    (tmp_path / "ref_labels.labels.csv").write_text("value,name\n1,box\n")
    target = sitk.GetImageFromArray(np.roll(volume, 3, axis=2))
    target.SetSpacing((1, 1, 2))
    sitk.WriteImage(target, str(tmp_path / "target.nii.gz"))
    with open(os.fsencode(tmp_path / "ref") + b"/Notiz_\xe4.txt", "wb") as note:  # a Latin-1 name from a Windows share
        note.write(b"note")
    out = tmp_path / "out"
    assert main(["segment", "--engine", "registration+sam2", "--sam2-model", str(tiny_sam2["random"]), "--device", "cpu", "--no-deformable",
                 "--reference", str(tmp_path / "ref"), "--reference-labels", str(tmp_path / "ref_labels.nii.gz"),
                 "--target", str(tmp_path / "target.nii.gz"), "--out", str(out / "t.nii.gz")]) == 0, capsys.readouterr().err
    (tmp_path / "ref" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert main(["correct", str(out / "t.result.json"), "--structure", "box", "--inside", "20,20,3", "--out", str(out / "c.nii.gz")]) == 0, \
        capsys.readouterr().err
    assert (out / "c.result.json").exists()
