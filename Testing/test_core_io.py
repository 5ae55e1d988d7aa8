"""Readers and writers on real files: NIfTI, NRRD, label maps, label tables; atomic writes (Slicer .seg.nrrd: test_core_seg_nrrd.py; pictures: test_core_pictures.py; DICOM: test_core_dicom.py)."""

import re
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.errors import InputError
from rau.image import Image, resample_to
from rau.io import ImageReadError, OutputExistsError, read_image, read_segmentation, write_image, write_label_map, write_seg_nrrd
from rau.io.atomic import atomic_path
from rau.io.label_tables import read_label_table
from rau.labels import LabelSet, Segmentation


def test_nan_voxels_are_refused(tmp_path):
    array = np.ones((3, 3, 3), np.float32)
    array[1, 1, 1] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / "nan.mha"))
    with pytest.raises(ImageReadError, match="NaN"):
        read_image(tmp_path / "nan.mha")


def test_non_image_file_gives_a_clear_error(tmp_path):
    (tmp_path / "notes.nii.gz").write_text("not an image")
    with pytest.raises(ImageReadError, match="notes.nii.gz: not a readable image"):
        read_image(tmp_path / "notes.nii.gz")
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.nrrd")
    (tmp_path / "film.gif").write_bytes(b"GIF89a")
    with pytest.raises(ImageReadError, match="film.gif: not a readable image .*; rau reads NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF and BMP"):
        read_image(tmp_path / "film.gif")  # before: ITK's "Unable to determine ImageIO reader" alone


def test_4d_file_is_refused(tmp_path):
    sitk.WriteImage(sitk.Image([2, 2, 2, 2], sitk.sitkFloat32), str(tmp_path / "four.nii.gz"))
    with pytest.raises(ImageReadError, match="4D"):
        read_image(tmp_path / "four.nii.gz")


def test_label_map_with_sidecar_round_trip_and_physical_place(slicerio_data, tmp_path):
    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd")
    label_map, table = write_label_map(segmentation, tmp_path / "out.nii.gz")
    assert table.name == "out.labels.csv"
    again = read_segmentation(label_map)
    assert again.labels.names == segmentation.labels.names
    ct = read_image(slicerio_data / "CTChest4.nrrd")
    on_ct = resample_to(read_image(label_map), ct, labels=True)
    np.testing.assert_array_equal(on_ct.array == segmentation.labels.get("left lung").value, segmentation.mask("left lung"))


def test_existing_output_is_never_replaced_silently(tmp_path):
    image = Image(np.zeros((1, 2, 2), np.uint8), ndim=2)
    target = tmp_path / "out.nii.gz"
    target.write_bytes(b"user data")
    from rau.io import write_image

    with pytest.raises(OutputExistsError, match="overwrite"):
        write_image(image, target)
    assert target.read_bytes() == b"user data"


def test_a_label_map_that_exists_without_its_table_is_refused_as_existing(slicerio_data, tmp_path):
    from rau.io import write_label_map

    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd")
    (tmp_path / "out.nii.gz").write_bytes(b"an earlier export")
    with pytest.raises(OutputExistsError) as existing:
        write_label_map(segmentation, tmp_path / "out.nii.gz")
    assert existing.value.path == tmp_path / "out.nii.gz"
    assert (tmp_path / "out.nii.gz").read_bytes() == b"an earlier export" and not (tmp_path / "out.labels.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nii.gz"]


@pytest.mark.parametrize("name", ["image.NII.GZ", "case.nii.gz.nii.gz", "case.nii.nii.gz", "v1.2.nrrd"])
def test_a_name_is_written_in_the_format_of_its_last_suffix(tmp_path, name):
    """Upper-case suffixes, and names after a NIfTI file: before, ``case.nii.gz.nii.gz`` was written empty (exit 0) and
    the image left as a hidden temporary ``.case-XXXX.nii.gz`` (ITK cut the temporary name at its first .nii)."""
    image = Image(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), (1.0, 2.0, 3.0))
    write_image(image, tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert np.array_equal(read_image(tmp_path / name).array, image.array)


def test_label_values_above_16_bits_are_kept_and_refused_only_by_a_picture(tmp_path):
    labels = LabelSet.from_values([1, 70000])
    masks = {s.name: np.zeros((1, 4, 5), bool) for s in labels}
    masks["label_1"][0, 0, :2], masks["label_70000"][0, 3, 3:] = True, True
    segmentation = Segmentation(Image(np.zeros((1, 4, 5), np.uint8), (1.0, 1.0, 1.0), ndim=2), labels, masks)
    label_map = segmentation.to_label_map()
    assert label_map.array.dtype == np.uint32 and label_map.array.max() == 70000
    write_label_map(segmentation, tmp_path / "big.nii.gz")
    assert read_image(tmp_path / "big.nii.gz").array.max() == 70000
    with pytest.raises(InputError, match="big.png: a picture holds values up to 65535, these go up to 70000"):
        write_image(label_map, tmp_path / "big.png")
    assert not (tmp_path / "big.png").exists()


def test_a_colour_volume_reads_as_the_grey_of_its_picture_and_no_colour_label_map_is_read(shared_data, tmp_path):
    """Slicer saves a colour picture it loaded as an RGB volume: the command line reads it as the picture's grey,
    as the Slicer bridge does."""
    colour = np.asarray(PILImage.open(shared_data / "arcade_syntax_dev/arcade_train_115_img.png").convert("RGB")).copy()
    colour[..., 0] //= 2  # a tint: the channels differ
    PILImage.fromarray(colour).save(tmp_path / "frame.png")
    sitk.WriteImage(sitk.GetImageFromArray(colour[None], isVector=True), str(tmp_path / "frame.nrrd"))
    assert np.array_equal(read_image(tmp_path / "frame.nrrd").array, read_image(tmp_path / "frame.png").array)
    deep = colour.astype(np.uint16) * 257  # 16-bit colours, as Slicer loads a 16-bit colour PNG: read at full depth, as the PNG
    sitk.WriteImage(sitk.GetImageFromArray(deep[None], isVector=True), str(tmp_path / "frame16.nrrd"))
    sitk.WriteImage(sitk.GetImageFromArray(deep, isVector=True), str(tmp_path / "frame16.png"))
    assert np.array_equal(read_image(tmp_path / "frame16.nrrd").array, read_image(tmp_path / "frame16.png").array)
    with pytest.raises(ImageReadError, match="frame.nrrd: a label map with 3 components per voxel"):
        read_segmentation(tmp_path / "frame.nrrd")


def test_label_values_beyond_the_largest_are_named_as_such(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.full((2, 3), 1 << 24, np.uint32)), str(tmp_path / "huge.nrrd"))
    with pytest.raises(InputError, match="huge.nrrd: label value 16777216 is too large; label values go up to 16777215"):
        read_segmentation(tmp_path / "huge.nrrd")


def test_a_colour_table_in_0_to_255_is_refused_with_the_fix(tmp_path):
    (tmp_path / "table.csv").write_text("value,name,r,g,b\n1,liver,230,180,50\n")
    with pytest.raises(InputError, match=r"table.csv line 2: .*color \(230.0, 180.0, 50.0\) must be three values in 0..1 \(divide 0-255 values by 255\)"):
        read_label_table(tmp_path / "table.csv")


def test_a_label_table_may_come_through_a_pipe_but_not_from_a_device(tmp_path):
    """Before the pipe checks, /dev/zero as a table read until memory ran out; a table through a pipe must still read."""
    import os

    read_end, write_end = os.pipe()  # as --label-table <(...) gives it
    os.write(write_end, b"1 liver 255 0 0 255\n2 spleen 0 255 0 255\n")
    os.close(write_end)
    try:
        assert [(s.value, s.name) for s in read_label_table(f"/dev/fd/{read_end}")] == [(1, "liver"), (2, "spleen")]
    finally:
        os.close(read_end)
    with pytest.raises(InputError, match=r"/dev/zero: not a regular file \(a socket or device\)"):
        read_label_table("/dev/zero")


def test_a_segment_tag_value_past_the_largest_label_value_is_renumbered():
    """Before: a .seg.nrrd whose RAUSlicer tag said 2**64 was read, and writing the result failed after the work."""
    from rau.labels import segment_values

    assert segment_values([2**64, 3], [True, False]) == [1, 2]  # numbered in order, as segments without values are
    assert segment_values([2**24 - 1, 3], [True, False]) == [2**24 - 1, 3]


def test_label_table_from_a_slicer_color_table(tmp_path):
    array = np.zeros((1, 2, 3), np.uint8)
    array[0, 0] = 4
    sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / "seg.nrrd"))
    (tmp_path / "seg.ctbl").write_text("# Color table\n0 Background 0 0 0 0\n4 Left_Kidney 255 0 0 255\n")
    segmentation = read_segmentation(tmp_path / "seg.nrrd")
    assert segmentation.labels.names == ["Left Kidney"] and segmentation.mask("left_kidney").sum() == 3  # as Slicer reads it
    assert segmentation.labels.get("Left Kidney").color == (1.0, 0.0, 0.0)


def test_label_table_names_are_trimmed_and_a_value_named_twice_is_refused(tmp_path):
    from rau.errors import InputError
    from rau.io.label_tables import read_label_table

    (tmp_path / "spaces.csv").write_text("value,name\n3, fetal head \n")
    assert read_label_table(tmp_path / "spaces.csv").names == ["fetal head"]
    (tmp_path / "twice.csv").write_text("value,name\n3,head\n3,skull\n")
    with pytest.raises(InputError, match=r"twice.csv line 3: label value 3 is named twice \('head' and 'skull'\)"):
        read_label_table(tmp_path / "twice.csv")
    for keys in (("3", "3"), ("3", "03")):  # before, JSON kept the last name, or said a name appeared twice
        (tmp_path / "twice.json").write_text(f'{{"{keys[0]}": "head", "{keys[1]}": "skull"}}')
        with pytest.raises(InputError, match=r"twice.json: label value 3 is named twice \('head' and 'skull'\)"):
            read_label_table(tmp_path / "twice.json")
    (tmp_path / "names.csv").write_text("value,name\n1,head\n2,Head\n")
    with pytest.raises(InputError, match="names.csv line 3: structure names 'head' and 'Head' are one name to RAUSlicer"):
        read_label_table(tmp_path / "names.csv")
    (tmp_path / "marks.csv").write_text("value,name\n1,?\n2,!\n3,?\n")  # punctuation-only names are names too
    with pytest.raises(InputError, match="marks.csv line 4: the structure name '\\?' appears twice"):
        read_label_table(tmp_path / "marks.csv")


def test_a_table_saved_with_semicolons_gets_a_clear_error(tmp_path):
    from rau.errors import InputError
    from rau.io.label_tables import read_label_table

    (tmp_path / "semi.csv").write_text("value;name\n3;head\n")
    with pytest.raises(InputError, match="semi.csv: label table columns are separated by ';'; save it with commas"):
        read_label_table(tmp_path / "semi.csv")


def test_label_table_from_a_slicer_csv_color_table(tmp_path):
    """Slicer 5 saves color tables as CSV: values, names, 0..255 colors and terminology codes."""
    from rau.errors import InputError
    from rau.io.label_tables import read_label_table

    (tmp_path / "colors.csv").write_text(
        "LabelValue,Name,Color_R,Color_G,Color_B,Color_A,Category_CodingScheme,Category_CodeValue,Category_CodeMeaning,"
        "Type_CodingScheme,Type_CodeValue,Type_CodeMeaning\n0,Background,0,0,0,0,,,,,,\n"
        "5,liver,221,130,101,255,SCT,123037004,Anatomical Structure,SCT,10200004,Liver\n7,spleen,157,108,162,255,,,,,,\n"
    )
    labels = read_label_table(tmp_path / "colors.csv")
    assert labels.names == ["liver", "spleen"] and labels.get("liver").value == 5
    assert labels.get("liver").color == pytest.approx((221 / 255, 130 / 255, 101 / 255))
    assert labels.get("liver").terminology == {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "10200004", "Liver"]}
    assert labels.get("spleen").terminology is None
    (tmp_path / "other.csv").write_text("Label,Structure\n1,head\n")
    with pytest.raises(InputError, match="other.csv: label table lacks column.s. value, name; give value,name"):
        read_label_table(tmp_path / "other.csv")


def test_a_sheared_nifti_sform_and_a_multi_page_tiff_are_refused(tmp_path):
    import nibabel

    sheared = np.diag([1.0, 1.0, 3.0, 1.0])
    sheared[0, 2] = 0.8  # each slice steps 0.8 mm sideways
    nifti = nibabel.Nifti1Image(np.zeros((8, 8, 5), np.int16), sheared)
    nifti.set_sform(sheared, code=1)  # the scanner's placement, which ITK follows unless it is sheared
    nifti.set_qform(np.diag([1.0, 1.0, 3.0, 1.0]), code=1)  # the nearest rigid placement, as nibabel writes
    nibabel.save(nifti, str(tmp_path / "sheared.nii.gz"))
    with pytest.raises(ImageReadError, match="sheared.nii.gz: its scanner sform .* is sheared or skewed"):
        read_image(tmp_path / "sheared.nii.gz")  # before: placed by the qform, corners up to 3 mm off here
    pages = [PILImage.fromarray(np.full((6, 6), 40 * page, np.uint8)) for page in range(3)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(ImageReadError, match="stack.tif: holds 3 pictures"):
        read_image(tmp_path / "stack.tif", pixel_spacing=0.5)  # before: the first page, silently


@pytest.mark.parametrize("qform_code, instead", [(1, "ITK would place the voxels by its qform instead"),
                                                  (0, "it has no qform (code 0) to place them by instead, so ITK and Slicer cannot read it")])
def test_a_sheared_nifti_sform_is_refused_saying_what_its_qform_does(tmp_path, qform_code, instead):
    """Before, without a qform (code 0): "ITK would place the voxels by its qform instead", of a file that has none."""
    import nibabel

    sheared = np.diag([1.0, 1.0, 3.0, 1.0])
    sheared[0, 2] = 0.8
    nifti = nibabel.Nifti1Image(np.zeros((8, 8, 5), np.int16), sheared)
    nifti.set_sform(sheared, code=1)
    nifti.set_qform(np.diag([1.0, 1.0, 3.0, 1.0]), code=qform_code)
    nibabel.save(nifti, str(tmp_path / "sheared.nii.gz"))
    with pytest.raises(ImageReadError) as refused:
        read_image(tmp_path / "sheared.nii.gz")
    assert str(refused.value) == (f"{tmp_path / 'sheared.nii.gz'}: its scanner sform (the affine that places the voxels) is sheared "
                                  f"or skewed, and {instead}; resample it onto a rectangular grid first")


def test_an_output_name_the_file_system_takes_can_be_written(tmp_path):
    """A 250-character name: before, its temporary name ('.<stem>-XXXXXXXX.json') was too long, after all the work."""
    for name in ("r" * 245 + ".json", "\N{GRINNING FACE}" * 62 + ".json"):  # 250 bytes either way
        path = tmp_path / name
        with atomic_path(path) as temporary:
            temporary.write_text("{}")
        assert path.read_text() == "{}"


def test_a_nifti_2_file_is_refused_saying_so(tmp_path):
    import nibabel

    nibabel.save(nibabel.Nifti2Image(np.zeros((4, 4, 3), np.int16), np.eye(4)), str(tmp_path / "two.nii"))
    with pytest.raises(ImageReadError, match="two.nii: a NIfTI-2 file; save it as NIfTI-1"):  # before: "Unable to determine ImageIO reader"
        read_image(tmp_path / "two.nii")


def test_a_nifti_placed_by_its_qform_away_from_its_sform_is_reported(tmp_path, capsys):
    """ITK (so RAUSlicer and Slicer) follows the qform of such a file, nibabel, FSL and SPM its sform: before, the
    40 mm between them went unmentioned."""
    import nibabel

    qform = np.diag([-1.5, -1.2, 2.0, 1.0])
    sform = qform.copy()
    sform[0, 3] = 40.0
    for name, placement in (("apart", sform), ("together", qform)):
        nifti = nibabel.Nifti1Image(np.zeros((6, 5, 4), np.int16), None)
        nifti.header.set_qform(qform, code=1)
        nifti.header.set_sform(placement, code=2)
        nibabel.save(nifti, str(tmp_path / f"{name}.nii.gz"))
        read_image(tmp_path / f"{name}.nii.gz")
    flat = nibabel.Nifti1Image(np.zeros((6, 5), np.int16), None)  # ITK reads a 2D file in 2D: no place along z to compare
    shifted = np.diag([-1.5, -1.2, 2.0, 1.0])
    shifted[2, 3] = 10.0
    flat.header.set_qform(shifted, code=1)
    flat.header.set_sform(shifted, code=2)
    nibabel.save(flat, str(tmp_path / "flat.nii.gz"))
    read_image(tmp_path / "flat.nii.gz")
    warnings = capsys.readouterr().err
    assert f"{tmp_path / 'apart.nii.gz'}: its sform (code 2) and qform (code 1) disagree; RAUSlicer places the voxels by the qform" in warnings
    assert "up to 40 mm from where nibabel" in warnings and "together" not in warnings and "flat" not in warnings


@pytest.mark.parametrize("name", ["short.nii", "short.nii.gz"])
@pytest.mark.parametrize("kept", [None, 40, 0])  # half the file; part of the header; nothing (a full disk)
def test_a_nifti_the_writer_left_short_is_not_put_in_place(tmp_path, monkeypatch, name, kept):
    """ITK's NIfTI writer only prints a short write (a full disk, ``ulimit -f``); before, the cut file was renamed
    into place and read back as zeros."""
    import rau.io.images

    real_write = sitk.WriteImage

    def short_write(image, path, *args, **kwargs):
        real_write(image, path, *args, **kwargs)
        content = Path(path).read_bytes()
        Path(path).write_bytes(content[: len(content) // 2 if kept is None else kept])

    monkeypatch.setattr(rau.io.images.sitk, "WriteImage", short_write)
    image = Image(np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8))
    with pytest.raises(InputError, match=f"could not write {re.escape(str(tmp_path / name))}: the file came out short"):
        write_image(image, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [1, 2, 4], ids=["scanner", "aligned", "mni"])
def test_a_nifti_whose_pixel_sizes_disagree_with_its_only_sform_is_refused(tmp_path, capfd, code):
    """Its sform edited alone (fslorient -setsform, nibabel's header.set_sform): nibabel, FSL and SPM place the voxels
    by the sform, ITK by the stale pixdim. Before, it was read at 1 mm without a word (ITK's raw warning aside), and
    every structure came back "lands outside the target"."""
    import nibabel

    sform = np.diag([-3.9, -3.9, 2.0, 1.0])
    for name, pixdim in (("stale", (1.0, 1.0, 1.0)), ("kept", (3.9, 3.9, 2.0))):
        nifti = nibabel.Nifti1Image(np.zeros((6, 5, 4), np.int16), None)
        nifti.header.set_sform(sform, code=code)
        nifti.header["qform_code"] = 0
        nifti.header["pixdim"][1:4] = pixdim
        nibabel.save(nifti, str(tmp_path / f"{name}.nii.gz"))
    assert read_image(tmp_path / "kept.nii.gz").spacing == pytest.approx((3.9, 3.9, 2.0))
    with pytest.raises(ImageReadError, match=r"stale.nii.gz: its pixel sizes \(pixdim 1 x 1 x 1\) disagree with its sform's \(3.9 x 3.9 x 2 mm\)"):
        read_image(tmp_path / "stale.nii.gz")
    assert "WARNING" not in capfd.readouterr().err  # ITK's own, with its build paths


@pytest.mark.parametrize("unit, scale", [("meter", 1e-3), ("micron", 1e3)])
def test_a_nifti_in_metres_or_microns_reads_as_its_copy_in_mm(tmp_path, unit, scale):
    """ITK reads such a file in mm; before, its sform was compared in its own unit and the file refused as "not a
    rotation and scaling" placed hundreds of mm away."""
    import nibabel

    affine = np.array([[-0.7, 0.1, 0, 20], [0.1, 0.7, 0, -30], [0, 0, 2.0, 40], [0, 0, 0, 1]])
    data = np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4)
    for name, factor, units in (("mm", 1.0, "mm"), ("other", scale, unit)):
        nifti = nibabel.Nifti1Image(data, np.diag([factor] * 3 + [1.0]) @ affine)
        nifti.header.set_xyzt_units(units)
        nibabel.save(nifti, str(tmp_path / f"{name}.nii.gz"))
    mm, other = read_image(tmp_path / "mm.nii.gz"), read_image(tmp_path / "other.nii.gz")
    assert np.array_equal(mm.array, other.array) and mm.same_grid(other)


def test_a_scanner_sform_with_a_skew_itk_straightens_within_a_voxel_is_read(tmp_path, capfd):
    """ITK straightens a slightly skewed scanner sform (within the shear tolerance): 0.07 mm at the far corner of a
    512-pixel slice, a tenth of a pixel; such files were read before and are read now, without ITK's warning."""
    import nibabel

    sform = np.diag([-0.7, -0.7, 2.0, 1.0])
    sform[0, 1] = 0.7 * 2e-4
    nifti = nibabel.Nifti1Image(np.zeros((512, 512, 2), np.int16), sform)
    nifti.header.set_sform(sform, code=1)
    nifti.header.set_qform(np.diag([-0.7, -0.7, 2.0, 1.0]), code=1)  # ITK's straight placement
    nibabel.save(nifti, str(tmp_path / "skewed.nii.gz"))
    assert read_image(tmp_path / "skewed.nii.gz").shape == (2, 512, 512)
    assert "WARNING" not in capfd.readouterr().err


def test_a_gzip_stream_is_unpacked_only_as_far_as_the_nifti_header_promises(tmp_path):
    """Before: the whole stream was unpacked to count it: a few MB of zeros behind a small header cost the server
    seconds per upload (terabytes at its upload limit)."""
    import gzip

    import nibabel

    from rau.validation import nifti_bytes

    nibabel.save(nibabel.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4)), tmp_path / "small.nii")
    (tmp_path / "bomb.nii.gz").write_bytes(gzip.compress((tmp_path / "small.nii").read_bytes() + bytes(64 << 20), compresslevel=1))
    expected, counted = nifti_bytes(tmp_path / "bomb.nii.gz")
    assert expected == 352 + 64 and expected <= counted <= 4 << 20  # one read of the stream at most, not 64 MiB


@pytest.mark.parametrize("values, problem", [((0, 2), "has label value 0; a label file holds whole numbers of at least 1"),
                                             ((1, 1), "structures 'a' and 'b' share the label value 1; give each its own")])
def test_structures_a_label_file_cannot_keep_apart_are_refused_before_writing(tmp_path, values, problem):
    """Before: value 0 was written as background and read back as no structure; two structures of one value were
    written as one, and the table was then refused on reading; a .seg.nrrd of value 0 could not be read back."""
    from rau.labels import LabelSet, Segmentation, Structure

    geometry = Image(np.zeros((1, 4, 4), np.uint8), spacing=(1, 1), ndim=2)
    masks = {"a": np.zeros((1, 4, 4), bool), "b": np.zeros((1, 4, 4), bool)}
    masks["a"][0, 0, 0] = masks["b"][0, 3, 3] = True
    segmentation = Segmentation(geometry, LabelSet([Structure("a", values[0]), Structure("b", values[1])]), masks)
    for write, name in ((write_label_map, "out.nii.gz"), (write_seg_nrrd, "out.seg.nrrd")):
        with pytest.raises(InputError, match=problem):
            write(segmentation, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_gzip_stream_cut_in_its_trailer_is_refused_also_when_its_data_ends_on_a_read(tmp_path):
    """Before (this session's first bound): a .nii.gz of exactly 4 MiB with its 8-byte trailer cut off was read."""
    import gzip

    import nibabel

    from rau.validation import nifti_bytes

    nibabel.save(nibabel.Nifti1Image(np.zeros((79, 79, 672), np.uint8), np.eye(4)), tmp_path / "whole.nii")
    assert (tmp_path / "whole.nii").stat().st_size == 4 << 20
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress((tmp_path / "whole.nii").read_bytes(), compresslevel=1)[:-8])
    with pytest.raises(InputError, match="truncated or damaged"):
        nifti_bytes(tmp_path / "cut.nii.gz")


def test_a_path_the_system_refuses_is_said_as_it_says_it(tmp_path, monkeypatch):
    """Before: "not a readable label table (NotADirectoryError: [Errno 20] Not a directory: ...)" and "not a readable
    image ([Errno 13] Permission denied: ...)": Python's exception text. (Root reads any file: the refusal of a
    user without the permission is simulated.)"""
    (tmp_path / "out.png").write_text("")
    with pytest.raises(InputError) as refused:
        read_label_table(tmp_path / "out.png" / "x.labels.csv")
    assert str(refused.value) == f"{tmp_path / 'out.png' / 'x.labels.csv'}: not a directory"
    picture = tmp_path / "locked.png"
    PILImage.new("L", (8, 8)).save(picture)

    def refused_open(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(PILImage, "open", refused_open)
    with pytest.raises(ImageReadError) as refused:
        read_image(picture, 0.5)
    assert str(refused.value) == f"{picture}: permission denied"


def test_an_anti_aliased_label_picture_is_warned_of_and_real_ones_are_not(shared_data, tmp_path, capsys):
    """A mask resized with interpolation holds a grey step for every edge pixel: each became a structure
    (label_4 ... label_255 of a lung mask: 40 structures) without a word."""
    from PIL import ImageDraw

    large = PILImage.new("L", (320, 240))
    ImageDraw.Draw(large).ellipse((40, 40, 280, 200), fill=255)
    large.resize((80, 60), PILImage.BILINEAR).save(tmp_path / "smoothed.png")
    read_segmentation(tmp_path / "smoothed.png", pixel_spacing=1.0)
    warning = capsys.readouterr().err
    assert re.search(r"smoothed.png: \d+ of its \d+ label values lie only along edges .* an anti-aliased mask", warning), warning
    for labels in ("arcade_syntax_dev/arcade_train_115_lab.png", "hc18_fetal_head_us/masks/000_HC_mask.png"):
        read_segmentation(shared_data / labels, pixel_spacing=1.0)
        assert "along edges" not in capsys.readouterr().err


def test_an_nrrd_without_pixel_sizes_is_a_picture_that_takes_the_pixel_size_given(shared_data, tmp_path, capsys):
    """An NRRD header may give neither ``spacings`` nor ``space directions``; ITK reads 1 mm. Before: read as 1 mm pixels
    beside a reference in mm without a word (Dice 0.006), and a pixel size given for it was refused ("its header says 1 x
    1 mm")."""
    import nrrd

    from rau.cli import main
    from rau.io.images import without_pixel_size

    folder = shared_data / "hc18_fetal_head_us"
    pixels = np.asarray(PILImage.open(folder / "images" / "058_HC.png").convert("L"))
    unsized = tmp_path / "058_HC.nrrd"
    nrrd.write(str(unsized), pixels.T.copy(), {"kinds": ["domain", "domain"]})
    assert without_pixel_size(unsized) == "an NRRD file" and read_image(unsized, 0.25).spacing[:2] == (0.25, 0.25)
    reference = ["--reference", str(folder / "images" / "012_HC.png"), "--reference-labels", str(folder / "masks" / "012_HC_mask.png"),
                 "--reference-spacing", "0.08346045", "--no-deformable"]
    assert main(["segment", *reference, "--target", str(unsized), "--out", str(tmp_path / "refused.nii.gz")]) == 2
    assert f"--target {unsized}: an NRRD file without a pixel size, while --reference" in capsys.readouterr().err
    for target, out in ((unsized, "nrrd.nii.gz"), (folder / "images" / "058_HC.png", "png.nii.gz")):
        assert main(["segment", *reference, "--target", str(target), "--target-spacing", "0.077068008", "--out", str(tmp_path / out)]) == 0
    assert np.array_equal(read_image(tmp_path / "nrrd.nii.gz").array, read_image(tmp_path / "png.nii.gz").array)
    mask = np.asarray(PILImage.open(folder / "masks" / "058_HC_mask.png"))
    nrrd.write(str(tmp_path / "058_HC_mask.nrrd"), mask.T.copy(), {"kinds": ["domain", "domain"]})  # its labels, as unsized
    target = ["--target", str(folder / "images" / "012_HC.png"), "--target-spacing", "0.08346045", "--no-deformable"]
    as_nrrd = ["--reference", str(unsized), "--reference-labels", str(tmp_path / "058_HC_mask.nrrd"), "--reference-spacing", "0.077068008"]
    as_png = ["--reference", str(folder / "images" / "058_HC.png"), "--reference-labels", str(folder / "masks" / "058_HC_mask.png"),
              "--reference-spacing", "0.077068008"]
    for reference, out in ((as_nrrd, "from_nrrd.nii.gz"), (as_png, "from_png.nii.gz")):  # before: "labels cover [-0.5..799.5 ..." (1 mm)
        assert main(["segment", *reference, *target, "--out", str(tmp_path / out)]) == 0, capsys.readouterr().err
    assert np.array_equal(read_image(tmp_path / "from_nrrd.nii.gz").array, read_image(tmp_path / "from_png.nii.gz").array)
    (tmp_path / "empty.nrrd").write_bytes(b"")  # before this rule's mend: internal errors (StopIteration, KeyError 'sizes')
    (tmp_path / "no_sizes.nrrd").write_bytes(b"NRRD0004\ntype: uint8\ndimension: 2\nencoding: raw\n\n" + bytes(16))
    for broken in ("empty.nrrd", "no_sizes.nrrd"):
        capsys.readouterr()
        assert main(["segment", *reference, "--target", str(tmp_path / broken), "--out", str(tmp_path / "broken.nii.gz")]) == 2
        assert f"{tmp_path / broken}: not a readable image" in capsys.readouterr().err
