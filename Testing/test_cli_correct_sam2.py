"""``rau correct`` and ``rau evaluate --clicks`` on results of the SAM2 engines (tiny random SAM2): the engine runs
again on the recorded inputs and goes on from the saved masks and prompts."""

import json
import shutil

import numpy as np
import pytest
import SimpleITK as sitk
from test_cli import HC18, hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main
from rau.io import read_segmentation


def test_evaluate_with_clicks_runs_with_a_sam2_engine(tiny_sam2, tmp_path, capsys):
    """Tiny random models: this proves the simulated user drives a model session, not that it helps."""
    rng = np.random.default_rng(0)
    labels = np.zeros((6, 24, 24), np.uint8)
    labels[2:4, 5:12, 5:12] = 1
    for name, array in {"ref": rng.normal(size=labels.shape), "target": rng.normal(size=labels.shape)}.items():
        sitk.WriteImage(sitk.GetImageFromArray(array.astype(np.float32)), str(tmp_path / f"{name}.nii.gz"))
        sitk.WriteImage(sitk.GetImageFromArray(labels), str(tmp_path / f"{name}_labels.nii.gz"))
    (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels\nref.nii.gz,ref_labels.nii.gz,target.nii.gz,target_labels.nii.gz\n")
    code = main(["evaluate", str(tmp_path / "cases.csv"), "--engine", "sam2-memory", "--sam2-model", str(tiny_sam2["always"]),
                 "--device", "cpu", "--slice-axis", "k", "--clicks", "2", "--json", str(tmp_path / "scores.json")])
    assert code == 0, capsys.readouterr().err
    curve = json.loads((tmp_path / "scores.json").read_text())["cases"][0]["dice_per_click"]["label_1"]
    assert len(curve) == 3 and all(0.0 <= value <= 1.0 for value in curve)


def test_correct_reruns_a_model_engine_and_starts_from_the_saved_mask(tiny_sam2, tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(1)
    labels = np.zeros((6, 24, 24), np.uint8)
    labels[2:4, 5:12, 5:12] = 1
    sitk.WriteImage(sitk.GetImageFromArray(rng.normal(size=labels.shape).astype(np.float32)), str(tmp_path / "ref.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(tmp_path / "ref_labels.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(rng.normal(size=labels.shape).astype(np.float32)), str(tmp_path / "target.nii.gz"))
    model = ["--engine", "sam2-memory", "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu", "--slice-axis", "k"]
    assert main(["segment", "--reference", str(tmp_path / "ref.nii.gz"), "--reference-labels", str(tmp_path / "ref_labels.nii.gz"),
                 "--target", str(tmp_path / "target.nii.gz"), "--out", str(tmp_path / "out" / "t.nii.gz"), *model]) == 0
    written = sitk.ReadImage(str(tmp_path / "out" / "t.nii.gz"))
    saved = sitk.GetArrayFromImage(written)
    saved[5, 0:3, 0:3] = 1  # a hand edit in the saved label map, which the re-run engine never produced
    edited = sitk.GetImageFromArray(saved)
    edited.CopyInformation(written)
    sitk.WriteImage(edited, str(tmp_path / "out" / "t.nii.gz"))
    import rau.commands.correct as correct

    with monkeypatch.context() as patch:  # SAM2 corrects one slice: points on two are refused before the rerun (before: after it)
        patch.setattr(correct, "session_of", lambda *args: pytest.fail("the run was repeated before the prompt was checked"))
        assert main(["correct", str(tmp_path / "out" / "t.result.json"), "--structure", "label_1", "--inside", "8,8,3",
                     "--outside", "2,2,4", "--out", str(tmp_path / "out" / "c.nii.gz")]) == 2
    assert "the points lie on different slices along k ([3, 4])" in capsys.readouterr().err
    code = main(["correct", str(tmp_path / "out" / "t.result.json"), "--structure", "label_1", "--inside", "8,8,3",
                 "--out", str(tmp_path / "out" / "c.nii.gz")])
    assert code == 0, capsys.readouterr().err
    corrected = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / "c.nii.gz")))
    untouched = [k for k in range(6) if k != 3]  # SAM2 re-prompts one slice; the others keep the saved mask
    assert np.array_equal(corrected[untouched], saved[untouched]) and corrected[5, 0:3, 0:3].all()
    summary = json.loads((tmp_path / "out" / "c.result.json").read_text())
    assert summary["engine"] == "sam2-memory" and summary["structures"][0]["prompts"]["corrected_slices"] == [3]

    summary["inputs"]["engine_options"]["device"] = "cuda:7"  # made on a GPU machine
    (tmp_path / "out" / "gpu.result.json").write_text(json.dumps(summary))
    again = ["correct", str(tmp_path / "out" / "gpu.result.json"), "--structure", "label_1", "--inside", "8,8,3"]
    assert main([*again, "--out", str(tmp_path / "out" / "d.png")]) == 2  # before: refused after the rerun, naming a temporary file
    assert "--out " in (err := capsys.readouterr().err) and "d.png: a .png file holds a 2D picture, but the target is 3D" in err
    assert main([*again, "--out", str(tmp_path / "out" / "d.nii.gz")]) == 2
    assert "options not given here are the ones the result recorded; --device" in capsys.readouterr().err
    assert main([*again, "--out", str(tmp_path / "out" / "d.nii.gz"), "--device", "cpu"]) == 0  # before: no way to run it here
    assert json.loads((tmp_path / "out" / "d.result.json").read_text())["inputs"]["engine_options"]["device"] == "cpu"


def test_a_bank_result_is_corrected_with_the_bank_rows_it_records_when_the_bank_file_moved(tiny_sam2, tmp_path, capsys):
    """Before: the result recorded only the bank file, so every ``rau correct`` read it again: once it moved, even a
    weight-free correction failed ("reference bank ... does not exist"), and a rerun used the file as it was then."""
    rng = np.random.default_rng(2)
    labels = np.zeros((6, 24, 24), np.uint8)
    labels[2:4, 5:12, 5:12] = 1
    rows = ["image,labels"]
    for name in ("a", "b"):
        sitk.WriteImage(sitk.GetImageFromArray(rng.normal(size=labels.shape).astype(np.float32)), str(tmp_path / f"{name}.nii.gz"))
        sitk.WriteImage(sitk.GetImageFromArray(labels), str(tmp_path / f"{name}_labels.nii.gz"))
        rows.append(f"{name}.nii.gz,{name}_labels.nii.gz")
    (tmp_path / "bank.csv").write_text("\n".join(rows) + "\n")
    sitk.WriteImage(sitk.GetImageFromArray(rng.normal(size=labels.shape).astype(np.float32)), str(tmp_path / "target.nii.gz"))
    model = ["--sam2-model", str(tiny_sam2["always"]), "--device", "cpu", "--slice-axis", "k"]
    for engine in ("registration", "sam2-memory"):
        out = tmp_path / engine
        assert main(["segment", "--reference-bank", str(tmp_path / "bank.csv"), "--target", str(tmp_path / "target.nii.gz"),
                     "--out", str(out / "t.nii.gz"), "--engine", engine, *model]) == 0
        recorded = json.loads((out / "t.result.json").read_text())["inputs"]["reference_bank_rows"]
        assert recorded == [{"image": str((tmp_path / f"{name}.nii.gz").resolve()), "pixel_spacing": None,
                             "labels": str((tmp_path / f"{name}_labels.nii.gz").resolve())} for name in ("a", "b")]
    (tmp_path / "bank.csv").rename(tmp_path / "moved.csv")
    for engine in ("registration", "sam2-memory"):
        out = tmp_path / engine
        code = main(["correct", str(out / "t.result.json"), "--structure", "label_1", "--inside", "8,8,3", "--out", str(out / "c.nii.gz")])
        assert code == 0, capsys.readouterr().err
        assert json.loads((out / "c.result.json").read_text())["inputs"]["reference_bank_rows"] == recorded
    (tmp_path / "b.nii.gz").rename(tmp_path / "b_moved.nii.gz")  # before: "b.nii.gz: no such file or folder", no more
    out = tmp_path / "sam2-memory"
    assert main(["correct", str(out / "t.result.json"), "--structure", "label_1", "--inside", "8,8,3", "--out", str(out / "e.nii.gz")]) == 2
    assert (f"{(tmp_path / 'b.nii.gz').resolve()}, which the result records as an input, is not there (moved or deleted); a sam2-memory "
            "result is corrected by running its engine again on its references: put the file back, or run rau segment again") in capsys.readouterr().err
    assert not (out / "e.nii.gz").exists()


def test_a_chain_of_sam2_corrections_goes_on_from_the_earlier_prompts_as_one_session_does(hc18_case, tiny_sam2, capsys):  # noqa: F811
    """Before: a result recorded only which slices were corrected, so the second `rau correct` forgot the first one's
    box: the clicks spread the head far outside it, unlike the same two steps in one session (a server's, Slicer's)."""
    from rau.boxes import Box
    from rau.engines import Request, create_engine
    from rau.engines.base import Prompt
    from rau.io import read_image
    from rau.references import load_reference

    out = hc18_case / "out"
    model = ["--engine", "sam2-memory", "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu"]
    assert main(segment_args(hc18_case, out / "t.nii.gz", *model)) == 0
    assert main(["correct", str(out / "t.result.json"), "--structure", "fetal head", "--box", "150,120,460,420",
                 "--out", str(out / "boxed.nii.gz")]) == 0
    assert main(["correct", str(out / "boxed.result.json"), "--structure", "fetal head", "--inside", "292,352",
                 "--outside", "120,80", "--out", str(out / "clicked.nii.gz")]) == 0, capsys.readouterr().err
    chained = read_segmentation(out / "clicked.nii.gz").masks["fetal head"]

    reference = load_reference(hc18_case / "001.png", hc18_case / "001_mask.png", HC18["001"])
    engine = create_engine("sam2-memory", {"sam2_model": str(tiny_sam2["always"]), "device": "cpu"})
    session = engine.run(Request([reference], read_image(hc18_case / "002.png", HC18["002"]))).session
    session.reprompt("fetal head", Prompt(box=Box((150, 120, 0), (461, 421, 1))))
    clicked = session.reprompt("fetal head", Prompt(points=[(292, 352, 0), (120, 80, 0)], labels=[1, 0]))
    assert clicked.mask.any() and not clicked.mask[:, :, 461:].any()  # the clicks stay inside the box
    np.testing.assert_array_equal(chained, clicked.mask)

    saved = json.loads((out / "boxed.result.json").read_text())
    where = "the saved prompts of 'fetal head' (prompts.given_prompts)"
    for given, said in ((5, "structures[0].prompts.given_prompts should be a list of"),
                        ([{"slice": 0, "prompt": {"points": [], "labels": [], "box": None}}], f"{where}, entry 1: a prompt needs at least one point or a box"),
                        ([{"slice": 0, "prompt": {"points": [[5, 5, 0]], "labels": []}}], f"{where}, entry 1: give one label per point")):
        saved["structures"][0]["prompts"]["given_prompts"] = given  # an edited file: before, internal errors (TypeError, IndexError in SAM2)
        (out / "edited.result.json").write_text(json.dumps(saved))
        shutil.copy(out / "boxed.nii.gz", out / "edited.nii.gz")
        shutil.copy(out / "boxed.labels.csv", out / "edited.labels.csv")
        assert main(["correct", str(out / "edited.result.json"), "--structure", "fetal head", "--inside", "292,352",
                     "--out", str(out / "again.nii.gz")]) == 2
        assert said in capsys.readouterr().err
