"""Slicer .seg.nrrd segmentations on real files: names, colours, terminology and label values kept, overlapping layers,
cropped and turned grids placed where Slicer put them, and a picture's segmentation at its own or another pixel size."""

import re
from pathlib import Path

import numpy as np
import pytest

from rau.errors import InputError
from rau.image import Image
from rau.io import ImageReadError, read_image, read_segmentation, write_label_map, write_seg_nrrd
from rau.labels import LabelSet, Segmentation


def test_seg_nrrd_keeps_names_colors_terminology_and_lies_on_the_ct(slicerio_data):
    ct = read_image(slicerio_data / "CTChest4.nrrd")
    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd")
    assert segmentation.labels.names == ["ribs", "cervical vertebral column", "thoracic vertebral column", "lumbar vertebral column", "right lung", "left lung", "tissue"]
    assert segmentation.geometry.same_grid(ct)
    ribs = segmentation.labels.get("ribs")
    assert ribs.terminology["type"][2] == "Rib" and ribs.color[0] == pytest.approx(0.992157)
    lungs = ct.array[segmentation.mask("right lung")]
    assert lungs.mean() < -500  # air: the mask lands on the lung


def test_cropped_seg_nrrd_lies_where_slicer_put_it(slicerio_data, tmp_path):
    """Slicer crops a saved segmentation to its segments: ``space origin`` places the first stored
    voxel and ``Segmentation_ReferenceImageExtentOffset`` only records where the crop began."""
    import slicerio

    data = slicerio.read_segmentation(str(slicerio_data / "Segmentation.seg.nrrd"))
    offset = np.array([3, 5, 2])
    data["voxels"] = data["voxels"][offset[0] :, offset[1] :, offset[2] :]
    data["ijkToLPS"] = np.array(data["ijkToLPS"], dtype=float)
    data["ijkToLPS"][:3, 3] += data["ijkToLPS"][:3, :3] @ offset
    data["referenceImageExtentOffset"] = offset.tolist()
    slicerio.write_segmentation(str(tmp_path / "cropped.seg.nrrd"), data)
    ct = read_image(slicerio_data / "CTChest4.nrrd")
    full = read_segmentation(slicerio_data / "Segmentation.seg.nrrd", ct)
    cropped = read_segmentation(tmp_path / "cropped.seg.nrrd", ct)
    cut = np.zeros(ct.shape, bool)
    cut[offset[2] :, offset[1] :, offset[0] :] = True  # (k, j, i)
    for name in full.labels.names:
        np.testing.assert_array_equal(cropped.mask(name), full.mask(name) & cut)


def test_overlapping_seg_nrrd_keeps_both_layers(slicerio_data):
    segmentation = read_segmentation(slicerio_data / "SegmentationOverlapping.seg.nrrd")
    sphere, tissue = segmentation.mask("overlapping sphere"), segmentation.mask("tissue")
    assert (sphere & tissue).any()


def test_seg_nrrd_write_read_round_trip(slicerio_data, tmp_path):
    segmentation = read_segmentation(slicerio_data / "SegmentationOverlapping.seg.nrrd")
    write_seg_nrrd(segmentation, tmp_path / "copy.seg.nrrd")
    again = read_segmentation(tmp_path / "copy.seg.nrrd")
    assert again.labels.names == segmentation.labels.names
    assert again.geometry.same_grid(segmentation.geometry)
    for name in segmentation.labels.names:
        np.testing.assert_array_equal(again.mask(name), segmentation.mask(name))
    assert again.labels.get("ribs").color == pytest.approx(segmentation.labels.get("ribs").color, abs=1e-4)


def test_seg_nrrd_keeps_the_label_values_of_overlapping_structures(tmp_path):
    """Before, slicerio numbered the segments 1, 2, 3 per layer: a .seg.nrrd read back (or used as a reference)
    gave other values than the label map and label table written beside it."""
    import slicerio

    from rau.labels import Structure

    geometry = Image.from_grid(np.zeros((4, 20, 30), np.uint8), (0.5, 0.5, 2.0), (0.0, 0.0, 0.0), np.eye(3))
    masks = {name: np.zeros(geometry.shape, bool) for name in ("aorta", "liver", "lesion", "vessel")}
    masks["aorta"][:, :10, :10] = masks["liver"][:, 10:, :] = masks["vessel"][:, :5, 5:15] = True
    masks["lesion"][:, 12:15, 3:6] = True  # inside the liver: a second layer
    values = {"aorta": 200, "liver": 3, "lesion": 7, "vessel": 300}
    labels = LabelSet(tuple(Structure(name, value, (0.2, 0.4, 0.6)) for name, value in values.items()))
    write_seg_nrrd(Segmentation(geometry, labels, masks), tmp_path / "a.seg.nrrd")

    again = read_segmentation(tmp_path / "a.seg.nrrd")
    assert {structure.name: structure.value for structure in again.labels} == values
    for name, mask in masks.items():
        np.testing.assert_array_equal(again.mask(name), mask)
    stored = slicerio.read_segmentation(str(tmp_path / "a.seg.nrrd"))
    assert {segment["name"]: segment["labelValue"] for segment in stored["segments"]} == values
    assert stored["voxels"].ndim == 4 and stored["voxels"].max() == 300
    write_seg_nrrd(Segmentation(geometry, LabelSet(()), {}), tmp_path / "none.seg.nrrd")  # nothing found: still written
    assert read_segmentation(tmp_path / "none.seg.nrrd", geometry=geometry).labels.names == []


def test_a_seg_nrrd_on_a_turned_larger_grid_is_read_when_its_voxels_lie_inside_the_image(tmp_path):
    """Before: refused because the turned grid's empty corners stick out, while Slicer took the same segmentation."""
    from rau.labels import Structure

    image = Image(np.zeros((6, 40, 40), np.int16), (1.0, 1.0, 2.0), (0.0, 0.0, 0.0))
    turn = np.deg2rad(30)
    direction = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
    centre = np.array([19.5, 19.5, 5.0])
    grid = Image(np.zeros((6, 50, 50), np.uint8), (1.0, 1.0, 2.0), tuple(centre - direction @ np.array([24.5, 24.5, 5.0])), direction)
    cube = np.zeros(grid.shape, bool)
    cube[2:4, 22:28, 22:28] = True
    segmentation = Segmentation(grid, LabelSet((Structure("lesion", 1),)), {"lesion": cube})
    write_seg_nrrd(segmentation, tmp_path / "turned.seg.nrrd")
    on_image = read_segmentation(tmp_path / "turned.seg.nrrd", geometry=image)
    lesion = np.argwhere(on_image.masks["lesion"])
    assert len(lesion) and np.allclose(lesion.mean(axis=0)[1:], (19.5, 19.5), atol=1.0)
    write_label_map(segmentation, tmp_path / "turned.nii.gz")
    with pytest.raises(InputError, match="turned.nii.gz: labels lie on a grid turned against the image's, so they cannot cover the same region"):
        read_segmentation(tmp_path / "turned.nii.gz", geometry=image)
    flipped = Image(np.zeros((6, 35, 40), np.uint8), (1.0, 1.0, 2.0), (39.0, 39.0, 0.0), np.diag([-1.0, -1.0, 1.0]))  # LPS/RAS, 5 rows short
    write_label_map(Segmentation(flipped, LabelSet((Structure("lesion", 1),)), {"lesion": np.ones(flipped.shape, bool)}), tmp_path / "flipped.nii.gz")
    with pytest.raises(InputError, match=r"flipped.nii.gz: labels cover \[-0.5..39.5, 4.5..39.5, -1.0..11.0\] mm but the image covers"):
        read_segmentation(tmp_path / "flipped.nii.gz", geometry=image)  # only flipped: not "turned", the rows are missing
    turned_image = Image(np.zeros((6, 40, 40), np.int16), (1.0, 1.0, 2.0), tuple(centre - direction @ np.array([19.5, 19.5, 5.0])), direction)
    corner = np.zeros((6, 40, 40), bool)
    corner[2:4, 0:2, 0:2] = True  # inside the axis-aligned image's box, outside the turned image
    write_seg_nrrd(Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet((Structure("lesion", 1),)), {"lesion": corner}), tmp_path / "corner.seg.nrrd")
    with pytest.raises(InputError, match=r"corner.seg.nrrd: labelled voxels reach \d+.\d mm outside the image"):
        read_segmentation(tmp_path / "corner.seg.nrrd", geometry=turned_image)


def test_seg_nrrd_bytes_do_not_depend_on_the_time_of_writing(slicerio_data, tmp_path, monkeypatch):
    import datetime

    import nrrd.writer

    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd")
    write_seg_nrrd(segmentation, tmp_path / "a.seg.nrrd")

    class Later(datetime.datetime):  # pynrrd stamps its header with the time of writing
        @classmethod
        def utcnow(cls):
            return datetime.datetime(2031, 1, 2, 3, 4, 5)

    monkeypatch.setattr(nrrd.writer, "datetime", Later)
    write_seg_nrrd(segmentation, tmp_path / "b.seg.nrrd")
    assert (tmp_path / "a.seg.nrrd").read_bytes() == (tmp_path / "b.seg.nrrd").read_bytes()


def test_a_seg_nrrd_with_colours_in_0_to_255_is_refused_naming_it(slicerio_data, tmp_path):
    header_end = (slicerio_data / "Segmentation.seg.nrrd").read_bytes().index(b"\n\n")
    content = (slicerio_data / "Segmentation.seg.nrrd").read_bytes()
    header = re.sub(rb"Segment0_Color:=[^\n]*", b"Segment0_Color:=255 0 0", content[:header_end])
    (tmp_path / "bright.seg.nrrd").write_bytes(header + content[header_end:])
    with pytest.raises(ImageReadError, match=r"bright.seg.nrrd: structure .*: color \(255.0, 0.0, 0.0\) must be three values in 0..1"):
        read_segmentation(tmp_path / "bright.seg.nrrd")


@pytest.mark.parametrize("pixel_size_in_slicer", [1.0, 0.0691])  # Slicer's default for a PNG; the size rau is given
def test_a_seg_nrrd_drawn_on_a_picture_and_cropped_by_slicer_lies_where_it_was_drawn(shared_data, tmp_path, pixel_size_in_slicer):
    """Slicer saves a segmentation cropped to its segments, its first voxel placed where it lies on the picture
    (loaded at origin 0, columns along L). Read onto the PNG, the cropped block was put at the picture's first pixel:
    the fetal head moved 69 rows and 47 columns, with no warning; the Slicer module had it right."""
    folder = shared_data / "hc18_fetal_head_us"
    picture = read_image(folder / "images/000_HC.png", 0.0691)
    truth = read_image(folder / "masks/000_HC_mask.png", 0.0691).array > 0
    _, rows, columns = np.nonzero(truth)
    top, left = rows.min(), columns.min()
    drawn = truth[:, top : rows.max() + 1, left : columns.max() + 1]
    size = pixel_size_in_slicer
    cropped = Image.from_grid(drawn.astype(np.uint8), (size, size, 1.0), (left * size, top * size, 0.0), np.eye(3))
    write_seg_nrrd(Segmentation(cropped, LabelSet.from_values([1], {1: "head"}), {"head": drawn}), tmp_path / "head.seg.nrrd")
    read = read_segmentation(tmp_path / "head.seg.nrrd", geometry=picture)
    np.testing.assert_array_equal(read.masks["head"], truth)
    assert read.geometry.same_grid(picture)
    beyond = Image.from_grid(drawn.astype(np.uint8), (size, size, 1.0), ((left + 700) * size, top * size, 0.0), np.eye(3))
    write_seg_nrrd(Segmentation(beyond, LabelSet.from_values([1], {1: "head"}), {"head": drawn}), tmp_path / "beyond.seg.nrrd")
    with pytest.raises(InputError, match=r"beyond.seg.nrrd: labels cover .* mm but the image 000_HC.png covers .* mm;"):  # off the picture:
        read_segmentation(tmp_path / "beyond.seg.nrrd", geometry=picture, image_path=folder / "images/000_HC.png")  # refused, not moved onto it



def test_a_seg_nrrd_of_a_whole_picture_at_another_resolution_lies_on_it_at_the_pixel_size_given(shared_data, tmp_path):
    """A mask of the whole picture at half its resolution (SCR's 1024 px masks of 2048 px chest films), saved as a
    .seg.nrrd, given with the picture's pixel size: it was taken for a segmentation drawn in Slicer on the picture at
    the mask's own pixel size, and the labels were squeezed into the picture's top-left quarter (Dice 0.12 on
    chest films, confidence 0.99)."""
    folder = shared_data / "hc18_fetal_head_us"
    picture = read_image(folder / "images/000_HC.png", 0.0691)
    truth = read_image(folder / "masks/000_HC_mask.png", 0.0691).array > 0
    half = truth[:, ::2, ::2]
    coarse = Image.from_grid(half.astype(np.uint8), (0.1382, 0.1382, 1.0), (0.0345, 0.0345, 0.0), np.eye(3))
    write_seg_nrrd(Segmentation(coarse, LabelSet.from_values([1], {1: "head"}), {"head": half}), tmp_path / "head.seg.nrrd")
    read = read_segmentation(tmp_path / "head.seg.nrrd", geometry=picture, pixel_spacing=0.0691)
    mask = read.masks["head"]
    assert 2 * (mask & truth).sum() / (mask.sum() + truth.sum()) > 0.97  # before: 0, the head a quarter of its size in a corner
    assert read.geometry.same_grid(picture)


def _edited_seg_nrrd(tmp_path, edit) -> Path:
    """A two-segment ``.seg.nrrd`` (one layer: values 1 and 2) written by rau, its header passed through ``edit``
    (bytes -> bytes), as a hand-edited or foreign file."""
    geometry = Image(np.zeros((6, 8, 8), np.uint8), spacing=(1.0, 1.0, 2.0))
    liver, spleen = np.zeros(geometry.shape, bool), np.zeros(geometry.shape, bool)
    liver[1:3, 1:4, 1:4], spleen[3:5, 5:7, 5:7] = True, True
    path = write_seg_nrrd(Segmentation(geometry, LabelSet.from_values([1, 2], {1: "liver", 2: "spleen"}), {"liver": liver, "spleen": spleen}),
                          tmp_path / "written.seg.nrrd")
    header, blank, data = path.read_bytes().partition(b"\n\n")
    edited = tmp_path / "edited.seg.nrrd"
    edited.write_bytes(edit(header) + blank + data)
    return edited


def test_a_seg_nrrd_whose_segments_share_a_value_in_one_layer_is_refused(tmp_path):
    """Before: read, every segment renumbered (1, 2) and the spleen given the liver's voxels."""
    path = _edited_seg_nrrd(tmp_path, lambda header: header.replace(b"Segment1_LabelValue:=2", b"Segment1_LabelValue:=1"))
    with pytest.raises(ImageReadError, match=r"edited.seg.nrrd: segments 'liver' and 'spleen' both have the label value 1 in layer 0"):
        read_segmentation(path)


def test_a_seg_nrrd_with_voxels_no_segment_has_is_read_with_a_warning(tmp_path, capsys):
    """Before: the spleen's voxels (value 2, its segment saying 9) were dropped without a word."""
    path = _edited_seg_nrrd(tmp_path, lambda header: header.replace(b"Segment1_LabelValue:=2", b"Segment1_LabelValue:=9"))
    masks = read_segmentation(path).masks
    assert masks["liver"].sum() == 18 and not masks["spleen"].any()
    assert "edited.seg.nrrd: layer 0 has 8 voxels of label value(s) 2 that no segment has" in capsys.readouterr().err
    read_segmentation(tmp_path / "written.seg.nrrd")
    assert "warning" not in capsys.readouterr().err


def test_a_seg_nrrd_segment_name_not_in_utf8_is_refused_naming_the_line(tmp_path):
    """Before: read as 'caf\\ufffd' (a stand-in character) in every output."""
    path = _edited_seg_nrrd(tmp_path, lambda header: header.replace(b"Segment0_Name:=liver", "Segment0_Name:=café".encode("latin-1")))
    with pytest.raises(ImageReadError, match=r"edited.seg.nrrd: header line \d+ is not UTF-8 text \(byte 0xe9"):
        read_segmentation(path)
