"""``rau correct`` refuses a target changed since the run: the result records the SHA-256 of the target's voxels
(``inputs.target_sha256``) and checks its grid against the saved masks within a tolerance; before, another image in its
place was corrected on without a word."""

import json
import shutil

import numpy as np
import SimpleITK as sitk

from test_cli import HC18, hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main


def segmented(case):
    """The HC18 pair segmented to out/t.nii.gz: its result JSON."""
    assert main(segment_args(case, case / "out" / "t.nii.gz", "--no-deformable")) == 0
    return case / "out" / "t.result.json"


def correct(result, out, *extra):
    return main(["correct", str(result), "--structure", "fetal head", "--outside", "10,10", "--out", str(out), *extra])


def test_the_result_records_the_target_s_fingerprint_and_an_unchanged_target_is_corrected(hc18_case):  # noqa: F811
    result = segmented(hc18_case)
    recorded = json.loads(result.read_text())["inputs"]["target_sha256"]
    assert len(recorded) == 64
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 0
    assert json.loads((hc18_case / "out" / "c.result.json").read_text())["inputs"]["target_sha256"] == recorded


def test_a_target_replaced_since_the_run_is_refused_naming_it_and_nothing_is_written(hc18_case, capsys):  # noqa: F811
    result = segmented(hc18_case)
    shutil.copy(hc18_case / "001.png", hc18_case / "002.png")  # another patient's scan in its place
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 2
    assert (f"error: {hc18_case / '002.png'}, the target {result} records, changed since the run (its voxels are "
            "not those the run read); give the original target") in capsys.readouterr().err
    assert not (hc18_case / "out" / "c.nii.gz").exists()


def test_a_target_given_with_target_is_checked_against_the_recorded_one(hc18_case, capsys):  # noqa: F811
    result = segmented(hc18_case)
    moved = hc18_case / "moved.png"
    shutil.copy(hc18_case / "002.png", moved)
    assert correct(result, hc18_case / "out" / "c.nii.gz", "--target", str(moved), "--target-spacing", str(HC18["002"])) == 0
    shutil.copy(hc18_case / "001.png", moved)
    capsys.readouterr()
    assert correct(result, hc18_case / "out" / "d.nii.gz", "--target", str(moved), "--target-spacing", str(HC18["002"])) == 2
    assert f"error: --target {moved}: not the target {result} records" in capsys.readouterr().err
    assert not (hc18_case / "out" / "d.nii.gz").exists()


def test_a_result_without_the_fingerprint_is_read_unchecked(hc18_case):  # noqa: F811
    result = segmented(hc18_case)
    saved = json.loads(result.read_text())
    del saved["inputs"]["target_sha256"]
    result.write_text(json.dumps(saved))
    assert correct(result, hc18_case / "out" / "c.nii.gz") == 0


def test_a_pixel_size_typed_as_rau_shows_it_is_the_run_s_and_another_is_refused_naming_the_recorded_one(hc18_case, capsys):  # noqa: F811
    """Before: --target-spacing 0.0620326 (the run's 0.062032563 as rau's messages print it) was refused as another
    target, without saying which pixel size the run used. (A PNG result holds no pixel size of its own to check.)"""
    assert main(segment_args(hc18_case, hc18_case / "out" / "t.png", "--no-deformable")) == 0
    result = hc18_case / "out" / "t.result.json"
    args = ["--target", str(hc18_case / "002.png"), "--target-spacing"]
    assert correct(result, hc18_case / "out" / "c.png", *args, "0.0620326") == 0
    capsys.readouterr()
    assert correct(result, hc18_case / "out" / "d.png", *args, "0.07") == 2
    err = capsys.readouterr().err
    assert "its pixel size 0.07 mm is not the 0.0620326 mm the run used (inputs.target_spacing in" in err, err
    assert not (hc18_case / "out" / "d.png").exists()


def test_an_oblique_target_re_saved_with_its_spacing_a_last_digit_apart_is_the_same_target(tmp_path, capsys):
    """Before: an oblique NRRD re-saved (as SimpleITK or Slicer writes it again) read back a last digit apart in its
    spacing and was refused as 'changed since the run'; a target moved by 1 mm is still refused."""
    volume = (np.random.default_rng(0).random((6, 40, 40)) * 200).astype(np.int16)
    volume[2:5, 10:30, 10:30] += 800
    for name, array in (("ref.nii.gz", volume), ("ref_labels.nii.gz", (volume > 500).astype(np.uint8))):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.7654321, 0.7654321, 2.5))
        sitk.WriteImage(image, str(tmp_path / name))
    (tmp_path / "ref_labels.labels.csv").write_text("value,name\n1,box\n")
    target = sitk.GetImageFromArray(np.roll(volume, 2, axis=2))
    angle = np.radians(10)
    target.SetDirection((np.cos(angle), -np.sin(angle), 0, np.sin(angle), np.cos(angle), 0, 0, 0, 1))
    target.SetSpacing((0.7654321, 0.7654321, 2.5))
    target.SetOrigin((177.123456789, -11.3190001, 94.30175))
    path = tmp_path / "t.nrrd"
    sitk.WriteImage(target, str(path))
    out = tmp_path / "out" / "t.nii.gz"
    assert main(["segment", "--no-deformable", "--reference", str(tmp_path / "ref.nii.gz"), "--reference-labels",
                 str(tmp_path / "ref_labels.nii.gz"), "--target", str(path), "--out", str(out)]) == 0
    result = out.with_name("t.result.json")
    sitk.WriteImage(sitk.ReadImage(str(path)), str(path), useCompression=True)  # re-saved: the same voxels ...
    assert sitk.ReadImage(str(path)).GetSpacing()[0] != 0.7654321  # ... and a spacing a last digit apart
    assert correct_box(result, tmp_path / "out" / "c.nii.gz") == 0, capsys.readouterr().err
    target.SetOrigin((178.123456789, -11.3190001, 94.30175))
    sitk.WriteImage(target, str(path))
    capsys.readouterr()
    assert correct_box(result, tmp_path / "out" / "d.nii.gz") == 2
    assert f"error: {path} (the target {result} records): {out} lies on another grid" in capsys.readouterr().err


def correct_box(result, out):
    return main(["correct", str(result), "--structure", "box", "--inside", "20,20,3", "--out", str(out)])
