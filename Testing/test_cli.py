"""The ``rau`` command on real files: outputs, label names, bad input, no partial or overwritten output."""

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import rau
from rau.cli import main
from rau.io import read_image, read_segmentation

HC18 = {"001": 0.08965852, "002": 0.062032563}


@pytest.fixture
def hc18_case(shared_data, tmp_path):
    """Two HC18 examinations with a named label table for the reference mask."""
    folder = shared_data / "hc18_fetal_head_us"
    for name in HC18:
        shutil.copy(folder / f"images/{name}_HC.png", tmp_path / f"{name}.png")
        shutil.copy(folder / f"masks/{name}_HC_mask.png", tmp_path / f"{name}_mask.png")
    (tmp_path / "001_mask.labels.csv").write_text("value,name,r,g,b\n255,fetal head,0.9,0.7,0.2\n")
    return tmp_path


def segment_args(case, out, *extra):
    return [
        "segment", "--reference", str(case / "001.png"), "--reference-labels", str(case / "001_mask.png"),
        "--reference-spacing", str(HC18["001"]), "--target", str(case / "002.png"), "--target-spacing", str(HC18["002"]),
        "--out", str(out), *extra,
    ]


def test_segment_writes_label_map_table_result_and_seg_nrrd(hc18_case, capsys):
    out = hc18_case / "out" / "target.nii.gz"
    assert main(segment_args(hc18_case, out, "--seg-nrrd")) == 0
    assert "fetal head: found" in capsys.readouterr().out
    segmentation = read_segmentation(out)
    assert segmentation.labels.names == ["fetal head"] and segmentation.labels.get("fetal head").value == 255
    target = read_image(hc18_case / "002.png", HC18["002"])
    assert read_image(out).same_grid(target)
    result = json.loads((hc18_case / "out" / "target.result.json").read_text())
    assert result["structures"][0]["found"] and result["structures"][0]["box"]["world_lps_min"]
    assert read_segmentation(hc18_case / "out" / "target.seg.nrrd").labels.names == ["fetal head"]


def test_a_run_with_several_references_records_their_ranking(hc18_case, shared_data):
    """Before, the ranking that chose the fused references was kept nowhere: which were left out could not be seen."""
    folder = shared_data / "hc18_fetal_head_us"
    extra = []
    for name in ("003", "004"):
        extra += ["--reference", str(folder / f"images/{name}_HC.png"), "--reference-labels", str(folder / f"masks/{name}_HC_mask.png"),
                  "--reference-spacing", "0.09"]
    table = ["--label-table", str(hc18_case / "001_mask.labels.csv")]  # every reference's labels named alike
    assert main(segment_args(hc18_case, hc18_case / "out" / "t.nii.gz", "--no-deformable", "--top-k", "2", *table, *extra)) == 0
    saved = json.loads((hc18_case / "out" / "t.result.json").read_text())
    ranking = saved["ranking"]
    assert len(ranking) == 3 and set(ranking[0]) == {"reference", "score", "similarity"}
    assert [row["score"] for row in ranking] == sorted((row["score"] for row in ranking), reverse=True)
    assert saved["structures"][0]["prompts"]["references"] == [row["reference"] for row in ranking[:2]]


def test_a_vessels_run_with_several_references_records_their_ranking(shared_data, tmp_path):
    """Before, the vessel engine's ranking rows had no score: writing result.json stopped the run (internal error,
    KeyError 'score') in rau segment, rau batch and rau serve, while rau evaluate, which writes none, scored the case."""
    folder = shared_data / "arcade_syntax_dev"
    references = []
    for name in ("383", "851"):
        references += ["--reference", str(folder / f"arcade_train_{name}_img.png"), "--reference-labels", str(folder / f"arcade_train_{name}_lab.png")]
    out = tmp_path / "t.nii.gz"
    assert main(["segment", "--engine", "vessels", *references, "--label-table", str(folder / "labels.csv"),
                 "--target", str(folder / "arcade_train_879_img.png"), "--no-deformable", "--out", str(out)]) == 0
    ranking = json.loads((tmp_path / "t.result.json").read_text())["ranking"]
    assert [set(row) for row in ranking] == [{"reference", "score", "similarity"}] * 2
    assert ranking[0]["score"] >= ranking[1]["score"]


def test_existing_output_is_refused_and_left_intact(hc18_case, capsys):
    out = hc18_case / "target.nii.gz"
    out.write_bytes(b"earlier result")
    assert main(segment_args(hc18_case, out)) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == b"earlier result"
    assert not (hc18_case / "target.labels.csv").exists()


def test_an_earlier_output_of_the_same_name_in_another_format_is_refused_even_with_overwrite(hc18_case, capsys):
    """Before, --out t.png --overwrite replaced t.labels.csv and t.result.json, which belonged to an earlier t.nii.gz
    (read afterwards, t.nii.gz named its labels by the new table), and left an earlier t.seg.nrrd as if it were new."""
    folder = hc18_case / "out"
    folder.mkdir()
    (folder / "t.nii.gz").write_bytes(b"earlier label map")
    (folder / "t.labels.csv").write_bytes(b"earlier table")
    for overwrite in ([], ["--overwrite"]):  # said first: before, without --overwrite, "t.labels.csv exists; replace it with --overwrite"
        assert main(segment_args(hc18_case, folder / "t.png", *overwrite)) == 2
        assert f"{folder / 't.nii.gz'} beside it has the same name; this run would write over its label table t.labels.csv" in capsys.readouterr().err
    (folder / "t.nii.gz").unlink()
    (folder / "t.seg.nrrd").write_bytes(b"earlier segmentation")
    assert main(segment_args(hc18_case, folder / "t.png", "--overwrite")) == 2
    assert "remove it, add --seg-nrrd to replace it too, or choose another output name" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["t.labels.csv", "t.seg.nrrd"]
    assert (folder / "t.labels.csv").read_bytes() == b"earlier table"
    from rau.io.run_outputs import check_no_earlier_output, output_paths

    check_no_earlier_output(output_paths(folder / "t.seg.nii.gz", False))  # t.seg.nrrd is t's: t.seg's files are others
    check_no_earlier_output(output_paths(folder / "t.nii.gz", True))  # its own .seg.nrrd, written again


def test_a_label_table_not_this_runs_beside_a_label_map_output_is_refused_before_computing(hc18_case, capsys):
    """Before: rau segment (rau batch too) wrote t.nii.gz and t.labels.csv beside a stale t.nii.txt; reading the output
    back was refused: "its own label table t.labels.csv names value 255 'fetal head', but t.nii.txt names it 'skull'"."""
    folder = hc18_case / "out"
    folder.mkdir()
    (folder / "t.nii.txt").write_text("255 skull\n")
    for overwrite in ([], ["--overwrite"]):
        assert main(segment_args(hc18_case, folder / "t.nii.gz", *overwrite)) == 2
        assert (f"{folder / 't.nii.gz'}: {folder / 't.nii.txt'} beside it would be read as its label table too, but this "
                "run does not write it (refused even with --overwrite); move it away, or choose another output name") in capsys.readouterr().err
    (hc18_case / "m.csv").write_text(f"target_image,reference_image,reference_labels,target_spacing,reference_spacing\n"
                                     f"002.png,001.png,001_mask.png,{HC18['002']},{HC18['001']}\n")
    (folder / "002.txt").write_text("255 skull\n")
    assert main(["batch", str(hc18_case / "m.csv"), "--out", str(folder)]) == 2
    assert f"{folder / '002.txt'} beside it would be read as its label table too" in capsys.readouterr().err
    assert sorted(path.name for path in folder.iterdir()) == ["002.txt", "t.nii.txt"]


def test_a_seg_nrrd_beside_its_own_input_of_the_same_name_is_written(hc18_case, capsys):
    """Before, --out 002.seg.nrrd beside the target 002.png was refused, calling the input "an earlier output" and
    asking to remove it; an input is refused only as the label map of the result JSON this run would replace."""
    for overwrite in ([], ["--overwrite"]):  # the second time its own .seg.nrrd and result JSON are there
        assert main(segment_args(hc18_case, hc18_case / "002.seg.nrrd", "--no-deformable", *overwrite)) == 0, capsys.readouterr().err
    assert json.loads((hc18_case / "002.result.json").read_text())["label_map"] == "002.seg.nrrd"
    earlier = hc18_case / "out" / "t.nii.gz"
    assert main(segment_args(hc18_case, earlier, "--no-deformable")) == 0
    args = segment_args(hc18_case, earlier.with_name("t.seg.nrrd"), "--overwrite")
    args[args.index("--reference-labels") + 1] = str(earlier)  # an earlier run's label map, as the reference's labels
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"{earlier.with_name('t.result.json')} beside it is the result JSON of the input {earlier}" in error
    assert "earlier output" not in error and "remove" not in error


def test_a_seg_nrrd_beside_a_data_mask_of_the_same_name_is_written_and_a_label_map_refused_for_its_table(hc18_case, capsys):
    """Before, --out 002_mask.seg.nrrd beside the target's mask 002_mask.png (data, no result JSON) was refused, calling
    the mask "an earlier output of the same name"; a .seg.nrrd output writes no label table that the mask would take."""
    mask = (hc18_case / "002_mask.png").read_bytes()
    assert main(segment_args(hc18_case, hc18_case / "002_mask.nii.gz")) == 2  # its label table would be the mask's
    error = capsys.readouterr().err
    assert f"{hc18_case / '002_mask.png'} beside it has the same name; this run's label table 002_mask.labels.csv would be read as its labels" in error
    assert "earlier output" not in error and not (hc18_case / "002_mask.nii.gz").exists()
    assert main(segment_args(hc18_case, hc18_case / "002_mask.seg.nrrd", "--no-deformable")) == 0, capsys.readouterr().err
    assert json.loads((hc18_case / "002_mask.result.json").read_text())["label_map"] == "002_mask.seg.nrrd"
    assert (hc18_case / "002_mask.png").read_bytes() == mask and not (hc18_case / "002_mask.labels.csv").exists()


def test_an_earlier_output_with_an_upper_case_suffix_is_refused_too(hc18_case, capsys):
    """Before, an earlier t.NII.GZ (or t.Seg.Nrrd) was not seen: --out t.png --overwrite replaced its table and result JSON."""
    folder = hc18_case / "out"
    folder.mkdir()
    for earlier, hint in (("t.NII.GZ", "rename or remove it"), ("t.Seg.Nrrd", "add --seg-nrrd to replace it too")):
        (folder / earlier).write_bytes(b"earlier output")
        assert main(segment_args(hc18_case, folder / "t.png", "--overwrite")) == 2
        error = capsys.readouterr().err
        assert f"{folder / earlier} beside it has the same name" in error and hint in error
        (folder / earlier).unlink()
    assert not any(folder.iterdir())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, c: a + ["--structures", "liver"], "unknown structure 'liver'; available: 'fetal head'"),
        (lambda a, c: a + ["--structures", "liver", "--structures", "fetal head"], "unknown structure 'liver'"),  # both kept
        (lambda a, c: [x if x != str(c / "002.png") else str(c / "missing.png") for x in a], "missing.png: no such file"),
        (lambda a, c: [x if x != str(c / "002.png") else str(c / "001_mask.labels.csv") for x in a], "not a readable image"),
    ],
)
def test_bad_input_exits_non_zero_with_the_problem_named_and_no_output(hc18_case, capsys, change, message):
    out = hc18_case / "out" / "target.nii.gz"
    assert main(change(segment_args(hc18_case, out), hc18_case)) == 2
    assert message in capsys.readouterr().err
    assert not (hc18_case / "out").exists()


def test_2d_reference_with_3d_target_is_refused(hc18_case, shared_data, capsys):
    args = segment_args(hc18_case, hc18_case / "out.nii.gz")
    args[args.index(str(hc18_case / "002.png"))] = str(shared_data / "totalseg_test_fixtures/subjA_ct/image.nii.gz")
    del args[args.index("--target-spacing"):args.index("--target-spacing") + 2]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"reference '{hc18_case / '001.png'}' is 2D but the target 'image.nii.gz' is 3D (122 x 101 x 30 voxels)" in error  # before: the target by its size only
    assert "give both as 2D images (one slice or frame) or both as volumes" in error
    assert not (hc18_case / "out.nii.gz").exists()


def test_a_3d_reference_among_2d_ones_is_refused_before_any_warning_of_its_structures(hc18_case, shared_data, capsys):
    """Before: the structures the CT has and the first reference lacks were each warned of (41 lines), then refused."""
    ct = Path(rau.__file__).parent / "sample_data" / "totalseg_ct"
    args = segment_args(hc18_case, hc18_case / "out.nii.gz", "--reference", str(ct / "subjA_image.nii.gz"), "--reference-labels", str(ct / "subjA_labels.nii.gz"))
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"reference '{ct / 'subjA_image.nii.gz'}' is 3D but the target '002.png' is 2D" in error and "warning" not in error


def test_empty_reference_labels_are_refused(hc18_case, capsys):
    sitk.WriteImage(sitk.Image([800, 540], sitk.sitkUInt8), str(hc18_case / "empty.png"))
    args = segment_args(hc18_case, hc18_case / "out.nii.gz")
    args[args.index(str(hc18_case / "001_mask.png"))] = str(hc18_case / "empty.png")
    assert main(args) == 2
    assert "empty.png: no labelled voxels" in capsys.readouterr().err


def test_evaluate_prints_dice_and_writes_json_and_csv(hc18_case, capsys):
    manifest = hc18_case / "cases.csv"
    manifest.write_text(
        "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
        f"001.png,001_mask.png,{HC18['001']},002.png,002_mask.png,{HC18['002']}\n"
    )
    assert main(["evaluate", str(manifest), "--json", str(hc18_case / "scores.json")]) == 0
    printed = capsys.readouterr().out
    assert "mean Dice" in printed and "fetal head" in printed
    scores = json.loads((hc18_case / "scores.json").read_text())
    assert 0.0 <= scores["mean_dice"] <= 1.0
    row = scores["cases"][0]["structures"][0]
    assert row["structure"] == "fetal head" and row["status"] == "detected" and row["hd95_mm"] > 0
    assert (hc18_case / "scores.csv").read_text().startswith("target,references,structure,status,dice")


def test_evaluate_names_a_missing_manifest_column(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("reference_image,target_image\na.png,b.png\n")
    assert main(["evaluate", str(tmp_path / "bad.csv")]) == 2
    assert "lacks column(s) reference_labels, target_labels" in capsys.readouterr().err


def test_demo_prints_a_dice_table_and_writes_its_pictures(tmp_path, capsys):
    assert main(["demo", "--cases", "hc18_ultrasound", "--out", str(tmp_path)]) == 0
    printed, err = capsys.readouterr()
    assert "fetal head" in printed and "mean Dice" in printed
    # its PNG target read at the case's pixel size, which Slicer does not read: the NIfTI would not overlay it there
    assert err.count("041_HC.png: Slicer shows it with 1 mm pixels") == 1 and err.count("will not overlay it in Slicer") == 1
    prediction = read_image(tmp_path / "hc18_ultrasound/prediction.nii.gz")
    assert (prediction.array == 255).any()
    assert (tmp_path / "hc18_ultrasound/overlay.png").stat().st_size > 10_000


def test_the_demo_runs_the_engine_asked_for_on_every_case(tmp_path, capsys):
    """Before: ``--engine registration`` was ignored for the angiogram (it ran the vessels engine, without a word)."""
    assert main(["demo", "--cases", "coronary_angiogram", "--out", str(tmp_path / "asked"), "--engine", "registration", "--no-deformable"]) == 0
    assert "== coronary_angiogram (registration engine)" in capsys.readouterr().out
    assert main(["demo", "--cases", "coronary_angiogram", "--out", str(tmp_path / "default"), "--no-deformable"]) == 0
    assert "== coronary_angiogram (vessels engine)" in capsys.readouterr().out


def test_the_demo_warns_of_an_option_its_case_engine_does_not_use(tmp_path, capsys):
    """Before: rau demo took --slice-margin without a word, where rau segment warns of it."""
    assert main(["demo", "--cases", "coronary_angiogram", "--out", str(tmp_path), "--slice-margin", "5", "--no-deformable"]) == 0
    assert "warning: --slice-margin is ignored for coronary_angiogram: the vessels engine does not use it" in capsys.readouterr().err


def test_the_demo_figure_titles_its_four_panels():
    """Before, the panels had no titles: which was the prediction and which the truth was left to guess."""
    from rau.demo import PANEL_HEIGHT, overlay_figure
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation, Structure

    black = Image(np.zeros((1, 40, 40), np.float32), ndim=2)
    labels = Segmentation(black.with_array(np.zeros((1, 40, 40), np.uint8)), LabelSet((Structure("head", 1),)), {"head": np.zeros((1, 40, 40), bool)})
    figure = np.asarray(overlay_figure(black, labels, black, labels, labels))
    corners = [figure[:20, x : x + PANEL_HEIGHT // 2] for x in range(0, figure.shape[1], PANEL_HEIGHT + 8)]
    assert len(corners) == 4 and all((corner == 255).all(axis=-1).sum() > 20 for corner in corners)


def test_the_demo_figure_of_a_volume_compares_one_slice_and_names_every_tag(monkeypatch):
    """Before: the target, prediction and truth panels each showed a different axial slice, unnamed (the middle one, the
    prediction's largest, the truth's largest), and the legend stopped at the figure's edge (12 of 41 CT structures)."""
    import rau.demo
    from PIL import ImageDraw

    from rau.image import Image
    from rau.labels import LabelSet, Segmentation, Structure

    volume = Image(np.arange(9, dtype=np.float32)[:, None, None] * np.ones((9, 40, 40), np.float32))  # slice k holds k
    names = [f"structure_with_a_long_name_{tag}" for tag in range(1, 42)]

    def labels(slice_of):  # structure n a square on slice ``slice_of[n]``
        masks = {name: np.zeros((9, 40, 40), bool) for name in names}
        for name, k in slice_of.items():
            masks[name][k, 10:30, 10:30] = True
        return Segmentation(volume.with_array(np.zeros((9, 40, 40), np.uint8)), LabelSet(tuple(Structure(n, i) for i, n in enumerate(names, 1))), masks)

    shown, drawn = [], []
    for render in ("render_plain", "render_overlay"):
        original = getattr(rau.demo, render)
        monkeypatch.setattr(rau.demo, render, lambda slice2d, *args, original=original: shown.append(int(slice2d[0, 0])) or original(slice2d, *args))
    text = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", lambda draw, xy, words, *args, **kwargs: drawn.append(words) or text(draw, xy, words, *args, **kwargs))
    rau.demo.overlay_figure(volume, labels({names[0]: 1}), volume, labels({names[0]: 7, names[1]: 7}), labels({names[0]: 5}))
    assert shown == [1, 5, 5, 5]  # the reference's own slice; target, prediction and truth all on the truth's largest
    assert drawn[1:4] == [f"{title}, slice 6 of 9 from the feet" for title in ("target", "prediction", "truth")]
    assert [f"{tag}: {name}" for tag, name in enumerate(names, 1)] == drawn[4:]


def test_a_demo_case_whose_overlay_cannot_be_written_leaves_no_label_map(tmp_path, monkeypatch, capsys):
    """Before: the label map and its table were written first and stayed when the overlay failed (or SIGTERM came)."""
    import rau.demo

    class UnsavableFigure:
        def save(self, *args, **kwargs):
            raise OSError("disk full")

    monkeypatch.setattr(rau.demo, "overlay_figure", lambda *args: UnsavableFigure())
    assert main(["demo", "--cases", "coronary_angiogram", "--out", str(tmp_path / "demo"), "--no-deformable"]) == 2
    assert "disk full" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_a_demo_stopped_by_sigterm_leaves_no_case_finished_before(tmp_path, monkeypatch, capsys):
    """Before: each case placed its own files, so SIGTERM during the second left the first's, and a rerun was refused."""
    import rau.demo
    from rau.errors import Terminated

    load_case = rau.demo.load_case

    def terminated_at_the_second_case(case):
        if "hc18" in str(case.target_image):
            raise Terminated()  # what rau's SIGTERM handler raises
        return load_case(case)

    monkeypatch.setattr(rau.demo, "load_case", terminated_at_the_second_case)
    out = tmp_path / "demo"
    argv = ["demo", "--cases", "coronary_angiogram", "hc18_ultrasound", "--out", str(out), "--engine", "registration", "--no-deformable"]
    assert main(argv) == 143
    assert "rau demo: terminated" in capsys.readouterr().err
    assert not out.exists()  # no file, no temporary file, no folder made for them


def test_a_failing_write_leaves_no_output_at_all(hc18_case, monkeypatch, capsys):
    import rau.io.run_outputs as run_outputs

    def broken_seg_nrrd(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run_outputs, "write_seg_nrrd", broken_seg_nrrd)
    out = hc18_case / "out" / "target.nii.gz"
    assert main(segment_args(hc18_case, out, "--seg-nrrd")) == 2
    assert "disk full" in capsys.readouterr().err
    assert not (hc18_case / "out").exists()  # not even the folder made for it


def test_an_output_name_too_long_for_its_sidecars_is_refused_before_any_work(hc18_case, capsys):
    """Before: a 248-byte --out (valid) whose .result.json (256 bytes) cannot exist gave an internal error (exit 70)."""
    out = hc18_case / f"{'a' * 244}.png"
    assert main(segment_args(hc18_case, out)) == 2
    assert f"{'a' * 244}.result.json: this output's file name is 256 bytes long, over the 255" in capsys.readouterr().err
    assert not out.exists()


def test_a_home_folder_tilde_the_shell_left_is_the_home_folder(hc18_case, monkeypatch, capsys):
    """Before, --out=~/t.png (bash leaves that ~ alone) wrote into a folder named "~" and printed "wrote ~/t.png"."""
    monkeypatch.setenv("HOME", str(hc18_case / "home"))
    monkeypatch.chdir(hc18_case)
    assert main(segment_args(hc18_case, "~/t.png", "--no-deformable")) == 0
    assert (hc18_case / "home" / "t.png").is_file() and not (hc18_case / "~").exists()


def test_ctrl_c_during_the_final_renames_waits_until_every_output_is_in_place(hc18_case, monkeypatch):
    """Before, Ctrl-C between two renames left the new result JSON beside the earlier label map and table (exit 130,
    and rau correct would reopen the earlier mask under the new run's inputs)."""
    import os
    import signal
    import threading
    from pathlib import Path

    import rau.io.atomic as atomic

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        pytest.skip("signals reach the main thread only")
    out = hc18_case / "out" / "t.png"
    assert main(segment_args(hc18_case, out, "--no-deformable")) == 0
    earlier = {path.name: path.read_bytes() for path in out.parent.iterdir()}
    replace, renamed = os.replace, []

    def interrupted_replace(source, destination):
        if Path(destination).name.startswith("."):  # a writer's own temporary file
            return replace(source, destination)
        if not renamed:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C just as the first output lands
        replace(source, destination)
        renamed.append(destination)

    monkeypatch.setattr(atomic.os, "replace", interrupted_replace)
    from rau.cli import build_parser
    from rau.commands import segment

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal (pytest-xdist's workers ignore it)
    try:
        with pytest.raises(KeyboardInterrupt):
            segment.run(build_parser().parse_args(segment_args(hc18_case, out, "--no-deformable", "--top-k", "1", "--overwrite")))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(renamed) == 3  # label map, table and result JSON: all of them
    saved = json.loads((out.parent / "t.result.json").read_text())
    assert saved["inputs"]["engine_options"]["top_k"] == 1 and set(earlier) == {p.name for p in out.parent.iterdir()}


def test_evaluate_help_states_how_it_scores(capsys):
    """Before: the help listed the figures but not how they are counted (grid, missed and absent structures)."""
    with pytest.raises(SystemExit) as exit:
        main(["evaluate", "--help"])
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "resampled by nearest neighbour" in text and "missed (Dice 0)" in text and "painting it is a false positive" in text


def test_a_pixel_size_that_makes_a_picture_span_metres_is_warned_of(hc18_case, capsys):
    """Before: a target pixel size given in other units (here 100x too large: 6 m across) was taken without a word."""
    args = segment_args(hc18_case, hc18_case / "out.nii.gz", "--no-deformable")
    args[args.index("--target-spacing") + 1] = str(HC18["002"] * 100)
    assert main(args) == 0
    error = capsys.readouterr().err
    assert "002.png: at the pixel size given" in error and "mm along its longest side, while a picture of anatomy spans 5 to 2500 mm; is the pixel size in mm?" in error
    assert "001" not in error  # the reference's pixel size is right, and its labels are not warned of
    assert main(segment_args(hc18_case, hc18_case / "right.png", "--no-deformable")) == 0
    assert "warning" not in capsys.readouterr().err


def test_rau_version_prints_the_package_version(capsys):
    """Before, `rau --version` was refused as a missing COMMAND; the README asks for one rau version on every Ray node."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"rau {rau.__version__}\n"


def test_segment_says_how_long_segmenting_and_writing_took(hc18_case, capsys):
    """Before: "wrote A.nii.gz, A.seg.nrrd in 113.0 s" gave the engine's time alone, for a run of 6 min 5 s that spent
    most of it writing."""
    out = hc18_case / "out" / "target.nii.gz"
    started = time.perf_counter()
    assert main(segment_args(hc18_case, out, "--seg-nrrd")) == 0
    took = time.perf_counter() - started
    last = capsys.readouterr().out.strip().splitlines()[-1]
    said = re.fullmatch(r"wrote (.+) \(segmented in (\d+\.\d) s, written in (\d+\.\d) s\)", last)
    assert said, last
    segmented, written = float(said[2]), float(said[3])
    assert said[1].split(", ")[0] == str(out)
    assert abs(segmented - json.loads((hc18_case / "out" / "target.result.json").read_text())["seconds"]) <= 0.05  # the JSON's, as before
    assert segmented + written <= took + 0.1
