"""``rau correct`` on a run that wrote a label map and a ``.seg.nrrd``, one or both edited by hand since: it reads the
one edited (the result JSON records the SHA-256 of each as written), and refuses two edits that disagree."""

import json

import nibabel as nib
import numpy as np
import pytest

from rau.cli import main
from rau.io import read_segmentation, write_seg_nrrd
from rau.labels import Segmentation

BLOCK = (slice(100, 110), slice(100, 110))
"""Where the user draws S5_left_main again, as a 10 x 10 block (rows j, columns i)."""


@pytest.fixture
def arcade_run(shared_data, tmp_path):
    """``rau segment --seg-nrrd`` of ARCADE 350 on 858: its result JSON, label map and ``.seg.nrrd``."""
    folder = shared_data / "arcade_syntax_dev"
    out = tmp_path / "r.nii.gz"
    assert main(["segment", "--reference", str(folder / "arcade_train_350_img.png"), "--reference-labels", str(folder / "arcade_train_350_lab.png"),
                 "--reference-spacing", "1", "--target", str(folder / "arcade_train_858_img.png"), "--target-spacing", "1",
                 "--out", str(out), "--seg-nrrd"]) == 0
    return tmp_path / "r.result.json", out, tmp_path / "r.seg.nrrd"


def _redraw_s5_in_label_map(label_map):
    """Erase S5_left_main (value 5) from the NIfTI label map and draw it as :data:`BLOCK`, as ITK-SNAP saves an edit."""
    image = nib.load(label_map)
    voxels = np.asarray(image.dataobj).copy()
    voxels[voxels == 5] = 0
    voxels[BLOCK[1], BLOCK[0]] = 5  # NIfTI arrays are (i, j, k)
    nib.save(nib.Nifti1Image(voxels, image.affine, image.header), label_map)


def _correct(result, out):
    return main(["correct", str(result), "--structure", "S6_LAD_proximal", "--inside", "211,181", "--out", str(out)])


def _block_only(mask) -> bool:
    """Whether a (k, j, i) mask of the 2D target is :data:`BLOCK` and nothing else."""
    drawn = np.zeros_like(mask)
    drawn[0][BLOCK] = True
    return bool(np.array_equal(mask, drawn))


def test_correct_keeps_a_hand_edit_of_the_label_map_of_a_run_that_also_wrote_a_seg_nrrd(arcade_run, tmp_path, capsys):
    """Before, the .seg.nrrd was read whatever was edited: the engine's S5_left_main (1066 pixels) came back."""
    result, label_map, _ = arcade_run
    _redraw_s5_in_label_map(label_map)
    assert _correct(result, tmp_path / "c.nii.gz") == 0, capsys.readouterr().err
    for written in (tmp_path / "c.nii.gz", tmp_path / "c.seg.nrrd"):
        assert _block_only(read_segmentation(written).mask("S5_left_main")), written
    assert set(json.loads((tmp_path / "c.result.json").read_text())["sha256"]) == {"label_map", "segmentation"}  # for the next correction


def test_correct_reads_an_edit_of_the_seg_nrrd_and_both_edits_when_they_agree(arcade_run, tmp_path, capsys):
    result, label_map, seg_nrrd = arcade_run
    saved = read_segmentation(seg_nrrd)
    masks = dict(saved.masks)
    masks["S5_left_main"] = np.zeros_like(masks["S5_left_main"])
    masks["S5_left_main"][0][BLOCK] = True
    write_seg_nrrd(Segmentation(saved.geometry, saved.labels, masks), seg_nrrd, overwrite=True)  # as Slicer saves an edit
    assert _correct(result, tmp_path / "c.nii.gz") == 0, capsys.readouterr().err
    assert _block_only(read_segmentation(tmp_path / "c.seg.nrrd").mask("S5_left_main"))
    _redraw_s5_in_label_map(label_map)  # the same edit in both files: they agree
    assert _correct(result, tmp_path / "c2.nii.gz") == 0, capsys.readouterr().err
    assert _block_only(read_segmentation(tmp_path / "c2.seg.nrrd").mask("S5_left_main"))


def test_correct_refuses_a_label_map_and_seg_nrrd_edited_apart_naming_both(arcade_run, tmp_path, capsys):
    result, label_map, seg_nrrd = arcade_run
    _redraw_s5_in_label_map(label_map)
    saved = read_segmentation(seg_nrrd)
    masks = {**saved.masks, "S6_LAD_proximal": np.zeros_like(saved.masks["S6_LAD_proximal"])}  # S6 erased in Slicer
    write_seg_nrrd(Segmentation(saved.geometry, saved.labels, masks), seg_nrrd, overwrite=True)
    before = label_map.read_bytes(), seg_nrrd.read_bytes()
    assert _correct(result, tmp_path / "c.nii.gz") == 2
    assert (f"{label_map} and {seg_nrrd} were both edited since {result} was written, and they now differ; rau correct reads one: "
            "keep one edit (delete r.nii.gz to keep the .seg.nrrd's, or save the same edit in r.seg.nrrd)") in capsys.readouterr().err
    assert not list(tmp_path.glob("c.*")) and (label_map.read_bytes(), seg_nrrd.read_bytes()) == before
    label_map.unlink()  # as the refusal says: the .seg.nrrd's edit is kept
    assert _correct(result, tmp_path / "c.nii.gz") == 0, capsys.readouterr().err
    np.testing.assert_array_equal(read_segmentation(tmp_path / "c.seg.nrrd").mask("S5_left_main"), saved.masks["S5_left_main"])


def _overlapping_seg_nrrd_run(folder):
    """``rau segment --seg-nrrd`` of :func:`test_cli_correct.write_overlapping_reference` ("block" covers "left" and
    "right", which the label map hides): the correction of "block" and the run's .seg.nrrd masks."""
    from test_cli_correct import overlapping_run

    correction = overlapping_run(folder, "--seg-nrrd")
    return correction, read_segmentation(folder / "t.seg.nrrd").masks


def _relabel(label_map, region, value):
    """Save ``label_map`` again with SimpleITK, ``region`` (rows j, columns i) set to ``value``, and compress it
    again otherwise (other bytes, as an image tool saves)."""
    import gzip

    import SimpleITK as sitk

    image = sitk.ReadImage(str(label_map))
    voxels = sitk.GetArrayFromImage(image)
    if region is not None:
        voxels[(0, *region) if voxels.ndim == 3 else region] = value
    resaved = sitk.GetImageFromArray(voxels)
    resaved.CopyInformation(image)
    before = label_map.read_bytes()
    sitk.WriteImage(resaved, str(label_map))
    label_map.write_bytes(gzip.compress(gzip.decompress(label_map.read_bytes()), 9, mtime=12345))
    assert label_map.read_bytes() != before


def test_a_label_map_saved_again_with_the_same_voxels_reads_as_the_seg_nrrd(tmp_path, capsys):
    """Before, its other bytes made it count as edited and it was read instead: "left" and "right", which it hides
    under "block", were written as not found, 0 voxels."""
    correction, run = _overlapping_seg_nrrd_run(tmp_path)
    _relabel(tmp_path / "t.nii.gz", None, 0)
    capsys.readouterr()
    assert main([*correction, "--out", str(tmp_path / "c.nii.gz")]) == 0
    assert "holds no voxel" not in capsys.readouterr().err
    corrected = read_segmentation(tmp_path / "c.seg.nrrd").masks
    for name in ("left", "right"):
        assert run[name].sum() > 0
        np.testing.assert_array_equal(corrected[name], run[name], err_msg=name)


def test_an_edit_of_the_label_map_is_kept_and_the_overlaps_it_hides_elsewhere_too(tmp_path, capsys):
    """Before, the label map was read alone: the edit was kept, but "left" and "right" lost every voxel "block" hides."""
    correction, run = _overlapping_seg_nrrd_run(tmp_path)
    painted = (slice(20, 30), slice(40, 50))  # inside "right" and "block": the user paints "left" there
    _relabel(tmp_path / "t.nii.gz", painted, 1)
    assert main([*correction, "--out", str(tmp_path / "c.nii.gz")]) == 0, capsys.readouterr().err
    corrected = read_segmentation(tmp_path / "c.seg.nrrd").masks
    left, right = run["left"].copy(), run["right"].copy()
    assert right[0][painted].all() and not left[0][painted].any()
    left[0][painted], right[0][painted] = True, False
    np.testing.assert_array_equal(corrected["left"], left)
    np.testing.assert_array_equal(corrected["right"], right)
    assert not corrected["block"][0][painted].any()


def test_a_structure_a_label_map_edit_covers_is_said_without_the_seg_nrrd_hint_for_a_seg_nrrd_run(tmp_path, capsys):
    """Before, the warning told to use rau segment --seg-nrrd, which the run did."""
    correction, run = _overlapping_seg_nrrd_run(tmp_path)
    _relabel(tmp_path / "t.nii.gz", (slice(16, 48), slice(8, 56)), 2)  # "right" painted over "left" and "block"
    capsys.readouterr()
    assert main(["correct", str(tmp_path / "t.result.json"), "--structure", "right", "--outside", "2,2", "--out", str(tmp_path / "c.nii.gz")]) == 0
    error = capsys.readouterr().err
    assert (f"{tmp_path / 't.nii.gz'} holds no voxel of 'left', 'block', which {tmp_path / 't.result.json'} found: "
            "hidden under other structures in the label map (or erased since); written as not found") in error
    assert "--seg-nrrd" not in error
