"""``rau segment`` given DICOM folders and files it cannot use as given: the message says what the folder or file is
(readers themselves: test_core_dicom.py)."""

import numpy as np
import SimpleITK as sitk
from dicom_files import changed_slice, write_series, xray_dicom

from rau.cli import main

ULTRASOUND = "1.2.840.10008.5.1.4.1.1.6.1"


def test_a_target_folder_of_two_series_is_refused_as_such_before_any_pixel_size(shared_data, tmp_path, capsys):
    """Before: a PNG reference without a pixel size beside a folder of a CT series and an ultrasound frame was refused as
    "a picture without a pixel size (read as 1 mm pixels), while the header of --target mix gives 3 x 3 mm pixels" (the
    header of the series the scanner listed first); given one, the next run said the folder holds 2 series."""
    folder = write_series(tmp_path / "mix", [(0, 0, 3 * k) for k in range(3)], pixel_size=3.0)
    xray_dicom(folder / "frame.dcm", "US", ULTRASOUND, SeriesInstanceUID="1.2.3.9")
    pictures = shared_data / "hc18_fetal_head_us"
    out = tmp_path / "out" / "t.nii.gz"
    assert main(["segment", "--reference", str(pictures / "images/001_HC.png"), "--reference-labels", str(pictures / "masks/001_HC_mask.png"),
                 "--target", str(folder), "--out", str(out)]) == 2
    assert (f"{folder}: folder holds 2 DICOM series (CT: 3 images; US: 1 image); copy the series to segment into a folder of its own"
            in capsys.readouterr().err)
    assert not out.parent.exists()


def test_one_slice_of_a_series_given_for_a_volume_is_told_to_give_the_folder(shared_data, tmp_path, capsys):
    """Before: "the target '002.dcm' is 2D (8 x 8 voxels); give both as 2D images (one slice or frame) or both as
    volumes", not saying that the file is one of the series' slices."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(4)])
    frame = xray_dicom(tmp_path / "frame.dcm", "US", ULTRASOUND, PixelSpacing=[0.5, 0.5])  # a 2D image of its own
    ct = shared_data / "totalseg_test_fixtures/subjA_ct"
    for target, remedy in ((folder / "002.dcm", f"it is one slice of a series of 4 files in {folder}; give the folder to read the volume"),
                           (frame, "give both as 2D images (one slice or frame) or both as volumes")):
        assert main(["segment", "--reference", str(ct / "image.nii.gz"), "--reference-labels", str(ct / "labels_totalseg.nii.gz"),
                     "--target", str(target), "--out", str(tmp_path / "out" / "t.nii.gz")]) == 2
        assert f"reference '{ct / 'image.nii.gz'}' is 3D but the target '{target.name}' is 2D" in (err := capsys.readouterr().err)
        assert f"voxels); {remedy}\n" in err


def test_a_reference_given_as_one_slice_of_a_series_is_told_to_give_the_folder(shared_data, tmp_path, capsys):
    """Before: only a target got the hint; a reference slice was told "give both as 2D images (one slice or frame) or
    both as volumes"."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(4)])

    def pattern(dataset):  # not blank, so the reference is read up to the dimensions' check
        dataset.PixelData = np.arange(64, dtype=np.int16).tobytes()

    changed_slice(folder, "002.dcm", pattern)
    slice_ = sitk.ReadImage(str(folder / "002.dcm"))
    labels = sitk.GetImageFromArray((sitk.GetArrayFromImage(slice_) > 40).astype(np.uint8))
    labels.CopyInformation(slice_)
    sitk.WriteImage(labels, str(tmp_path / "lab.nii.gz"))
    out = tmp_path / "out" / "t.nii.gz"
    assert main(["segment", "--reference", str(folder / "002.dcm"), "--reference-labels", str(tmp_path / "lab.nii.gz"),
                 "--target", str(shared_data / "totalseg_test_fixtures/subjA_ct/image.nii.gz"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"reference '{folder / '002.dcm'}' is 2D but the target 'image.nii.gz' is 3D" in err
    assert f"voxels); it is one slice of a series of 4 files in {folder}; give the folder to read the volume\n" in err
    assert not out.parent.exists()
