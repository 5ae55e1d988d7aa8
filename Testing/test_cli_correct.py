"""``rau correct`` and ``rau evaluate --clicks`` on real files with the registration engine (SAM2 results: test_cli_correct_sam2.py)."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
from test_cli import HC18, hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main
from rau.errors import InputError
from rau.io import read_segmentation
from rau.io.label_tables import read_label_table


def test_correct_reopens_a_segment_result_and_writes_the_corrected_outputs(hc18_case, capsys):  # noqa: F811
    first = hc18_case / "out" / "target.nii.gz"
    assert main(segment_args(hc18_case, first, "--no-deformable")) == 0
    saved = json.loads((hc18_case / "out" / "target.result.json").read_text())
    assert saved["label_map"] == "target.nii.gz" and saved["inputs"]["engine_options"]["deformable"] is False
    before = read_segmentation(first).masks["fetal head"]
    k, j, i = np.argwhere(before)[len(np.argwhere(before)) // 2]
    original_bytes = first.read_bytes()

    second = hc18_case / "out" / "corrected.nii.gz"
    code = main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", "fetal head",
                 "--outside", f"{i},{j}", "--out", str(second), "--seg-nrrd"])
    assert code == 0, capsys.readouterr().err
    after = read_segmentation(second).masks["fetal head"]
    assert before[k, j, i] and not after[k, j, i] and after.sum() < before.sum()
    assert first.read_bytes() == original_bytes  # inputs are never changed
    assert (hc18_case / "out" / "corrected.seg.nrrd").exists()
    chained = json.loads((hc18_case / "out" / "corrected.result.json").read_text())
    assert chained["inputs"] == saved["inputs"] and chained["structures"][0]["prompts"]["clicks"] == 1

    third = hc18_case / "out" / "boxed.nii.gz"
    assert main(["correct", str(hc18_case / "out" / "corrected.result.json"), "--structure", "fetal head",
                 "--box", f"{i - 40},{j - 40},{i + 40},{j + 40}", "--out", str(third)]) == 0
    boxed = sitk.GetArrayFromImage(sitk.ReadImage(str(third))) > 0
    assert boxed.any() and not boxed[: j - 40].any() and not boxed[:, i + 41 :].any()

    stroked = hc18_case / "out" / "stroked.nii.gz"
    assert main(["correct", str(hc18_case / "out" / "boxed.result.json"), "--structure", "Fetal_Head",  # names match as in rau segment
                 "--stroke", f"{i - 60},{j}", f"{i - 50},{j + 5}", "--out", str(stroked)]) == 0
    assert (sitk.GetArrayFromImage(sitk.ReadImage(str(stroked))) > 0)[j, i - 60 : i - 49].sum() >= 10


def test_a_corrected_result_keeps_the_ranking_of_the_run_s_references(hc18_case, shared_data):  # noqa: F811
    """Before, rau correct left the ranking out of the result it wrote: which references were fused could no longer be seen."""
    folder = shared_data / "hc18_fetal_head_us"
    extra = ["--label-table", str(hc18_case / "001_mask.labels.csv"), "--no-deformable", "--top-k", "1"]
    for name in ("003", "004"):
        extra += ["--reference", str(folder / f"images/{name}_HC.png"), "--reference-labels", str(folder / f"masks/{name}_HC_mask.png"),
                  "--reference-spacing", "0.09"]
    assert main(segment_args(hc18_case, hc18_case / "out" / "t.nii.gz", *extra)) == 0
    saved = json.loads((hc18_case / "out" / "t.result.json").read_text())
    assert main(["correct", str(hc18_case / "out" / "t.result.json"), "--structure", "fetal head", "--outside", "10,10",
                 "--out", str(hc18_case / "out" / "c.nii.gz")]) == 0
    corrected = json.loads((hc18_case / "out" / "c.result.json").read_text())
    assert len(saved["ranking"]) == 3 and corrected["ranking"] == saved["ranking"]


def test_corrections_in_two_rau_correct_runs_equal_the_same_clicks_in_one_session(hc18_case, capsys):  # noqa: F811
    """The corrector keeps every click of a structure; ``rau correct`` saves them in the result (prompts.seeds) and
    goes on from them. Before, each run started without the earlier clicks: here the outside click alone removed every pixel."""
    from rau.io.saved_results import read_saved, reopen
    from rau.correction import attach_session
    from rau.engines.base import Prompt
    from rau.io import read_image

    assert main(segment_args(hc18_case, hc18_case / "run.nii.gz", "--no-deformable")) == 0
    mask = read_segmentation(hc18_case / "run.nii.gz").masks["fetal head"][0]
    rows, cols = np.nonzero(mask)
    row = int(rows.mean())
    edge = int(cols[rows == row].max())
    inside, outside = (edge + 15, row), (edge - 25, row + 5)  # a click beyond the edge, then one inside it
    saved, inputs = read_saved(hc18_case / "run.result.json")
    result = attach_session(reopen(saved, hc18_case / "run.result.json", read_image(inputs["target"], inputs["target_spacing"])))
    result.session.reprompt("fetal head", Prompt(points=[(*inside, 0)], labels=[1]))
    one_session = result.session.reprompt("fetal head", Prompt(points=[(*outside, 0)], labels=[0])).mask
    assert main(["correct", str(hc18_case / "run.result.json"), "--structure", "fetal head", "--inside", "{},{}".format(*inside),
                 "--out", str(hc18_case / "first.nii.gz")]) == 0
    assert main(["correct", str(hc18_case / "first.result.json"), "--structure", "fetal head", "--outside", "{},{}".format(*outside),
                 "--out", str(hc18_case / "second.nii.gz")]) == 0, capsys.readouterr().err
    assert one_session.any()
    np.testing.assert_array_equal(read_segmentation(hc18_case / "second.nii.gz").masks["fetal head"], one_session)
    prompts = json.loads((hc18_case / "second.result.json").read_text())["structures"][0]["prompts"]
    assert prompts["clicks"] == 2 and prompts["seeds"] == [[0, inside[1], inside[0], 1], [0, outside[1], outside[0], 0]]


@pytest.mark.parametrize("target", ["picture", "1-slice volume"])
def test_correct_reopens_a_png_result_as_the_same_run_written_placed(hc18_case, capsys, target):  # noqa: F811
    """A .png keeps the target's pixels but not their size or place; before, re-opening one made from pictures
    with pixel sizes was refused ("labels cover [-0.5..799.5 ...] mm but the image covers [0.0..56.0 ...] mm")."""
    args = segment_args(hc18_case, hc18_case / "out" / "run.png", "--no-deformable")
    if target == "1-slice volume":
        volume = sitk.JoinSeries(sitk.ReadImage(str(hc18_case / "002.png")))
        volume.SetSpacing((HC18["002"], 0.9 * HC18["002"], 1.0))
        volume.SetOrigin((10.0, 20.0, 30.0))
        sitk.WriteImage(volume, str(hc18_case / "002.nii.gz"))
        args = [a.replace("002.png", "002.nii.gz") for a in args[: args.index("--target-spacing")]] + args[args.index("--out") :]
    fixed = {}
    for name in ("picture.png", "placed.nii.gz"):  # the same run, as a picture and as a placed label map
        assert main([a.replace("run.png", name) for a in args]) == 0, capsys.readouterr().err
        saved = read_segmentation(hc18_case / "out" / name).masks["fetal head"]
        k, j, i = np.argwhere(saved)[len(np.argwhere(saved)) // 2]
        out = hc18_case / "out" / f"fixed_{name}"
        code = main(["correct", str(hc18_case / "out" / f"{name.split('.')[0]}.result.json"), "--structure", "fetal head",
                     "--outside", f"{i},{j}", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        fixed[name] = read_segmentation(out).masks.get("fetal head", np.zeros_like(saved))
    assert np.array_equal(fixed["picture.png"], fixed["placed.nii.gz"]) and not fixed["picture.png"][k, j, i]


def test_a_png_result_that_is_not_the_target_s_size_is_refused_naming_it(hc18_case, capsys):  # noqa: F811
    assert main(segment_args(hc18_case, hc18_case / "out" / "run.png", "--no-deformable")) == 0
    sitk.WriteImage(sitk.Image(10, 12, sitk.sitkUInt8), str(hc18_case / "out" / "run.png"))
    code = main(["correct", str(hc18_case / "out" / "run.result.json"), "--structure", "fetal head", "--inside", "5,5",
                 "--out", str(hc18_case / "out" / "fixed.png")])
    assert code == 2 and "run.png: 10 x 12 pixels, but the target has 800 x 540" in capsys.readouterr().err
    assert not list((hc18_case / "out").glob("fixed*"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--inside", "5000,10"], "--inside '5000,10': outside the target (voxels 0..799, 0..539 along i, j)"),
        (["--inside", "10"], "give i,j"),
        (["--box", "1,2,3"], "--box"),
        (["--box", "900,900,999,999,0"], "--box '900,900,999,999,0': give both corners as i,j (i0,j0,i1,j1) or both as i,j,k (i0,j0,k0,i1,j1,k1) for this 2D target"),
        (["--stroke", "10,10", "20"], "--stroke"),
        ([], "at least one --inside"),
        (["--box", "30,10,10,40"], "--box '30,10,10,40' is inverted: its lower corner lies above its upper one along i"),
        (["--box", "1,1,inf,40"], "--box '1,1,inf,40': expected comma-separated voxel indices"),
        (["--inside", "inf,40"], "--inside 'inf,40': expected comma-separated voxel indices"),
        (["--inside", "10.5,40"], "--inside '10.5,40': voxel indices are whole numbers"),  # before: rounded without a word
        (["--inside", "5,5", "--out", "."], "--out .: name it with one of"),
        (["--box", "300,250,400,350", "--inside", "600,100"], "--inside '600,100' lies outside --box '300,250,400,350', given with it"),  # before: a warning
    ],
)
def test_bad_corrections_exit_2_with_the_problem_named_and_write_nothing(hc18_case, capsys, extra, message):  # noqa: F811
    assert main(segment_args(hc18_case, hc18_case / "out" / "target.nii.gz", "--no-deformable")) == 0
    out = hc18_case / "out" / "corrected.nii.gz"
    output = [] if "--out" in extra else ["--out", str(out)]  # given once: a second --out is refused
    code = main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", "fetal head", *output, *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not list((hc18_case / "out").glob("corrected*")) and not list((hc18_case / "out").glob(".*"))


def test_an_inverted_box_on_a_1_slice_volume_stored_along_i_is_named_as_typed(hc18_case, capsys):  # noqa: F811
    """Before: "the box (400, 100)..(180, 290) is inverted ... along i": the corners as the 2D image numbers them,
    and the axis of that numbering, not the file's j the user typed."""
    picture = sitk.GetArrayFromImage(sitk.ReadImage(str(hc18_case / "002.png")))
    volume = sitk.GetImageFromArray(picture[:, :, None])  # 1 x 800 x 540 voxels along i, j, k
    volume.SetSpacing((1.0, HC18["002"], HC18["002"]))
    sitk.WriteImage(volume, str(hc18_case / "002_i.nii.gz"))
    args = segment_args(hc18_case, hc18_case / "out" / "run.nii.gz", "--no-deformable")
    args = [a.replace("002.png", "002_i.nii.gz") for a in args[: args.index("--target-spacing")]] + args[args.index("--out") :]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["correct", str(hc18_case / "out" / "run.result.json"), "--structure", "fetal head", "--box", "0,400,100,0,180,290",
                 "--out", str(hc18_case / "out" / "fixed.nii.gz")])
    assert code == 2 and "--box '0,400,100,0,180,290' is inverted: its lower corner lies above its upper one along j" in capsys.readouterr().err
    assert main(["correct", str(hc18_case / "out" / "run.result.json"), "--structure", "fetal head", "--box", "0,180,100,0,400,290",
                 "--out", str(hc18_case / "out" / "fixed.nii.gz")]) == 0


def test_a_bad_prompt_is_refused_before_the_run_is_reopened_or_repeated(hc18_case, capsys, monkeypatch):  # noqa: F811
    """A model engine repeats its run to correct it (minutes): the prompt is checked first (rau.session.check_prompt)."""
    import rau.commands.correct as correct

    assert main(segment_args(hc18_case, hc18_case / "out" / "target.nii.gz", "--no-deformable")) == 0
    monkeypatch.setattr(correct, "session_of", lambda *args: pytest.fail("the run was repeated before the prompt was checked"))
    code = main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", "fetal head",
                 "--box", "900,600,950,650", "--out", str(hc18_case / "out" / "corrected.nii.gz")])
    assert code == 2 and "--box '900,600,950,650': outside the target" in capsys.readouterr().err


def test_correct_never_writes_over_the_run_s_inputs_even_with_overwrite(hc18_case, capsys):  # noqa: F811
    first = hc18_case / "out" / "target.nii.gz"
    assert main(segment_args(hc18_case, first, "--no-deformable")) == 0
    result = hc18_case / "out" / "target.result.json"
    for out in (hc18_case / "002.png", hc18_case / "001_mask.png", first):  # the target, reference labels, saved labels
        before = out.read_bytes()
        code = main(["correct", str(result), "--structure", "fetal head", "--inside", "10,10", "--out", str(out), "--overwrite"])
        assert code == 2 and f"would replace the input {out}" in capsys.readouterr().err
        assert out.read_bytes() == before
    code = main(["correct", str(first), "--structure", "fetal head", "--inside", "10,10", "--out", str(hc18_case / "out" / "c.nii.gz")])
    assert code == 2 and "target.nii.gz: not a result JSON" in capsys.readouterr().err


def test_evaluate_with_clicks_prints_dice_per_click_and_noc(hc18_case, capsys):  # noqa: F811
    manifest = hc18_case / "cases.csv"
    manifest.write_text(
        "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
        f"001.png,001_mask.png,{HC18['001']},002.png,002_mask.png,{HC18['002']}\n"
    )
    assert main(["evaluate", str(manifest), "--no-deformable", "--clicks", "3", "--json", str(hc18_case / "scores.json")]) == 0
    printed = capsys.readouterr().out
    assert "mean Dice" in printed and "NoC@0.80" in printed and "NoC@0.90" in printed
    scores = json.loads((hc18_case / "scores.json").read_text())
    curve = scores["cases"][0]["dice_per_click"]["fetal head"]
    assert len(curve) == 4 and curve[0] == pytest.approx(scores["mean_dice"], abs=1e-4)
    assert curve[3] > curve[0]
    assert scores["summary"]["clicks"]["mean_dice_per_click"] == curve


def test_an_interrupted_evaluation_with_clicks_keeps_the_click_summary(hc18_case, capsys, monkeypatch):  # noqa: F811
    """Before: the interrupted run's JSON had each finished case's curve but no summary["clicks"] (NoC)."""
    from rau.commands import evaluate as evaluate_command

    manifest = hc18_case / "two_cases.csv"
    rows = (f"001.png,001_mask.png,{HC18['001']},002.png,002_mask.png,{HC18['002']}\n"
            f"002.png,002_mask.png,{HC18['002']},001.png,001_mask.png,{HC18['001']}\n")
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n" + rows)

    def interrupted_after_the_first_case(items, description, total=None):
        yield next(iter(items))
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_command, "_progress", interrupted_after_the_first_case)
    out = hc18_case / "interrupted.json"
    assert main(["evaluate", str(manifest), "--no-deformable", "--clicks", "2", "--json", str(out)]) == 130
    scores = json.loads(out.read_text())
    assert [case["status"] for case in scores["cases"]] == ["ok", "not_run"]
    assert scores["summary"]["clicks"]["mean_dice_per_click"] == scores["cases"][0]["dice_per_click"]["fetal head"]
    assert "holds those finished (the others as not_run)" in capsys.readouterr().err


def test_overlapping_structures_are_kept_whole_in_the_seg_nrrd_and_by_correct(hc18_case, capsys):  # noqa: F811
    """A label map cannot hold overlapping structures: segment says so, and correct re-opens the .seg.nrrd."""
    from scipy import ndimage

    from test_cli import HC18  # noqa: F811

    from rau.io import read_image, write_seg_nrrd
    from rau.labels import LabelSet, Segmentation

    reference = read_segmentation(hc18_case / "001_mask.png", read_image(hc18_case / "001.png", HC18["001"]), pixel_spacing=HC18["001"])
    head, geometry = reference.masks["fetal head"], reference.geometry
    labels = LabelSet.from_values([1, 2], {1: "fetal head", 2: "head and surroundings"})
    around = ndimage.binary_dilation(head, iterations=10)
    write_seg_nrrd(Segmentation(geometry, labels, {"fetal head": head, "head and surroundings": around}), hc18_case / "001.seg.nrrd")
    args = segment_args(hc18_case, hc18_case / "out" / "target.nii.gz", "--no-deformable", "--seg-nrrd")
    args[args.index(str(hc18_case / "001_mask.png"))] = str(hc18_case / "001.seg.nrrd")
    assert main(args) == 0
    warning = capsys.readouterr().err
    assert "structures overlap" in warning and "'fetal head'" in warning and "target.seg.nrrd keeps them whole" in warning
    saved = json.loads((hc18_case / "out" / "target.result.json").read_text())
    assert saved["segmentation"] == "target.seg.nrrd"
    head_before = read_segmentation(hc18_case / "out" / "target.seg.nrrd").masks["fetal head"]
    k, j, i = np.argwhere(head_before)[0]
    out = hc18_case / "out" / "corrected.nii.gz"
    assert main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", "head and surroundings",
                 "--outside", f"{i},{j - 5}", "--out", str(out), "--seg-nrrd"]) == 0
    corrected = read_segmentation(hc18_case / "out" / "corrected.seg.nrrd").masks
    np.testing.assert_array_equal(corrected["fetal head"], head_before)  # untouched, though the label map hid it
    # label values as the run numbered them, not as the .seg.nrrd numbers each layer's segments
    assert (hc18_case / "out" / "corrected.labels.csv").read_text() == (hc18_case / "out" / "target.labels.csv").read_text()
    for name in ("fetal head", "head and surroundings"):  # a click far away changes nothing, shared voxels included
        out = hc18_case / "out" / f"far {name}.nii.gz"  # the run wrote a .seg.nrrd, so the correction writes one too
        assert main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", name,
                     "--outside", "2,2", "--out", str(out)]) == 0
        again = read_segmentation(out.with_name(f"far {name}.seg.nrrd")).masks
        saved = read_segmentation(hc18_case / "out" / "target.seg.nrrd").masks
        assert all(np.array_equal(again[n], saved[n]) for n in saved), name


def test_a_correction_that_changes_nothing_says_so(hc18_case, capsys):  # noqa: F811
    assert main(segment_args(hc18_case, hc18_case / "out" / "target.nii.gz", "--no-deformable")) == 0
    capsys.readouterr()
    assert main(["correct", str(hc18_case / "out" / "target.result.json"), "--structure", "fetal head",
                 "--outside", "2,2", "--out", str(hc18_case / "out" / "same.nii.gz")]) == 0
    assert "(unchanged: this prompt changes nothing)" in capsys.readouterr().out


def test_a_reopened_seg_nrrd_keeps_the_run_s_label_values(tmp_path):
    """A .seg.nrrd numbers only the segments it holds; the run's values (a structure not found before
    the others) come from result.json. Before, the spleen came back as value 1 and a vessel run crashed."""
    from rau.io.saved_results import reopen
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    spleen = np.zeros(target.shape, bool)
    spleen[0, 5:9, 5:9] = True
    terminology = {"category": ["SCT", "123037004", "Anatomical Structure"], "type": ["SCT", "10200004", "Liver"]}
    structures = [StructureResult(Structure("liver", 1, (0.8, 0.2, 0.1), terminology), None, 0.0, "registration", message="not found"),
                  StructureResult(Structure("spleen", 2), spleen, 0.9, "registration")]
    paths = output_paths(tmp_path / "t.nii.gz", seg_nrrd=True)
    write_outputs(Result(target, structures, "registration"), paths, overwrite=False)
    saved = json.loads(paths["result"].read_text())
    reopened = reopen(saved, paths["result"], target)
    assert [(s.structure.name, s.structure.value) for s in reopened.structures] == [("liver", 1), ("spleen", 2)]
    assert np.array_equal(reopened.get("spleen").mask, spleen)
    liver = reopened.get("liver").structure  # before, a made-up colour and no terminology
    assert liver.color == (0.8, 0.2, 0.1) and liver.terminology == terminology
    written = read_segmentation(paths["seg_nrrd"])  # before, the structure not found was in no file but the JSON
    assert [(s.name, s.value, s.color) for s in written.labels] == [("liver", 1, (0.8, 0.2, 0.1)), ("spleen", 2, (1.0, 0.0, 0.0))]
    assert not written.masks["liver"].any() and written.labels.get("liver").terminology == terminology
    assert [(s.value, s.name) for s in read_label_table(paths["label_table"])] == [(1, "liver"), (2, "spleen")]


def test_weight_free_corrections_of_a_vlm_box_run_need_no_model(tmp_path):
    """vlm-box corrects with the weight-free corrector: re-opening its run must not load (or need) the VLM."""
    from rau.commands.correct import session_of
    from rau.correction import CorrectorSession
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    result = Result(target, [StructureResult(Structure("head", 1), None, 0.0, "vlm-box")], "vlm-box")
    session_of(result, {"engine_options": {"vlm_model": str(tmp_path / "deleted model folder")}}, None, tmp_path / "t.result.json")
    assert isinstance(result.session, CorrectorSession)


def test_a_reopened_label_map_takes_the_run_s_values_whatever_table_lies_beside_it(tmp_path):
    """Before, a moved or foreign .labels.csv silently dropped the other structures and emptied the corrected one."""
    from rau.io.saved_results import reopen
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    head, box = np.zeros(target.shape, bool), np.zeros(target.shape, bool)
    head[0, 2:8, 2:8], box[0, 12:16, 12:16] = True, True
    structures = [StructureResult(Structure("head", 1, (0.2, 0.4, 0.6)), head, 0.9, "registration"),
                  StructureResult(Structure("box", 2), box, 0.8, "registration")]
    for seg_nrrd in (False, True):
        paths = output_paths(tmp_path / f"{seg_nrrd}" / "t.nii.gz", seg_nrrd=seg_nrrd)
        write_outputs(Result(target, structures, "registration"), paths, overwrite=False)
        saved = json.loads(paths["result"].read_text())
        paths["label_table"].write_text("value,name\n1,brain\n2,skull\n")  # another run's table
        reopened = reopen(saved, paths["result"], target)
        assert np.array_equal(reopened.get("head").mask, head) and np.array_equal(reopened.get("box").mask, box)
        paths["label_table"].unlink()  # or none
        reopened = reopen(saved, paths["result"], target)
        assert np.array_equal(reopened.get("box").mask, box), seg_nrrd
    other = output_paths(tmp_path / "other" / "t.nii.gz", seg_nrrd=True)
    write_outputs(Result(target, structures[:1], "registration"), other, overwrite=False)
    paths["seg_nrrd"].write_bytes(other["seg_nrrd"].read_bytes())  # another run's segmentation, without the box
    with pytest.raises(InputError, match="t.seg.nrrd has no 'box', which .*t.result.json found: was its segment deleted since"):
        reopen(saved, paths["result"], target)


def test_a_reopened_label_map_holding_values_its_result_does_not_list_is_refused(tmp_path):
    """Before: a label map renumbered by an export, or with a structure painted in, lost those voxels (or swapped
    structures) with only a warning."""
    from rau.io.saved_results import reopen
    from rau.io.run_outputs import output_paths, write_outputs
    from rau.image import Image
    from rau.labels import Structure
    from rau.result import Result, StructureResult

    target = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    head = np.zeros(target.shape, bool)
    head[0, 2:8, 2:8] = True
    paths = output_paths(tmp_path / "t.nii.gz", seg_nrrd=False)
    write_outputs(Result(target, [StructureResult(Structure("head", 3), head, 0.9, "registration")], "registration"), paths, overwrite=False)
    saved = json.loads(paths["result"].read_text())
    written = sitk.ReadImage(str(paths["label_map"]))
    renumbered = sitk.GetImageFromArray((sitk.GetArrayFromImage(written) > 0).astype(np.uint8))  # head 3 -> 1
    renumbered.CopyInformation(written)
    sitk.WriteImage(renumbered, str(paths["label_map"]))
    with pytest.raises(InputError, match="t.nii.gz holds label value 1, which .*t.result.json does not list: was it edited or renumbered"):
        reopen(saved, paths["result"], target)


@pytest.mark.parametrize("change, message", [
    (lambda saved: saved["structures"][0].update(value="255"), r"structures\[0\].value should be a label value \(a whole number from 1\), not \"255\""),
    (lambda saved: saved["structures"][0].update(found="no"), r"structures\[0\].found should be true or false, not \"no\""),
    (lambda saved: saved["structures"][0].update(confidence=float("nan")), r"structures\[0\].confidence should be a number, not NaN"),
    (lambda saved: saved["structures"][0].update(color="red"), r"structures\[0\].color should be a list of numbers \(red, green, blue\), not \"red\""),
    (lambda saved: saved["structures"][0].update(color=[None, 0, 0]), r"structures\[0\].color should be a list of numbers .*, not \[null, 0, 0\]"),
    (lambda saved: saved["structures"][0].update(prompts={"corrected_slices": 5}),
     r"structures\[0\].prompts.corrected_slices should be a list of slice numbers \(whole numbers from 0\), not 5"),
    (lambda saved: saved["structures"][0].update(prompts={"corrections": "x"}), r"structures\[0\].prompts.corrections should be a count"),
    (lambda saved: saved["structures"][0].update(prompts={"given_prompts": [{"prompt": {"points": [[5, 5]], "labels": [1]}}]}),
     r'structures\[0\].prompts.given_prompts should be a list of \{"slice": k, "prompt": \{...\}\}'),
    (lambda saved: saved["inputs"].update(reference="ref.png"), r"inputs.reference should be a list"),
    (lambda saved: saved["inputs"].update(reference_bank_rows=[{"image": "r.png"}]),
     r"inputs.reference_bank_rows should be a list of objects with image, labels and pixel_spacing"),
    (lambda saved: saved.update(structures="head"), r"structures should be a list of objects"),
    (lambda saved: saved.update(ranking=[{"reference": "r.png", "score": "high"}]),
     r"ranking should be a list of objects with reference, score and similarity"),
])
def test_a_result_json_with_a_field_rau_segment_never_writes_is_refused_naming_it(tmp_path, change, message):
    """Before: exit 70 ("internal error, please report it"), or wrong results ("no" read as found)."""
    from rau.io.saved_results import read_saved

    saved = {"engine": "registration", "label_map": "t.nii.gz", "inputs": {"target": "t.png", "reference": ["r.png"]},
             "structures": [{"name": "head", "value": 1, "found": True, "confidence": 0.9, "engine": "registration"}]}
    path = tmp_path / "t.result.json"
    path.write_text(json.dumps(saved))
    read_saved(path)
    change(saved)
    path.write_text(json.dumps(saved))
    with pytest.raises(InputError, match=message):
        read_saved(path)
    path.write_text("[]")
    with pytest.raises(InputError, match="not a result JSON"):
        read_saved(path)


def test_what_a_hand_edited_result_records_wrongly_is_refused_naming_it(hc18_case, capsys):  # noqa: F811
    """Before, these errors named no file ("structure 'fetal head': color (1, 2) must be ...", as if from a label table)."""
    out = hc18_case / "out"
    assert main(segment_args(hc18_case, out / "t.nii.gz")) == 0
    (out / "t.labels.csv").unlink()  # the row's own colour and terminology are read
    edits = {"color": ([1, 2], "structure 'fetal head': color (1, 2) must be three values"), "terminology": (42, "a terminology needs a category"),
             "prompts": ({"seeds": [[0, 9999, 9999, 1]]}, "its saved clicks (prompts.seeds) are not"), "engine": ("magic", 'engine should be one of ')}
    for key, (value, said) in edits.items():
        saved = json.loads((out / "t.result.json").read_text())
        (saved if key == "engine" else saved["structures"][0])[key] = value
        (out / "e.result.json").write_text(json.dumps(saved))
        assert main(["correct", str(out / "e.result.json"), "--structure", "fetal head", "--inside", "292,352", "--out", str(out / "c.nii.gz")]) == 2
        err = capsys.readouterr().err
        assert f"error: {out / 'e.result.json'}: " in err and said in err, err


def test_a_server_download_is_corrected_with_the_target_given(tmp_path, capsys):
    """``rau serve`` keeps no inputs, so its result JSON records none. Before, ``rau correct`` refused every
    download ("lacks inputs"), and a result whose target had moved could not be pointed to it."""
    from serve_helpers import running_server
    from test_serve import outputs, write_two_halves

    from rau.serve.app import ServerConfig
    from rau.serve.client import Client

    reference, target, table = write_two_halves(tmp_path)
    server = tmp_path / "server"
    server.mkdir()
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        client = Client(url)
        job = client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table)
        client.wait(job)
        for kind, name in (("label_map", "s.nii.gz"), ("label_table", "s.labels.csv"), ("result", "s.result.json")):
            client.download(job, kind, server / name)
    click = ["--structure", "right", "--inside", "20,30"]
    assert main(["correct", str(server / "s.result.json"), *click, "--out", str(server / "c.nii.gz")]) == 2
    assert "records no inputs: give --target" in capsys.readouterr().err and not (server / "c.nii.gz").exists()
    assert main(["correct", str(server / "s.result.json"), *click, "--target", str(target), "--out", str(server / "c.nii.gz")]) == 0

    cli = tmp_path / "cli"
    assert main(["segment", "--reference", str(reference[0]), "--reference-labels", str(reference[1]), "--label-table", str(table),
                 "--target", str(target), "--no-deformable", "--out", str(cli / "s.nii.gz")]) == 0
    assert main(["correct", str(cli / "s.result.json"), *click, "--out", str(cli / "c.nii.gz")]) == 0
    assert outputs(server, "c") == outputs(cli, "c")
    chained = json.loads((server / "c.result.json").read_text())
    assert chained["inputs"]["target"] == str(target.absolute())  # the next correction needs no --target

    moved = tmp_path / "moved.mha"  # a target that moved since the run: the recorded path is gone
    target.rename(moved)
    assert main(["correct", str(cli / "s.result.json"), *click, "--out", str(cli / "m.nii.gz")]) == 2
    message = capsys.readouterr().err  # before: only "<the recorded path>: no such file or folder"
    assert f"the target it records, {target.absolute()}, is not there" in message and "with --target" in message
    assert main(["correct", str(cli / "s.result.json"), *click, "--target", str(moved), "--out", str(cli / "m.nii.gz")]) == 0
    assert (read_segmentation(cli / "m.nii.gz").masks["right"] == read_segmentation(cli / "c.nii.gz").masks["right"]).all()


def test_a_target_given_on_another_grid_than_the_result_is_refused(hc18_case, capsys):  # noqa: F811
    """Before there was no --target; the check keeps masks from being resampled onto a wrong image (here the
    right picture at a wrong pixel size) and corrected there."""
    assert main(segment_args(hc18_case, hc18_case / "run.nii.gz", "--no-deformable")) == 0
    click = ["--structure", "fetal head", "--inside", "10,10", "--out", str(hc18_case / "c.nii.gz")]
    code = main(["correct", str(hc18_case / "run.result.json"), *click, "--target", str(hc18_case / "002.png"), "--target-spacing", "0.2"])
    error = capsys.readouterr().err
    assert code == 2 and f"--target {hc18_case / '002.png'}" in error and "lies on another grid" in error
    assert not (hc18_case / "c.nii.gz").exists()
    from PIL import Image as PILImage

    PILImage.open(hc18_case / "002.png").crop((0, 0, 300, 200)).save(hc18_case / "small.png")
    beyond = ["--structure", "fetal head", "--outside", "700,500", "--out", str(hc18_case / "c.nii.gz")]  # on the run's target, not on this one
    assert main(["correct", str(hc18_case / "run.result.json"), *beyond, "--target", str(hc18_case / "small.png"), "--target-spacing", str(HC18["002"])]) == 2
    error = capsys.readouterr().err  # before: "--outside '700,500': outside the target (...)", blaming the click
    assert f"--target {hc18_case / 'small.png'}: " in error and "lies on another grid" in error and "--outside" not in error
    assert main(["correct", str(hc18_case / "run.result.json"), *click, "--target", str(hc18_case / "002.png"),
                 "--target-spacing", str(HC18["002"])]) == 0
    assert main(["correct", str(hc18_case / "run.result.json"), *click, "--target-spacing", "0.2", "--overwrite"]) == 2
    assert "--target-spacing is the pixel size of a picture given by --target" in capsys.readouterr().err


def test_a_seg_nrrd_result_is_refused_on_a_target_of_another_grid(hc18_case, capsys):  # noqa: F811
    """The .seg.nrrd may hold a part of the grid, so it must lie on voxels of the target; before, any grid was taken
    and the masks resampled onto it (a head of 24 000 pixels became 1 100)."""
    assert main(segment_args(hc18_case, hc18_case / "run.nii.gz", "--no-deformable", "--seg-nrrd")) == 0
    click = ["--structure", "fetal head", "--inside", "10,10", "--out", str(hc18_case / "c.nii.gz"), "--target", str(hc18_case / "002.png")]
    assert main(["correct", str(hc18_case / "run.result.json"), *click, "--target-spacing", "0.5"]) == 2
    assert "run.seg.nrrd lies on another grid" in capsys.readouterr().err and not (hc18_case / "c.nii.gz").exists()
    assert main(["correct", str(hc18_case / "run.result.json"), *click, "--target-spacing", str(HC18["002"])]) == 0
    from PIL import Image as PILImage

    PILImage.open(hc18_case / "002.png").crop((0, 0, 700, 500)).save(hc18_case / "cropped.png")  # other pixels, the same pixel size
    other = ["correct", str(hc18_case / "run.result.json"), "--structure", "fetal head", "--inside", "10,10", "--out", str(hc18_case / "o.nii.gz"),
             "--target", str(hc18_case / "cropped.png"), "--target-spacing", str(HC18["002"])]
    assert main(other) == 2  # a picture has no place: only its own pixels are its voxels (before: pasted at its corner)
    assert "lies on another grid" in capsys.readouterr().err and not (hc18_case / "o.nii.gz").exists()


def test_the_masks_are_read_from_the_file_named_like_the_result_json(tmp_path):
    """A server records its own name (segmentation.nii.gz) and every download of it is saved under the user's: before,
    a second job's JSON saved beside the first's read the first job's masks."""
    from rau.io.saved_results import saved_segmentation

    saved = {"label_map": "segmentation.nii.gz"}
    for name in ("segmentation.nii.gz", "job2.nii.gz", "job2.result.json"):
        (tmp_path / name).write_text("")
    assert saved_segmentation(saved, tmp_path / "job2.result.json") == tmp_path / "job2.nii.gz"
    assert saved_segmentation(saved, tmp_path / "renamed.result.json") == tmp_path / "segmentation.nii.gz"  # a JSON renamed alone
    with_segments = {**saved, "segmentation": "segmentation.seg.nrrd"}
    with pytest.raises(InputError, match="job2.seg.nrrd is not there"):  # not job 1's, nor the label map, which may hide structures
        saved_segmentation(with_segments, tmp_path / "job2.result.json")
    (tmp_path / "job2.seg.nrrd").write_text("")
    assert saved_segmentation(with_segments, tmp_path / "job2.result.json") == tmp_path / "job2.seg.nrrd"
    (tmp_path / "segmentation.seg.nrrd").write_text("")
    assert saved_segmentation(with_segments, tmp_path / "renamed.result.json") == tmp_path / "segmentation.seg.nrrd"  # a JSON renamed alone


def test_a_box_starting_past_the_first_voxel_is_a_value_not_an_option():
    """Before, ``--box -30,310,...`` stopped with argparse's "expected one argument"."""
    from rau.cli import parse_arguments

    args, _ = parse_arguments(["correct", "run.result.json", "--structure", "liver", "--box", "-30,310,10,275,395,19",
                               "--outside", "-1,4,0", "--out", "fixed.nii.gz"])
    assert args.box == "-30,310,10,275,395,19" and args.outside == ["-1,4,0"]


def test_a_result_recording_a_server_url_now_refused_is_corrected_with_the_url_replaced(hc18_case, capsys):  # noqa: F811
    """A result written before --vlm-server URLs with a password were refused records one: before the fix, rau correct
    stopped with the option's bare refusal, --vlm-server given or not."""
    assert main(segment_args(hc18_case, hc18_case / "out" / "run.nii.gz", "--no-deformable")) == 0
    saved_path = hc18_case / "out" / "run.result.json"
    saved = json.loads(saved_path.read_text())
    saved["inputs"]["engine_options"]["vlm_server"] = "http://alice:pw-SECRET@127.0.0.1:8000"
    saved_path.write_text(json.dumps(saved))
    correction = ["correct", str(saved_path), "--structure", "fetal head", "--outside", "10,10"]
    assert main([*correction, "--out", str(hc18_case / "out" / "refused.nii.gz")]) == 2
    error = capsys.readouterr().err
    assert f"{saved_path} records engine options this version refuses: --vlm-server http://127.0.0.1:8000: the URL carries" in error
    assert "--vlm-server" in error.split("; ")[-1] and "SECRET" not in error
    assert main([*correction, "--vlm-server", "http://127.0.0.1:9000", "--out", str(hc18_case / "out" / "fixed.nii.gz")]) == 0
    recorded = json.loads((hc18_case / "out" / "fixed.result.json").read_text())["inputs"]["engine_options"]
    assert recorded["vlm_server"] == "http://127.0.0.1:9000"


def write_overlapping_reference(folder):
    """:func:`test_serve.write_two_halves`'s picture with a reference .seg.nrrd in which a later "block" covers both
    halves, "left" and "right" (a label map shows only "block"); returns the reference image, that .seg.nrrd and the target."""
    from test_serve import write_two_halves

    from rau.io import read_image, write_seg_nrrd
    from rau.labels import LabelSet, Segmentation

    (image, halves, _), target, _ = write_two_halves(folder)
    masks = dict(read_segmentation(halves, read_image(image), label_table=LabelSet.from_values([1, 2], {1: "left", 2: "right"})).masks)
    masks["block"] = masks["left"] | masks["right"]
    labels = LabelSet.from_values([1, 2, 3], {1: "left", 2: "right", 3: "block"})
    write_seg_nrrd(Segmentation(read_image(image), labels, masks), folder / "ref.seg.nrrd")
    return image, folder / "ref.seg.nrrd", target


def overlapping_run(folder, *extra: str) -> list[str]:
    """``rau segment`` with :func:`write_overlapping_reference`'s files; returns the arguments of a correction of
    "block" (a click outside it)."""
    image, segments, target = write_overlapping_reference(folder)
    assert main(["segment", "--reference", str(image), "--reference-labels", str(segments), "--target", str(target),
                 "--no-deformable", "--out", str(folder / "t.nii.gz"), *extra]) == 0
    return ["correct", str(folder / "t.result.json"), "--structure", "block", "--outside", "2,2"]


def test_structures_a_reopened_label_map_hides_are_said_and_written_as_not_found(tmp_path, capsys):
    """Before, the structures the label map hid came back silently as found false, 0 voxels, with their old confidence."""
    correction = overlapping_run(tmp_path)
    assert "add --seg-nrrd" in capsys.readouterr().err  # rau segment warned that the label map hides them
    assert main([*correction, "--out", str(tmp_path / "c.nii.gz")]) == 0
    warning = f"{tmp_path / 't.nii.gz'} holds no voxel of 'left', 'right', which {tmp_path / 't.result.json'} found: hidden under other structures"
    assert warning in capsys.readouterr().err
    saved, corrected = (json.loads((tmp_path / f"{stem}.result.json").read_text()) for stem in ("t", "c"))
    assert [w for w in corrected["warnings"] if w.startswith(warning)] and "rau segment --seg-nrrd keeps" in corrected["warnings"][0]
    for before, after in zip(saved["structures"], corrected["structures"]):
        if before["name"] == "block":  # the corrected structure
            assert after["found"]
        else:  # not found, as one is: confidence 0 and why
            assert (after["found"], after["voxels"], after["confidence"]) == (False, 0, 0.0) and "hidden under other" in after["message"]


def test_a_result_whose_seg_nrrd_is_gone_is_refused_naming_it(tmp_path, capsys):
    """Before, rau correct silently read the label map instead, and wrote the structures it hides as not found."""
    correction = overlapping_run(tmp_path, "--seg-nrrd")
    (tmp_path / "t.seg.nrrd").unlink()
    capsys.readouterr()
    assert main([*correction, "--out", str(tmp_path / "c.nii.gz")]) == 2
    assert f"records a Slicer segmentation (t.seg.nrrd), but {tmp_path / 't.seg.nrrd'} is not there" in capsys.readouterr().err
    assert not list(tmp_path.glob("c.*"))
