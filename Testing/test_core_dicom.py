"""DICOM readers on real and written files: series (order, gaps, tilt, positions, several series), single files
(pixel sizes, cines, SEG) as scanners and exports write them (other formats: test_core_io.py)."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_files import changed_slice, enhanced_ct, write_series, xray_dicom
from PIL import Image as PILImage

from rau.errors import InputError
from rau.io import ImageReadError, read_image


def test_dicom_series_matches_the_converted_nifti_in_physical_space(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjB_ct"
    from_dicom = read_image(folder / "original_dicom")
    from_nifti = read_image(folder / "image.nii.gz")
    assert from_dicom.same_grid(from_nifti)
    np.testing.assert_array_equal(from_dicom.array, from_nifti.array)


def test_dicom_series_with_a_missing_slice_is_refused(shared_data, tmp_path):
    import shutil

    folder = shutil.copytree(shared_data / "totalseg_test_fixtures/subjB_ct/original_dicom", tmp_path / "series")
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))
    Path(files[len(files) // 2]).unlink()
    with pytest.raises(ImageReadError, match="series: DICOM slices are not evenly spaced: .* is a slice missing or repeated"):
        read_image(folder)


def test_dicom_series_that_tilt_or_lie_at_one_position_are_refused(tmp_path):
    assert read_image(write_series(tmp_path / "straight", [(0, 0, 3 * k) for k in range(5)])).spacing[2] == pytest.approx(3)
    with pytest.raises(ImageReadError, match=r"tilted: DICOM slices drift 3.20 mm sideways .* \(a gantry tilt\)"):
        read_image(write_series(tmp_path / "tilted", [(0, 0.8 * k, 3 * k) for k in range(5)]))  # before: slice 5 3 mm off
    rounded = [(0.004 * (k % 2), 0, 3 * k) for k in range(5)]  # positions written to a few decimals: no tilt
    assert read_image(write_series(tmp_path / "rounded", rounded)).shape == (5, 8, 8)
    with pytest.raises(ImageReadError, match="cine: all 4 DICOM images lie at one position"):
        read_image(write_series(tmp_path / "cine", [(0, 0, 30)] * 4))  # before: a volume of made-up 1 mm slices
    with pytest.raises(ImageReadError, match=r"echoes: 000.dcm and 001.dcm lie at one position \(a repeated file\? echoes, phases"):
        read_image(write_series(tmp_path / "echoes", [(0, 0, 0), (0, 0, 0), (0, 0, 3), (0, 0, 3)]))


def test_a_slice_file_copied_twice_in_a_series_folder_is_named_with_its_copy(tmp_path):
    """Before: "several DICOM images share positions (echoes, phases or a cine?)", naming neither file."""
    import shutil

    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(4)])
    shutil.copy(folder / "002.dcm", folder / "002 (1).dcm")
    both = r"(002\.dcm and 002 \(1\)\.dcm|002 \(1\)\.dcm and 002\.dcm)"  # in the order the reader sorts them
    with pytest.raises(ImageReadError, match=f"series: {both} lie at one position "
                                             r"\(a repeated file\? echoes, phases or a cine\?\); give one series of distinct slices$"):
        read_image(folder)


def test_dicom_series_whose_gaps_change_little_by_little_or_give_no_positions_are_refused(tmp_path):
    """Before: gaps of 1.00 mm then 1.08 mm (each within 10 % of the median) were stacked evenly, the middle slice
    2.4 mm off; files without positions (a clip exported frame by frame) were stacked 1 mm apart."""
    drifting = [(0, 0, k * 1.0) for k in range(60)] + [(0, 0, 59 + k * 1.08) for k in range(1, 61)]
    with pytest.raises(ImageReadError, match=r"drifting: DICOM slice gaps change along the series \(1.00 to 1.08 mm\): stacked evenly, "
                                             r"059.dcm would lie 2.38 mm from its position"):
        read_image(write_series(tmp_path / "drifting", drifting))
    growing = [(0, 0, 3.0 * k + 0.05 * k * k) for k in range(20)]  # gaps 3.05 to 4.85 mm: none is missing
    with pytest.raises(ImageReadError, match=r"growing: DICOM slice gaps change along the series \(3.05 to 4.85 mm\)"):
        read_image(write_series(tmp_path / "growing", growing))  # before: "3.05 mm between 000.dcm and 001.dcm, 4.00 mm elsewhere"
    clip = tmp_path / "clip"
    clip.mkdir()
    for frame in range(3):
        xray_dicom(clip / f"{frame}.dcm", "US", "1.2.840.10008.5.1.4.1.1.6.1", SOPInstanceUID=f"1.2.3.4.{frame + 1}", InstanceNumber=frame + 1)
    with pytest.raises(ImageReadError, match=r"clip: 3 of its 3 DICOM images give no position \(ImagePositionPatient\)"):
        read_image(clip)


def test_dicom_series_whose_positions_are_rounded_to_a_tenth_of_a_mm_are_read_unless_a_slice_is_missing(tmp_path):
    """Before: slices 0.625 mm apart written to 0.1 mm (gaps of 0.6 and 0.7 mm, each slice at most 0.1 mm from where
    the reader stacks it) were refused as "DICOM slice gaps change along the series (0.60 to 0.70 mm)"."""
    rounded = [(0, 0, round(0.625 * k, 1)) for k in range(16)]
    assert read_image(write_series(tmp_path / "rounded", rounded)).spacing[2] == pytest.approx(0.625, abs=0.01)
    with pytest.raises(ImageReadError, match=r"missing: DICOM slices are not evenly spaced: 1.30 mm between 005.dcm and 006.dcm, "
                                             r"0.60 mm elsewhere; is a slice missing or repeated\?"):
        read_image(write_series(tmp_path / "missing", rounded[:6] + rounded[7:]))


@pytest.mark.parametrize("count", [18, 20, 22])
def test_thin_dicom_slices_whose_positions_are_rounded_to_a_tenth_of_a_mm_are_read_unless_a_slice_is_missing(tmp_path, count):
    """Before: slices 0.25 mm apart written to 0.1 mm were refused as "DICOM slice gaps change along the series (0.20 to
    0.30 mm): stacked evenly, 017.dcm would lie 0.09 mm from its position" (0.2 of a gap allowed 0.05 mm); then, for 18
    and 22 slices, as their gaps' median was 0.2 mm, not 0.25 (the tolerance was 0.4 of it, 0.08 mm)."""
    rounded = [(0, 0, round(0.25 * k, 1)) for k in range(count)]
    assert read_image(write_series(tmp_path / "rounded", rounded)).spacing[2] == pytest.approx(0.25, abs=0.01)
    with pytest.raises(ImageReadError, match=r"missing: DICOM slices are not evenly spaced: 0.60 mm between 009.dcm and 010.dcm, "
                                             r"0.2[05] mm elsewhere; is a slice missing or repeated\?"):
        read_image(write_series(tmp_path / "missing", rounded[:10] + rounded[11:]))


def test_folders_of_several_series_or_none_name_what_they_hold(shared_data, tmp_path):
    """Before: "holds 2 DICOM series; point to one series folder" (both were in that folder), and ITK's raw warning
    for a hospital export whose series lie in subfolders."""
    import shutil

    series = write_series(tmp_path / "study", [(0, 0, 3 * k) for k in range(3)])
    scout = xray_dicom(tmp_path / "scout.dcm", "CT", "1.2.840.10008.5.1.4.1.1.2", SeriesInstanceUID="1.2.3.9", SeriesNumber=1,
                        SeriesDescription="Scout", ImagerPixelSpacing=[0.5, 0.5])
    shutil.move(scout, series / "scout.dcm")
    with pytest.raises(ImageReadError, match=r"study: folder holds 2 DICOM series \(CT: 3 images; 1 Scout CT: 1 image\); "
                                             "copy the series to segment into a folder of its own"):
        read_image(series)
    export = tmp_path / "export"
    shutil.copytree(series, export / "DICOM" / "PA1" / "SE1")
    with pytest.raises(ImageReadError, match=r"export: folder holds no DICOM series; it has subfolders \(DICOM ...\): point to the folder of one series"):
        read_image(export)


def test_an_ultrasound_dicom_without_a_pixel_size_is_not_mixed_with_sized_images(tmp_path):
    """Before: an ultrasound frame calibrated only in its regions was read at 1 mm beside a reference in mm (Dice 0.13
    instead of 0.72, exit 0)."""
    from rau.validation import check_pixel_sizes

    frame = xray_dicom(tmp_path / "frame.dcm", "US", "1.2.840.10008.5.1.4.1.1.6.1")
    picture = tmp_path / "reference.png"
    PILImage.fromarray(np.zeros((30, 40), np.uint8)).save(picture)
    with pytest.raises(InputError, match="--target frame.dcm: a DICOM file without a pixel size, while --reference reference.png has one"):
        check_pixel_sizes([("--reference reference.png", picture, 0.07), ("--target frame.dcm", frame, None)])
    check_pixel_sizes([("--reference reference.png", picture, 0.07), ("--target frame.dcm", frame, 0.09)])
    assert read_image(frame, pixel_spacing=0.09).spacing[:2] == (0.09, 0.09)


def test_a_dicom_segmentation_is_refused(tmp_path):
    """Before: read as a grey volume named label_255, its 1-bit frames unpacked with stray values that changed from read to read."""
    seg = xray_dicom(tmp_path / "liver.seg.dcm", "SEG", "1.2.840.10008.5.1.4.1.1.66.4")
    with pytest.raises(ImageReadError, match=r"liver.seg.dcm: a DICOM segmentation \(SEG\), which rau does not read; load it in Slicer"):
        read_image(seg, label_map=True)


def test_an_rt_structure_set_is_refused_as_contours_not_an_image(tmp_path):
    """Before: "a DICOM file the reader cannot decode ... decompress it first (gdcmconv --raw)", as if it were damaged;
    a folder holding only it: "folder holds no DICOM series"."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    contours = Dataset()
    contours.file_meta = FileMetaDataset()
    contours.file_meta.MediaStorageSOPClassUID = contours.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    contours.file_meta.MediaStorageSOPInstanceUID = contours.SOPInstanceUID = "1.2.3.4.5"
    contours.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    contours.Modality, contours.StudyInstanceUID, contours.SeriesInstanceUID = "RTSTRUCT", "1.2.3", "1.2.3.4"
    (tmp_path / "contours").mkdir()
    file = tmp_path / "contours" / "rtstruct.dcm"
    contours.save_as(file, enforce_file_format=True)
    for path, label_map in ((file, True), (file, False), (file.parent, True)):
        with pytest.raises(ImageReadError, match=r"contours/rtstruct.dcm: an RT structure set \(contours\), not an image or label map; "
                                                 r"convert it in Slicer \(SlicerRT\) and save it as .seg.nrrd$"):
            read_image(path, label_map=label_map)


def test_an_xray_dicom_takes_its_pixel_size_from_either_tag_or_from_the_user(tmp_path):
    """ITK reads an X-ray's (DX, CR, MG) pixel size only from ImagerPixelSpacing: before, one with PixelSpacing alone
    was 1 mm, and a pixel size given for one with no size at all was refused as disagreeing with its header."""
    computed_radiography = "1.2.840.10008.5.1.4.1.1.1"
    calibrated = xray_dicom(tmp_path / "calibrated.dcm", "CR", computed_radiography, PixelSpacing=[0.2, 0.25])
    assert read_image(calibrated).spacing[:2] == (0.25, 0.2)  # (column, row): x then y
    with pytest.raises(ImageReadError, match="calibrated.dcm: a pixel size of 0.8 mm was given, but its header says 0.25 x 0.2 mm"):
        read_image(calibrated, pixel_spacing=0.8)
    detector = xray_dicom(tmp_path / "detector.dcm", "DX", "1.2.840.10008.5.1.4.1.1.1.1", PixelSpacing=[0.2, 0.2], ImagerPixelSpacing=[0.3, 0.3])
    assert read_image(detector).spacing[:2] == (0.3, 0.3)  # as ITK and Slicer read it
    unsized = xray_dicom(tmp_path / "unsized.dcm", "CR", computed_radiography)
    assert read_image(unsized, pixel_spacing=0.15).spacing[:2] == (0.15, 0.15)


def test_a_dicom_cine_is_refused_not_stacked_as_slices(tmp_path):
    cine = xray_dicom(tmp_path / "run.dcm", "XA", "1.2.840.10008.5.1.4.1.1.12.1", frames=6, ImagerPixelSpacing=[0.3, 0.3])
    with pytest.raises(ImageReadError, match=r"run.dcm: a cine of 6 frames \(X-ray angiography: frames in time, not slices in space\)"):
        read_image(cine)  # before: a 6-slice volume of made-up 1 mm slices
    with pytest.raises(ImageReadError, match=r"a cine of 6 frames \(X-ray angiography"):
        read_image(tmp_path)  # the file in a folder, as exported; before: ITK's "got a 4D image"
    captured = xray_dicom(tmp_path / "captured.dcm", "OT", "1.2.840.10008.5.1.4.1.1.7", frames=5, FrameTime=66.7)
    with pytest.raises(ImageReadError, match=r"captured.dcm: a cine of 5 frames \(frames timed one after another"):
        read_image(captured)  # a secondary capture of a clip; before: 5 slices 1 mm apart
    ultrasound = xray_dicom(tmp_path / "sc_us.dcm", "US", "1.2.840.10008.5.1.4.1.1.7", frames=4)
    with pytest.raises(ImageReadError, match=r"sc_us.dcm: a cine of 4 frames \(ultrasound"):
        read_image(ultrasound)
    sized = {"PixelSpacing": [0.5, 0.5], "SpacingBetweenSlices": "1.5"}  # without: refused, as in the test above
    rotational = xray_dicom(tmp_path / "rotational.dcm", "XA", "1.2.840.10008.5.1.4.1.1.13.1.1", frames=5, **sized)  # 3D angiography: a volume
    untimed = xray_dicom(tmp_path / "untimed.dcm", "NM", "1.2.840.10008.5.1.4.1.1.20", frames=3, FrameTime=0, **sized)
    assert read_image(rotational).shape == (5, 30, 40) and read_image(untimed).shape == (3, 30, 40)


def test_a_dicom_file_alone_in_a_folder_reads_as_the_file_itself(tmp_path):
    """Before: the folder went through the series reader, which drops the X-ray's PixelSpacing (1 mm: Dice 0.724 fell
    to 0.129, exit 0) and the pixel size a user gave for an unsized ultrasound frame."""
    from rau.io.images import header_spacing, without_pixel_size

    (tmp_path / "cr").mkdir()
    xray_dicom(tmp_path / "cr" / "only.dcm", "CR", "1.2.840.10008.5.1.4.1.1.1", PixelSpacing=[0.2, 0.25])
    assert read_image(tmp_path / "cr").spacing[:2] == (0.25, 0.2)
    assert header_spacing(tmp_path / "cr") == (0.25, 0.2)
    (tmp_path / "us").mkdir()
    xray_dicom(tmp_path / "us" / "frame.dcm", "US", "1.2.840.10008.5.1.4.1.1.6.1")
    assert without_pixel_size(tmp_path / "us") == "a DICOM file"
    assert read_image(tmp_path / "us", pixel_spacing=0.15).spacing[:2] == (0.15, 0.15)


def test_a_multi_frame_dicom_takes_its_sizes_from_its_tags_or_is_refused(tmp_path):
    """ITK leaves a multi-frame secondary capture (a volume exported by a workstation) at 1 mm: before, a CT read so
    lost a quarter of its liver Dice, exit 0, and a pixel size given for it was refused as disagreeing with 1 mm."""
    word_capture = "1.2.840.10008.5.1.4.1.1.7.3"
    sized = xray_dicom(tmp_path / "volume.dcm", "CT", word_capture, frames=4, PixelSpacing=[0.5, 0.5], SpacingBetweenSlices="2")
    assert read_image(sized).spacing == (0.5, 0.5, 2.0)
    gapless = xray_dicom(tmp_path / "gapless.dcm", "CT", word_capture, frames=4, PixelSpacing=[0.5, 0.5])
    with pytest.raises(ImageReadError, match=r"gapless.dcm: a multi-frame DICOM file that gives its pixel size but not the gap "
                                             r"between its 4 frames \(SpacingBetweenSlices\)"):
        read_image(gapless)
    unsized = xray_dicom(tmp_path / "unsized.dcm", "OT", word_capture, frames=4)  # before: read as 1 mm voxels, exit 0
    with pytest.raises(ImageReadError, match=r"unsized.dcm: a multi-frame DICOM file that gives neither its pixel size nor the gap "
                                             r"between its 4 frames"):
        read_image(unsized)


def test_a_multi_frame_dicom_that_gives_its_pixel_size_but_not_its_frame_gap_is_refused(tmp_path):
    """Before: a CT file of frames with PixelSpacing but no SpacingBetweenSlices was read 1 mm between frames, exit 0
    (its pixels were not 1 mm, so the file did not count as unsized), and a pixel size given for it was refused as
    disagreeing with "0.5 x 0.5 x 1 mm" that its header does not give."""
    frames = xray_dicom(tmp_path / "frames.dcm", "CT", "1.2.840.10008.5.1.4.1.1.2", frames=4, PixelSpacing=[0.5, 0.5], SliceThickness=3)
    for given in (None, 0.9):
        with pytest.raises(ImageReadError, match=r"frames.dcm: a multi-frame DICOM file that gives its pixel size but not the gap "
                                                 r"between its 4 frames \(SpacingBetweenSlices\)"):
            read_image(frames, pixel_spacing=given)
    enhanced = enhanced_ct(tmp_path / "enhanced.dcm", [(0, 0, z) for z in range(4)])  # 1 mm apart, from its frame positions
    assert read_image(enhanced).spacing == (0.5, 0.5, 1.0)


def test_an_enhanced_dicom_whose_frames_the_reader_cannot_place_is_told_why(tmp_path):
    """ITK leaves an enhanced file at 1 mm when its frame positions are uneven or missing, and fails on frames at one
    position. Before: "gives neither its pixel size nor the gap between its 4 frames" (both are in its functional
    groups), and "cannot decode ... Refusing to change spacing ... decompress it first"."""
    for name, positions, problem in (
        ("missing", [(0, 0, 0), (0, 0, 1), (0, 0, 3), (0, 0, 4)], r"its 4 frames are not evenly spaced \(1.000 to 2.000 mm apart\)"),
        ("unplaced", [(0, 0, 0), None, (0, 0, 2), (0, 0, 3)], r"1 of its 4 frames give no position \(PlanePositionSequence"),
        ("echoes", [(0, 0, 5)] * 4, r"all 4 frames lie at one position \(echoes, phases or a cine\?\)"),
    ):
        with pytest.raises(ImageReadError, match=rf"{name}.dcm: {problem}"):
            read_image(enhanced_ct(tmp_path / f"{name}.dcm", positions))


def test_a_damaged_enhanced_dicom_is_refused_as_unreadable_not_an_internal_error(tmp_path):
    """Bytes pydicom stumbles on in its own ways: a sequence's length cut short (struct.error) and a value
    representation it does not know (NotImplementedError). Before: both escaped as internal errors (exit 70)."""
    made = enhanced_ct(tmp_path / "enhanced.dcm", [(0, 0, z) for z in range(4)]).read_bytes()
    per_frame, pixel_measures = bytes.fromhex("0052 3092") + b"SQ\0\0", bytes.fromhex("2800 1091") + b"SQ"
    for name, at, change in (("cut", made.index(per_frame) + len(per_frame), b"\x71"),
                             ("unknown_vr", made.index(pixel_measures) + 5, b"\x01")):
        damaged = tmp_path / f"{name}.dcm"
        damaged.write_bytes(made[:at] + change + made[at + 1:])
        with pytest.raises(ImageReadError, match=rf"{name}.dcm: a DICOM file the reader cannot decode .* it may be damaged"):
            read_image(damaged)


def test_a_series_folder_with_an_image_the_reader_skips_is_refused_naming_it(shared_data, tmp_path):
    """Before: a slice cut short (an interrupted copy) or of an encoding the reader does not know was left out of the
    volume silently (19 of 20 slices, exit 0)."""
    import shutil

    from pydicom import dcmread

    folder = shutil.copytree(shared_data / "totalseg_test_fixtures/subjB_ct/original_dicom", tmp_path / "series")
    last = Path(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))[-1])
    report = xray_dicom(folder / "report.dcm", "SR", "1.2.840.10008.5.1.4.1.1.88.11")
    (report.with_name("DICOMDIR")).write_bytes(report.read_bytes())
    dataset = dcmread(report)
    for keyword in ("PixelData", "Rows", "Columns"):  # a report holds no image
        delattr(dataset, keyword)
    dataset.save_as(report)
    assert read_image(folder).shape[0] == 20  # files that are not images of the series stay allowed
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(ImageReadError, match=rf"{last.name}: a DICOM image in the folder of the series .* that the reader cannot read"):
        read_image(folder)


def test_a_dicom_file_the_reader_cannot_decode_is_named_with_its_transfer_syntax(tmp_path):
    """Before: "Unable to determine ImageIO reader ...; rau reads NIfTI, NRRD, MetaImage, DICOM ...", as if it were not DICOM."""
    private = xray_dicom(tmp_path / "private.dcm", "CR", "1.2.840.10008.5.1.4.1.1.1", PixelSpacing=[0.2, 0.2])
    private.write_bytes(private.read_bytes().replace(b"1.2.840.10008.1.2.1\0", b"1.2.3.4.5.6.7.8.9.10", 1))
    with pytest.raises(ImageReadError, match=r"private.dcm: a DICOM file the reader cannot decode \(transfer syntax 1.2.3.4.5.6.7.8.9.10\)"):
        read_image(private)


def test_an_image_in_another_orientation_within_a_series_is_named(tmp_path):
    """A localizer kept in the series' folder: before, "slices drift 249.51 mm sideways (a gantry tilt)"."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(4)])
    localizer = sitk.ReadImage(str(folder / "000.dcm"))
    localizer.SetMetaData("0020|0037", "0\\1\\0\\0\\0\\-1")
    localizer.SetMetaData("0008|0018", "1.2.3.4.99")
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetFileName(str(folder / "localizer.dcm"))
    writer.Execute(localizer)
    with pytest.raises(ImageReadError, match=r"series: localizer.dcm lies in another orientation than 000.dcm \(a localizer\?\)"):
        read_image(folder)


def test_a_pipe_in_a_series_folder_is_named_not_a_slice_the_reader_dropped(tmp_path):
    """Before: the series scanner dropped a good slice beside the pipe, and the refusal blamed that slice as damaged."""
    import os

    folder = write_series(tmp_path / "series", [(0, 0, z) for z in range(4)])
    os.mkfifo(folder / "zz_pipe")
    with pytest.raises(ImageReadError, match=rf"zz_pipe: not a regular file \(a pipe, socket or device\); move it out of the DICOM folder {folder}$"):
        read_image(folder)
    (folder / "zz_pipe").unlink()
    assert read_image(folder).shape[0] == 4


def test_a_link_to_nothing_in_a_series_folder_is_named_not_a_slice_the_reader_dropped(tmp_path):
    """Before: the series scanner dropped a good slice beside the link, and the refusal blamed that slice as damaged."""
    folder = write_series(tmp_path / "series", [(0, 0, z) for z in range(4)])
    (folder / "notes").symlink_to(tmp_path / "gone")
    with pytest.raises(ImageReadError, match=rf"notes: a link to nothing \(it points to {tmp_path / 'gone'}\); move it out of the DICOM folder"):
        read_image(folder)


def test_a_slice_of_another_size_or_pixel_size_is_refused_naming_it(tmp_path):
    """Before: the first slice's pixel size was taken for the whole volume without a word, and a slice of another size
    gave "not a readable image (Size: [7, 8, 1])", naming neither the file nor the problem."""
    def wider(dataset):
        dataset.PixelSpacing = [2.5, 2.5]

    def narrower(dataset):
        dataset.Columns, dataset.PixelData = 7, np.zeros((8, 7), np.int16).tobytes()

    for name, change, problem in (("wide", wider, "002.dcm has pixels of 2.5 x 2.5 mm, 000.dcm of 1 x 1 mm"),
                                  ("narrow", narrower, "002.dcm is 7 x 8 pixels, 000.dcm 8 x 8")):
        folder = write_series(tmp_path / name, [(0, 0, 3 * k) for k in range(5)])
        changed_slice(folder, "002.dcm", change)
        with pytest.raises(ImageReadError, match=f"{name}: {problem}"):
            read_image(folder)


def test_fractions_a_later_slice_s_rescale_gives_are_kept(tmp_path):
    """Before: the volume took the first slice's whole-number type, and -0.25 was read as 0."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(3)])

    def quarters(dataset):
        dataset.RescaleSlope, dataset.RescaleIntercept = "0.25", "-0.5"

    changed_slice(folder, "001.dcm", quarters)
    image = read_image(folder)
    assert [float(image.array[k, 0, 0]) for k in range(3)] == [0.0, 1 * 0.25 - 0.5, 2.0]

    def blank(dataset):
        dataset.RescaleSlope = None  # an empty value: read as before (a first version of the check above failed on it)

    changed_slice(folder, "001.dcm", blank)
    assert read_image(folder).shape == (3, 8, 8)


def test_negative_values_a_later_slice_s_rescale_gives_are_kept(tmp_path):
    """Before: unsigned slices, the first with intercept 0 and the others -1024, were read as uint16, the first's type:
    -1000 HU wrapped to 64536 (exit 0, no word)."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(3)])
    for index, (stored, intercept) in enumerate(((24, 0), (24, -1024), (2024, -1024))):
        def unsigned(dataset, stored=stored, intercept=intercept):
            dataset.PixelRepresentation, dataset.RescaleSlope, dataset.RescaleIntercept = 0, 1, intercept
            dataset.PixelData = np.full((8, 8), stored, np.uint16).tobytes()

        changed_slice(folder, f"{index:03d}.dcm", unsigned)
    assert [float(value) for value in read_image(folder).array[:, 0, 0]] == [24.0, -1000.0, 1000.0]


def test_a_damaged_slice_without_preamble_and_a_dicomdir_are_named(tmp_path):
    """Before: a slice written without the 128-byte preamble and cut short was left out silently (4 of 5 slices), and a
    DICOMDIR given as the image was called "a DICOM file the reader cannot decode"."""
    from pydicom import Dataset, dcmread
    from pydicom.filebase import DicomFileLike
    from pydicom.fileset import FileSet
    from pydicom.filewriter import write_dataset

    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(5)])
    files = FileSet()
    for path in sorted(folder.iterdir()):
        dataset = dcmread(path)
        dataset.StudyDate, dataset.StudyTime, dataset.StudyID, dataset.SeriesNumber = "20240101", "120000", "1", 1
        dataset.PatientName, dataset.PatientID = "A", "1"
        files.add(dataset)
    files.write(tmp_path / "export")
    with pytest.raises(ImageReadError, match="DICOMDIR: a DICOMDIR \\(the index of a DICOM export\\), not an image; give the folder of one series"):
        read_image(tmp_path / "export" / "DICOMDIR")
    last = folder / "004.dcm"
    dataset = Dataset(dcmread(last))
    with open(last, "wb") as file:  # the data set alone, without preamble and meta header, as some old exports write slices
        bare = DicomFileLike(file)
        bare.is_little_endian, bare.is_implicit_VR = True, True
        write_dataset(bare, dataset)
    bare = last.read_bytes()
    assert read_image(folder).shape[0] == 5
    last.write_bytes(bare[: len(bare) - 40])
    with pytest.raises(ImageReadError, match="004.dcm: a DICOM image in the folder of the series .* that the reader cannot read"):
        read_image(folder)


def test_a_slice_with_a_meta_header_but_no_preamble_is_named(tmp_path):
    """Before: "not a readable image (Unable to determine ImageIO reader ...)" for the folder, naming no slice: the
    series scanner took the slice, whose header the file reader then could not read."""
    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(5)])
    slice_ = folder / "002.dcm"
    slice_.write_bytes(slice_.read_bytes()[132:])  # no preamble, no DICM: the meta header comes first
    with pytest.raises(ImageReadError, match=r"002.dcm: a DICOM image in the folder of the series .* that the reader cannot read"):
        read_image(folder)


def test_a_copy_of_a_dicom_reference_folder_is_refused_as_voting_twice(tmp_path):
    import shutil

    from rau.references import check_distinct_references

    folder = write_series(tmp_path / "series", [(0, 0, 3 * k) for k in range(3)])
    labels = tmp_path / "labels.nii.gz"
    labels.write_bytes(b"labels")
    copy = shutil.copytree(folder, tmp_path / "copy")
    other = write_series(tmp_path / "other", [(0, 0, 4 * k) for k in range(3)])
    check_distinct_references([(folder, labels, "--reference series"), (other, labels, "--reference other")])
    with pytest.raises(InputError, match="--reference copy: its image and labels are copies of those of --reference series; it would vote twice"):
        check_distinct_references([(folder, labels, "--reference series"), (copy, labels, "--reference copy")])
