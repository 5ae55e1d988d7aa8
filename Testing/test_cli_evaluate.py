"""``rau evaluate`` keeps going past a failing case, and ``--jobs N`` gives the serial numbers."""

from __future__ import annotations

import csv
import json
import re
import shutil

import numpy as np
import pytest
from single_slice import hc18_picture, hc18_spacing, write_picture

from rau.cli import main

NAMES = ("001", "002", "003")


@pytest.fixture(scope="module")
def hc18(shared_data, tmp_path_factory):
    """Three HC18 examinations at half resolution and a manifest of three cases between them."""
    folder = tmp_path_factory.mktemp("hc18")
    for name in NAMES:
        write_picture(hc18_picture(shared_data, name), folder / f"{name}.png")
        write_picture(hc18_picture(shared_data, name, mask=True), folder / f"{name}_mask.png")
    (folder / "head.labels.csv").write_text("value,name\n1,fetal head\n")
    rows = [
        f"{r}.png,{r}_mask.png,{hc18_spacing(r)},{t}.png,{t}_mask.png,{hc18_spacing(t)},head.labels.csv"
        for r, t in (("001", "002"), ("002", "003"), ("003", "001"))
    ]
    header = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing,label_table\n"
    (folder / "cases.csv").write_text(header + "\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """Small pictures of a liver and a spleen (values 1, 2, named by their sidecar tables): the target ``t``, ``r1``
    and ``r2`` drawn a little apart, and the target's own picture (one corner pixel changed: an evaluation refuses
    a byte copy of its target as a reference) labelled with its liver only (``t_liver``)."""
    import numpy as np

    folder = tmp_path_factory.mktemp("blobs")
    rows, cols = np.mgrid[:96, :96]
    for name, (liver, spleen, seed) in {"t": ((30, 34, 12), (66, 64, 8), 1), "r1": ((32, 33, 13), (64, 65, 9), 2),
                                        "r2": ((28, 36, 11), (68, 62, 7), 3)}.items():
        noise = np.random.default_rng(seed).normal(0, 6, rows.shape)
        picture, labels = 40 + 50 * ((rows - 48) ** 2 + (cols - 48) ** 2 < 44**2) + noise, np.zeros(rows.shape, np.uint8)
        for value, (row, col, radius), brightness in ((1, liver, 170), (2, spleen, 230)):
            inside = (rows - row) ** 2 + (cols - col) ** 2 < radius**2
            picture[inside], labels[inside] = brightness + noise[inside], value
        write_picture(np.clip(picture, 0, 255).astype(np.uint8), folder / f"{name}.png")
        write_picture(labels, folder / f"{name}_mask.png")
        (folder / f"{name}_mask.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
        if name == "t":
            picture[0, 0] += 1
            write_picture(np.clip(picture, 0, 255).astype(np.uint8), folder / "t_liver.png")
            write_picture((labels == 1).astype(np.uint8), folder / "t_liver_mask.png")
            (folder / "t_liver_mask.labels.csv").write_text("value,name\n1,liver\n")
    return folder


def evaluate(manifest, out, *extra):
    return main(["evaluate", str(manifest), "--no-deformable", "--json", str(out), *extra])


def test_a_failing_case_s_line_names_its_file_once(hc18, tmp_path, capsys, monkeypatch):
    """Before: "failed: broken.png: broken.png: not a readable image ..." (the case's name, then the message naming it)."""
    folder = shutil.copytree(hc18, tmp_path / "cases")
    (folder / "broken.png").write_text("not a picture")
    header, first = (folder / "cases.csv").read_text().splitlines()[:2]
    (folder / "broken.csv").write_text(header + "\n" + first.replace("002.png,", "broken.png,") + "\n")
    monkeypatch.chdir(folder)
    assert main(["evaluate", "broken.csv"]) == 1
    assert "failed: broken.png: not a readable image" in capsys.readouterr().err


def test_a_failing_case_is_reported_and_the_others_are_scored(hc18, tmp_path, capsys):
    folder = shutil.copytree(hc18, tmp_path / "cases")
    (folder / "broken.png").write_text("not a picture")
    header, first, second, _ = (folder / "cases.csv").read_text().splitlines()
    manifest = folder / "with_broken.csv"
    manifest.write_text("\n".join([header, first, second.replace("002.png,", "broken.png,", 1)]) + "\n")

    assert evaluate(manifest, tmp_path / "scores.json") == 1
    printed = capsys.readouterr().err  # before, on stdout with the table
    assert "failed: 003.png" in printed and "broken.png" in printed
    scores = json.loads((tmp_path / "scores.json").read_text())
    good, bad = scores["cases"]
    assert good["status"] == "ok" and good["structures"][0]["status"] == "detected"
    assert bad["status"] == "error" and "broken.png" in bad["error"]
    assert bad["error"].startswith(str(folder / "broken.png")), bad["error"]  # bad input by its message; before: "ImageReadError: ..."
    assert scores["summary"]["cases"] == 1 and scores["summary"]["failed_cases"] == 1
    assert scores["mean_dice"] == good["structures"][0]["dice"]
    rows = list(csv.DictReader(open(tmp_path / "scores.csv", encoding="utf-8")))
    assert [row["status"] for row in rows] == ["detected", "error"]
    assert "broken.png" in rows[1]["error"] and rows[1]["dice"] == ""


def test_parallel_jobs_give_the_serial_numbers(hc18, tmp_path, capsys):
    assert evaluate(hc18 / "cases.csv", tmp_path / "serial.json") == 0
    assert evaluate(hc18 / "cases.csv", tmp_path / "parallel.json", "--jobs", "2") == 0
    serial, parallel = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("serial", "parallel"))
    assert [case["target"] for case in parallel["cases"]] == ["002.png", "003.png", "001.png"]
    assert [case["structures"] for case in parallel["cases"]] == [case["structures"] for case in serial["cases"]]
    assert parallel["mean_dice"] == serial["mean_dice"] is not None


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_unusable_jobs_exit_2_before_any_case(hc18, tmp_path, jobs, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse refuses the value
        evaluate(hc18 / "cases.csv", tmp_path / "scores.json", "--jobs", jobs)
    assert stop.value.code == 2
    assert "--jobs" in capsys.readouterr().err
    assert not (tmp_path / "scores.json").exists()


def test_a_structure_the_truth_does_not_name_is_scored_as_absent(hc18, tmp_path, capsys):
    """A target whose truth has no head (an empty label picture, no table): the head painted there is a false positive."""
    from PIL import Image as Picture

    folder = shutil.copytree(hc18, tmp_path / "cases")
    Picture.new("L", Picture.open(folder / "002_mask.png").size).save(folder / "empty_mask.png")
    header, first, *_ = (folder / "cases.csv").read_text().splitlines()
    manifest = folder / "no_head.csv"
    manifest.write_text("\n".join([header, first.replace("002_mask.png", "empty_mask.png").replace(",head.labels.csv", ",")]) + "\n")
    assert evaluate(manifest, tmp_path / "scores.json") == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert [(s["structure"], s["status"]) for s in scores["cases"][0]["structures"]] == [("label_1", "false_positive")]
    assert scores["summary"]["structures"]["label_1"] == {"dice": None, "hd95_mm": None, "n": 0, "cases": 1}  # before: n 1, no Dice


def test_structures_matched_by_value_or_not_at_all_are_reported(hc18, tmp_path, capsys):
    """Before, a named reference met an unnamed truth by label value, or a truth naming its structures otherwise
    matched nothing, without a word: the scores looked like the engine's. A truth that matches nothing fails its
    case (it was scored, with a warning: every painted structure a false positive)."""
    folder = shutil.copytree(hc18, tmp_path / "cases")
    (folder / "001_mask.labels.csv").write_text("value,name\n1,fetal head\n")
    header, first, *_ = (folder / "cases.csv").read_text().splitlines()
    (folder / "by_value.csv").write_text("\n".join([header, first.replace(",head.labels.csv", ",")]) + "\n")
    assert evaluate(folder / "by_value.csv", tmp_path / "by_value.json") == 0
    assert "warning: 002.png: the reference's structures have names but the truth's do not" in capsys.readouterr().err
    assert "matched by label value" in json.loads((tmp_path / "by_value.json").read_text())["cases"][0]["warnings"][0]
    (folder / "002_mask.labels.csv").write_text("value,name\n1,skull\n")
    assert evaluate(folder / "by_value.csv", tmp_path / "none.json", "--overwrite") == 1  # before: 0, the head a false positive
    case = json.loads((tmp_path / "none.json").read_text())["cases"][0]
    assert case["error"] == "no structure of the truth ('skull') is one of the reference's ('fetal head'); check the names or label tables"
    assert [row["status"] for row in case["structures"]] == ["error"]


def test_structures_that_met_by_value_and_missed_are_listed_with_their_values():
    """Before: "no structure of the truth (label_255) matched one of the reference (label_255)", a truth segment named
    label_255 holding value 1 against a reference's value 255: the same name on both sides."""
    from rau.evaluation.runner import truth_mismatch
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    truth_map = Image(np.ones((1, 4, 4), np.uint8), ndim=2)
    truth = Segmentation.from_label_map(truth_map, LabelSet.from_values([1], {1: "label_255"}))
    problem = truth_mismatch(LabelSet.from_values([255]), truth)
    assert problem.startswith("no structure of the truth ('label_255' = value 1) is one of the reference's ('label_255' = value 255)")


def test_the_ranking_of_references_with_tied_dice_has_no_spearman_and_prints_no_warning():
    import warnings

    from rau.evaluation.runner import _spearman

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's ConstantInputWarning reached the user's terminal
        assert _spearman([0.2, 0.5, 0.9], [0.8, 0.8, 0.8]) is None
        assert _spearman([0.2, 0.5, 0.9], [0.1, 0.3, 0.2]) == 0.5


def test_a_worker_that_dies_loses_no_case(hc18, tmp_path):
    """Before, one killed worker (the out-of-memory killer) ended rau evaluate --jobs with exit 70 and no outputs."""
    import multiprocessing
    import os
    import signal

    from rau.evaluation.manifest import read_manifest
    from rau.evaluation.parallel import evaluate_in_processes
    from rau.evaluation.runner import try_case
    from rau.engines import create_engine
    from rau.options import EngineOptions

    cases = read_manifest(hc18 / "cases.csv")
    options = EngineOptions(deformable=False)
    scores = evaluate_in_processes("registration", options, cases, 2)
    first = next(scores)
    for worker in multiprocessing.active_children():  # the others' cases are lost with the pool
        os.kill(worker.pid, signal.SIGKILL)
    scored = [score for _, score in sorted([first, *scores], key=lambda pair: pair[0])]
    serial = [try_case(create_engine("registration", options), case) for case in cases]
    assert [score.target for score in scored] == ["002.png", "003.png", "001.png"]
    assert [score.rows for score in scored] == [score.rows for score in serial]


def test_an_interrupted_parallel_run_stops_its_workers_at_once(hc18):
    """Before, Ctrl-C or SIGTERM to the main process waited for the cases in progress to finish (17 s in the probe)
    and then dropped them; now the workers are stopped at once (the interrupted run keeps the cases it had)."""
    import multiprocessing
    import signal

    from rau.evaluation.manifest import read_manifest
    from rau.evaluation.parallel import evaluate_in_processes
    from rau.options import EngineOptions

    scores = evaluate_in_processes("registration", EngineOptions(deformable=False), read_manifest(hc18 / "cases.csv"), 2)
    next(scores)
    workers = multiprocessing.active_children()
    scores.close()  # what an interruption of the consumer does to the generator
    assert workers and all(worker.exitcode == -signal.SIGTERM for worker in workers), [w.exitcode for w in workers]


def test_an_interrupted_parallel_run_keeps_a_case_that_finished_behind_one_still_running(hc18, tmp_path, monkeypatch, capsys):
    """Before, --jobs gave cases back in manifest order: interrupted while the first case still ran, the run wrote
    none of the later cases already finished ("interrupted after 0 of 2 cases" with one finished, in the probe)."""
    import os
    import threading

    from rau.commands import evaluate as evaluate_command

    stuck = tmp_path / "stuck.labels.csv"
    os.mkfifo(stuck)  # a label table that cannot be read until something writes to the pipe: a case still running

    def feed():  # after 30 s (on the old code, which waited for the first case): the case ends and the test fails
        try:
            pipe = os.open(stuck, os.O_WRONLY | os.O_NONBLOCK)  # no reader left (the worker was stopped): nothing to do
        except OSError:
            return
        os.set_blocking(pipe, True)
        os.write(pipe, (hc18 / "head.labels.csv").read_bytes())
        os.close(pipe)

    feeder = threading.Timer(30, feed)
    feeder.start()
    row = f"{hc18}/001.png,{hc18}/001_mask.png,{hc18_spacing('001')},{hc18}/{{target}}.png,{hc18}/{{target}}_mask.png,{{spacing}},{{table}}"
    header = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing,label_table\n"
    (tmp_path / "cases.csv").write_text(header + row.format(target="003", spacing=hc18_spacing("003"), table=stuck) + "\n"
                                        + row.format(target="002", spacing=hc18_spacing("002"), table=hc18 / "head.labels.csv") + "\n")

    def interrupted_after_the_first_case(items, description, total=None):  # Ctrl-C as soon as one case has finished
        yield next(items)
        items.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_command, "_progress", interrupted_after_the_first_case)
    monkeypatch.setattr("rau.validation.manifests.check_not_special", lambda path: None)  # it refuses the pipe; the worker reads it
    out = tmp_path / "e.json"
    assert main(["evaluate", str(tmp_path / "cases.csv"), "--jobs", "2", "--json", str(out)]) == 130
    saved = json.loads(out.read_text())
    assert saved["interrupted"] and [(case["target"], case["status"]) for case in saved["cases"]] == [("003.png", "not_run"), ("002.png", "ok")]
    assert saved["cases"][1]["structures"][0]["dice"] > 0.5
    assert saved["summary"]["cases"] == 1 and saved["summary"]["failed_cases"] == 0
    # the CSV says so too (before, it listed only the finished case, like a whole run of one case)
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert [(row["target"], row["status"]) for row in rows] == [("003.png", "not_run"), ("002.png", "detected")]
    assert "interrupted before this case" in rows[0]["error"]
    assert "interrupted after 1 of 2 cases" in capsys.readouterr().err
    feeder.cancel()


def test_cases_are_named_apart_by_their_folders_and_by_their_truths(hc18, tmp_path, capsys):
    """Before: subjects' image.png files, and one target scored against two truths, gave rows named alike."""
    for subject, name in (("p1", "002"), ("p2", "003")):
        (tmp_path / subject).mkdir()
        for suffix in (".png", "_mask.png"):
            shutil.copy(hc18 / f"{name}{suffix}", tmp_path / subject / f"image{suffix}")
    shutil.copy(hc18 / "003_mask.png", tmp_path / "p2" / "second_reader.png")
    header = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing,label_table\n"
    reference = f"{hc18 / '001.png'},{hc18 / '001_mask.png'},{hc18_spacing('001')}"
    rows = [f"{reference},p1/image.png,p1/image_mask.png,{hc18_spacing('002')},{hc18 / 'head.labels.csv'}",
            f"{reference},p2/image.png,p2/image_mask.png,{hc18_spacing('003')},{hc18 / 'head.labels.csv'}",
            f"{reference},p2/image.png,p2/second_reader.png,{hc18_spacing('003')},{hc18 / 'head.labels.csv'}"]
    (tmp_path / "cases.csv").write_text(header + "\n".join(rows) + "\n")
    assert evaluate(tmp_path / "cases.csv", tmp_path / "out.json") == 0, capsys.readouterr().err
    with open(tmp_path / "out.csv", newline="") as handle:
        targets = [row["target"] for row in csv.DictReader(handle)]
    assert targets == ["p1/image.png", "p2/image.png (image_mask.png)", "p2/image.png (second_reader.png)"]


def test_per_structure_rows_join_spellings_and_ranking_figures_skip_structures_the_truth_lacks():
    """Before: two cases spelling "Liver" and "liver" gave two summary rows of one case each; and a structure that
    a shared label table names but the truth does not hold scored every reference 0 in the ranking figures
    (top-1 0.47 next to a fused Dice of 0.90), while the Dice means leave it out."""
    import numpy as np

    from rau.evaluation.runner import CaseScore, ranking_quality, summarize
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    row = {"status": "detected", "dice": 0.8, "hd95_mm": 1.0, "box_iou": 0.9, "centroid_mm": 0.5, "confidence": 1.0}
    cases = [CaseScore("a.png", ["r.png"], 1.0, [{**row, "structure": "Liver"}]), CaseScore("b.png", ["r.png"], 1.0, [{**row, "structure": "liver"}])]
    assert summarize(cases)["structures"] == {"Liver": {"dice": 0.8, "hd95_mm": 1.0, "n": 2, "cases": 2}}

    image = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    cube, empty = np.zeros((1, 20, 20), bool), np.zeros((1, 20, 20), bool)
    cube[0, 5:15, 5:15] = True
    labels = LabelSet.from_values([1, 2], {1: "cube", 2: "box"})
    segmentation = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, {"cube": cube, "box": empty})
    transfers = {f"r{shift}": {"cube": np.roll(cube, shift, axis=2), "box": None} for shift in range(4)}
    ranking = [{"reference": f"r{shift}", "score": 1.0 - shift / 10, "similarity": 0.5} for shift in range(4)]
    figures = ranking_quality(transfers, ranking, segmentation.masks)
    assert figures["top1_dice"] == 1.0 and figures["best_single_dice"] == 1.0 and figures["mean_single_dice"] == 0.85
    ranked = [(entry["reference"], entry["dice"]) for entry in figures["references"]]  # before, only the figures: no way to trace them
    assert ranked == [("r0", 1.0), ("r1", 0.9), ("r2", 0.8), ("r3", 0.7)]


def test_rows_of_one_target_may_spell_its_structures_in_another_case(hc18):
    """Before, ``head`` on one row and ``Head`` on the other were refused as another case, though names match whatever the case."""
    from rau.evaluation.manifest import read_manifest

    header, first, second, _ = (hc18 / "cases.csv").read_text().splitlines()
    other_reference = first.replace("001", "003", 2)
    rows = [f"{first},fetal head", f"{other_reference},Fetal Head"]
    (hc18 / "spelled.csv").write_text("\n".join([header + ",structures", *rows]) + "\n")
    (case,) = read_manifest(hc18 / "spelled.csv")
    assert case.structures == ["fetal head"] and len(case.references) == 2


def test_truth_structures_that_match_no_reference_structure_are_reported(blobs, tmp_path, capsys):
    """Before, a truth calling its spleen "milt" left it unscored (the reference's spleen a false positive, mean
    Dice the liver's) without a word."""
    shutil.copy(blobs / "t_mask.png", tmp_path / "milt_mask.png")
    (tmp_path / "milt_mask.labels.csv").write_text("value,name\n1,liver\n2,milt\n")
    (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels\n"
                                        f"{blobs}/r1.png,{blobs}/r1_mask.png,{blobs}/t.png,milt_mask.png\n")
    assert evaluate(tmp_path / "cases.csv", tmp_path / "scores.json") == 0
    case = json.loads((tmp_path / "scores.json").read_text())["cases"][0]
    assert [(s["structure"], s["status"]) for s in case["structures"]] == [("liver", "detected"), ("spleen", "false_positive")]
    assert case["warnings"] == ["structures of the truth matched no structure of the reference and were not scored: "
                                "'milt'; check the names or label tables"]
    assert "warning: t.png: structures of the truth matched no structure of the reference" in capsys.readouterr().err


def test_a_structure_only_a_later_reference_holds_is_said_by_evaluate_and_batch(blobs, tmp_path, capsys):
    """Before, only rau segment said so: rau evaluate left the truth's spleen unscored, and rau batch unsegmented,
    without a word (the first reference, which decides the structures, has none). Its table lists a spleen: before, the
    warning said it was not in the first reference."""
    shutil.copy(blobs / "t_liver.png", tmp_path / "liver_only.png")
    shutil.copy(blobs / "t_liver_mask.png", tmp_path / "liver_only_mask.png")
    (tmp_path / "liver_only_mask.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")  # its table names a spleen it lacks
    rows = [f"{folder}/{name}.png,{folder}/{name}_mask.png,{blobs}/t.png,{blobs}/t_mask.png" for folder, name in ((tmp_path, "liver_only"), (blobs, "r2"))]
    (tmp_path / "pool.csv").write_text("reference_image,reference_labels,target_image,target_labels\n" + "\n".join(rows) + "\n")
    said = "'spleen' is in r2_mask.png but has no voxels in the first reference liver_only_mask.png, which decides the structures found"
    assert evaluate(tmp_path / "pool.csv", tmp_path / "scores.json") == 0
    case = json.loads((tmp_path / "scores.json").read_text())["cases"][0]
    assert [s["structure"] for s in case["structures"]] == ["liver"] and len(case["warnings"]) == 1 and said in case["warnings"][0]
    assert f"warning: t.png: {said}" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "pool.csv"), "--out", str(tmp_path / "out"), "--no-deformable", "--workers", "1"]) == 0
    assert f"warning: t: {said}" in capsys.readouterr().err


def test_a_reference_lacking_a_structure_scores_0_for_it_in_the_ranking_figures(blobs, tmp_path):
    """Before, each reference's Dice was the mean over the structures it holds: the target's own picture labelled
    with its liver only was the best single reference (1.0), though it gives none of the spleen that the case scores."""
    import numpy as np

    from rau.engines import create_engine
    from rau.evaluation.manifest import read_manifest
    from rau.evaluation.runner import scored_case
    from rau.fusion import dice
    from rau.options import EngineOptions

    rows = [f"{blobs}/{name}.png,{blobs}/{name}_mask.png,{blobs}/t.png,{blobs}/t_mask.png" for name in ("r1", "r2", "t_liver")]
    (tmp_path / "pool.csv").write_text("reference_image,reference_labels,target_image,target_labels\n" + "\n".join(rows) + "\n")
    (case,) = read_manifest(tmp_path / "pool.csv")
    score, loaded = scored_case(create_engine("registration", EngineOptions(deformable=False, keep_transfers=True)), case)
    truth = loaded[2].masks
    singles = {reference: np.mean([dice(np.zeros_like(truth[name]) if masks.get(name) is None else masks[name], truth[name])
                                   for name in ("liver", "spleen")]) for reference, masks in score.result.details["transfers"].items()}
    assert singles["t_liver.png"] <= 0.5 < singles["r1.png"]
    assert score.ranking["best_single_dice"] == round(max(singles.values()), 4) < 0.99
    assert score.ranking["mean_single_dice"] == round(float(np.mean(list(singles.values()))), 4)


def test_distances_of_pictures_without_a_pixel_size_are_said_in_pixels(blobs, tmp_path, capsys):
    """Before, a picture without a pixel size (worked in 1 mm pixels) had its HD95 and centroid distance printed as mm."""
    header = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
    (blobs / "pixels.csv").write_text(header + "r1.png,r1_mask.png,,t.png,t_mask.png,\n")
    assert evaluate(blobs / "pixels.csv", tmp_path / "pixels.json") == 0
    printed = capsys.readouterr().out
    assert "HD95 px" in printed and re.search(r"HD95 [\d.]+ px  box IoU [\d.]+  centroid [\d.]+ px", printed) and " mm" not in printed
    scores = json.loads((tmp_path / "pixels.json").read_text())
    assert scores["summary"]["distance_unit"] == scores["cases"][0]["distance_unit"] == "px"
    assert {row["distance_unit"] for row in csv.DictReader(open(tmp_path / "pixels.csv", encoding="utf-8"))} == {"px"}
    (blobs / "mixed.csv").write_text(header + "r1.png,r1_mask.png,,t.png,t_mask.png,\nr2.png,r2_mask.png,0.5,t_liver.png,t_liver_mask.png,0.5\n")
    assert evaluate(blobs / "mixed.csv", tmp_path / "mixed.json") == 0
    printed = capsys.readouterr()
    assert "warning: 1 of 2 targets have no pixel size (first: t.png): their HD95 and centroid distances are in pixels" in printed.err
    scores = json.loads((tmp_path / "mixed.json").read_text())
    assert scores["summary"]["distance_unit"] == "mm/px" and [case["distance_unit"] for case in scores["cases"]] == ["px", "mm"]
    header_line, liver_line = printed.out.splitlines()[:2]  # before, "HD95 mm/px" overflowed its column
    assert header_line.endswith("HD95 mm/px") and len(liver_line) == len(header_line)


def test_truth_structures_a_shared_label_table_names_but_the_reference_lacks_are_reported(blobs, tmp_path):
    """Before: with one label table for the manifest (naming every structure of a protocol), a truth structure the
    reference has no voxel of matched the table's entry and was left unscored without a word."""
    from PIL import Image as Picture

    truth = np.array(Picture.open(blobs / "t_mask.png"))
    truth[80:90, 10:20] = 3
    write_picture(truth, tmp_path / "t_kidney_mask.png")
    (tmp_path / "organs.labels.csv").write_text("value,name\n1,liver\n2,spleen\n3,kidney\n4,pancreas\n")
    (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels,label_table\n"
                                        f"{blobs}/r1.png,{blobs}/r1_mask.png,{blobs}/t.png,t_kidney_mask.png,organs.labels.csv\n")
    assert evaluate(tmp_path / "cases.csv", tmp_path / "scores.json") == 0
    case = json.loads((tmp_path / "scores.json").read_text())["cases"][0]
    assert [s["structure"] for s in case["structures"]] == ["liver", "spleen"]
    assert case["warnings"] == ["structures of the truth matched no structure of the reference and were not scored: "
                                "'kidney'; check the names or label tables"]


def test_truth_structures_outside_the_asked_ones_are_spoken_of_only_when_an_asked_one_met_none(blobs, tmp_path):
    """Before, a case asking for the liver was warned that the truth's "milt" matched nothing, though the liver had
    its truth; asking for the spleen, which met none, the warning is what tells the user why."""
    shutil.copy(blobs / "t_mask.png", tmp_path / "milt_mask.png")
    (tmp_path / "milt_mask.labels.csv").write_text("value,name\n1,liver\n2,milt\n")
    for asked, warned in (("liver", False), ("spleen", True)):
        (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels,structures\n"
                                            f"{blobs}/r1.png,{blobs}/r1_mask.png,{blobs}/t.png,milt_mask.png,{asked}\n")
        assert evaluate(tmp_path / "cases.csv", tmp_path / f"{asked}.json") == 0
        case = json.loads((tmp_path / f"{asked}.json").read_text())["cases"][0]
        assert [s["structure"] for s in case["structures"]] == [asked]
        assert case["warnings"] == (["structures of the truth matched no structure of the reference and were not scored: "
                                     "'milt'; check the names or label tables"] if warned else []), asked


def test_predictions_are_written_as_rau_segment_writes_them_with_or_without_jobs(hc18, tmp_path, capsys):
    """Before, the figures could be checked only by running ``rau segment`` again on every case."""
    folder = shutil.copytree(hc18, tmp_path / "cases")
    (folder / "broken.png").write_text("not a picture")
    header, first, second, third = (folder / "cases.csv").read_text().splitlines()
    (folder / "some.csv").write_text("\n".join([header, first, second.replace("003.png", "broken.png")]) + "\n")
    assert evaluate(folder / "some.csv", tmp_path / "serial.json", "--predictions", str(tmp_path / "serial")) == 1
    assert evaluate(folder / "some.csv", tmp_path / "jobs.json", "--predictions", str(tmp_path / "jobs"), "--jobs", "2") == 1
    written = sorted(path.name for path in (tmp_path / "serial").iterdir())
    assert written == ["001_002.labels.csv", "001_002.nii.gz", "001_002.result.json"]  # the failed case writes nothing
    assert all((tmp_path / "serial" / name).read_bytes() == (tmp_path / "jobs" / name).read_bytes() for name in written[:2])
    reference, labels, spacing, target, _, target_spacing, _ = first.split(",")
    assert main(["segment", "--reference", str(folder / reference), "--reference-labels", str(folder / labels), "--reference-spacing",
                 spacing, "--target", str(folder / target), "--target-spacing", target_spacing, "--label-table", str(folder / "head.labels.csv"),
                 "--no-deformable", "--out", str(tmp_path / "segment" / "002.nii.gz")]) == 0
    assert (tmp_path / "segment" / "002.nii.gz").read_bytes() == (tmp_path / "serial" / "001_002.nii.gz").read_bytes()
    assert main(["correct", str(tmp_path / "serial" / "001_002.result.json"), "--structure", "fetal head", "--inside", "100,60",
                 "--out", str(tmp_path / "corrected.nii.gz")]) == 0  # its result JSON records the inputs, as rau segment's
    capsys.readouterr()
    assert evaluate(folder / "some.csv", tmp_path / "again.json", "--predictions", str(tmp_path / "serial")) == 2  # before any case
    assert "--predictions" in capsys.readouterr().err and not (tmp_path / "again.json").exists()
    assert evaluate(folder / "some.csv", tmp_path / "serial" / "001_002.result.json", "--predictions", str(tmp_path / "serial"),
                    "--overwrite") == 2  # the figures would replace a prediction's result JSON
    assert "is also where --json" in capsys.readouterr().err
    for stale in ("002_broken.nii.gz", "002_broken.labels.csv", "002_broken.result.json"):
        (tmp_path / "serial" / stale).write_text("an earlier run's")
    assert evaluate(folder / "some.csv", tmp_path / "over.json", "--predictions", str(tmp_path / "serial"), "--overwrite") == 1
    assert (tmp_path / "serial" / "001_002.nii.gz").read_bytes() == (tmp_path / "jobs" / "001_002.nii.gz").read_bytes()
    assert not (tmp_path / "serial" / "002_broken.nii.gz").exists()  # the failed case's earlier files removed


def test_a_refused_run_keeps_earlier_predictions_and_makes_no_folder(hc18, tmp_path, capsys):
    """Before, the prediction files of an earlier run were removed (--overwrite) and the --predictions folders made
    before the unusable --sam2-model was refused (exit 2): a refused run had deleted 6 files, or left empty folders."""
    sam2 = tmp_path / "sam2"
    sam2.mkdir()
    (sam2 / "config.json").write_text("{}")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for name in ("001_002.nii.gz", "001_002.labels.csv", "001_002.result.json"):
        (earlier / name).write_text("an earlier run's")
    refused = ["--engine", "registration+sam2", "--sam2-model", str(sam2), "--predictions"]
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--limit", "1", *refused, str(earlier), "--overwrite") == 2
    assert "--sam2-model" in capsys.readouterr().err
    assert sorted(path.read_text() for path in earlier.iterdir()) == ["an earlier run's"] * 3
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--limit", "1", *refused, str(tmp_path / "new" / "deep")) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["earlier", "sam2"]


@pytest.mark.parametrize("folder", ["r.csv", "r.json", "r.json/deeper"])
def test_predictions_in_the_place_of_the_json_figures_are_refused_before_any_case(hc18, tmp_path, capsys, folder):
    """Before, every case ran and wrote its prediction into a new folder r.csv, then writing the figures failed (exit 2:
    "could not write r.csv: a folder of that name is in the way"; without --overwrite "r.csv exists; replace it with
    --overwrite", which --overwrite could not mend)."""
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--predictions", str(tmp_path / folder), "--overwrite") == 2
    error = capsys.readouterr().err
    assert f"--predictions {tmp_path / folder}: --json {tmp_path / 'r.json'} writes the file" in error
    assert not list(tmp_path.iterdir())


def test_a_segmentation_beside_a_prediction_is_refused_naming_only_what_rau_evaluate_offers(hc18, tmp_path, capsys):
    """Before: "... remove it, add --seg-nrrd to replace it too, or choose another output name", an option rau evaluate
    refuses and a name it makes itself."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "001_002.seg.nrrd").write_text("the user's")
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--limit", "1", "--predictions", str(folder)) == 2
    error = capsys.readouterr().err
    assert f"{folder / '001_002.seg.nrrd'} beside it has the same name" in error
    assert "--seg-nrrd" not in error and "output name" not in error
    assert "remove it or choose another --predictions folder" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p"] and (folder / "001_002.seg.nrrd").read_text() == "the user's"


def test_a_label_table_not_this_runs_beside_a_prediction_is_refused(hc18, tmp_path, capsys):
    """Before: the prediction was written beside it, and read back refused for the two tables' names."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "001_002.txt").write_text("1 skull\n")
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--limit", "1", "--predictions", str(folder), "--overwrite") == 2
    assert f"{folder / '001_002.txt'} beside it would be read as its label table too" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p"] and [path.name for path in folder.iterdir()] == ["001_002.txt"]


def test_two_references_are_listed_in_ranking_order_without_a_rank_correlation():
    """Before, a case of two references had no ranking figures ("ranking": null) though its engine ranked both."""
    from rau.evaluation.runner import CaseScore, ranking_quality, summarize

    cube = np.zeros((1, 20, 20), bool)
    cube[0, 5:15, 5:15] = True
    transfers = {"near": {"cube": np.roll(cube, 1, axis=2)}, "far": {"cube": np.roll(cube, 3, axis=2)}}
    ranking = [{"reference": "far", "score": 0.9, "similarity": 0.9}, {"reference": "near", "score": 0.8, "similarity": 0.8}]
    figures = ranking_quality(transfers, ranking, {"cube": cube})
    assert [(entry["reference"], entry["dice"]) for entry in figures["references"]] == [("far", 0.7), ("near", 0.9)]
    assert (figures["top1_dice"], figures["best_single_dice"], figures["mean_single_dice"]) == (0.7, 0.9, 0.8)
    assert figures["spearman_score_vs_dice"] is None is figures["spearman_similarity_vs_dice"]  # two ranks: +1 or -1 whatever
    summary = summarize([CaseScore("t.png", ["far", "near"], 1.0, [], figures)])
    assert summary["ranking"]["top1_dice"] == 0.7 and summary["ranking"]["spearman_score_vs_dice"] is None


def test_predictions_that_hide_structures_say_what_keeps_them_whole_for_rau_evaluate(tmp_path, capsys):
    """Before, the warning (and the prediction's result JSON) said "add --seg-nrrd", which rau evaluate refuses."""
    from test_cli_correct import write_overlapping_reference

    from rau.io import read_image, write_image

    image, segments, copy = write_overlapping_reference(tmp_path)
    target = read_image(copy)
    write_image(target.with_array(target.array + 1), tmp_path / "target.mha")  # not a byte copy of its reference
    (tmp_path / "m.csv").write_text(f"reference_image,reference_labels,target_image,target_labels\n{image},{segments},target.mha,{segments}\n")
    assert evaluate(tmp_path / "m.csv", tmp_path / "e.json", "--predictions", str(tmp_path / "p")) == 0
    said = "; rau segment --seg-nrrd on the case writes a Slicer segmentation that keeps them whole"
    assert said in capsys.readouterr().err
    assert [w for w in json.loads((tmp_path / "p" / "001_target.result.json").read_text())["warnings"] if w.endswith(said)]


@pytest.mark.parametrize("said", ["unnamed value", "left out"])
def test_a_prediction_records_the_warnings_rau_segment_records_for_its_case(blobs, tmp_path, capsys, said):
    """Before, a prediction's result JSON recorded no warning, where rau segment's on the same case records that its
    reference's label table leaves a value unnamed, or that a structure only a later reference holds is not looked for."""
    for name in ("r1", "r1_mask", "t_liver", "t_liver_mask"):
        shutil.copy(blobs / f"{name}.png", tmp_path / f"{name}.png")
    (tmp_path / "liver.csv").write_text("value,name\n1,liver\n")  # r1_mask's value 2 (its spleen) unnamed
    (tmp_path / "t_liver_mask.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")  # its table names a spleen it lacks
    references = {"unnamed value": ["r1"], "left out": ["t_liver", "r2"]}[said]
    files = [(tmp_path if name != "r2" else blobs) / name for name in references]
    table = ["--label-table", str(tmp_path / "liver.csv")] if said == "unnamed value" else []
    rows = [f"{file}.png,{file}_mask.png,{blobs}/t.png,{blobs}/t_mask.png,{table[1] if table else ''}" for file in files]
    (tmp_path / "m.csv").write_text("reference_image,reference_labels,target_image,target_labels,label_table\n" + "\n".join(rows) + "\n")
    assert evaluate(tmp_path / "m.csv", tmp_path / "e.json", "--predictions", str(tmp_path / "p")) == 0
    given = [argument for file in files for argument in ("--reference", f"{file}.png", "--reference-labels", f"{file}_mask.png")]
    assert main(["segment", *given, *table, "--target", str(blobs / "t.png"), "--no-deformable", "--out", str(tmp_path / "s.nii.gz")]) == 0
    recorded = json.loads((tmp_path / "s.result.json").read_text())["warnings"]
    assert recorded and json.loads((tmp_path / "p" / "001_t.result.json").read_text())["warnings"] == recorded


def test_a_prediction_another_run_wrote_after_the_check_is_kept_and_fails_its_case_alone(hc18, tmp_path, capsys, monkeypatch):
    """Before: the predictions were checked at start-up only and then written with overwrite: of two runs into one
    --predictions folder, the one refused at the end (its --json had appeared) had replaced the other's files."""
    import rau.evaluation.runner as runner

    folder, load_case = tmp_path / "p", runner.load_case
    names = ("001_002.nii.gz", "001_002.labels.csv", "001_002.result.json")

    def another_run_writes_first(case):
        if case.name == "002.png":
            folder.mkdir()
            for name in names:
                (folder / name).write_text("another run's")
        return load_case(case)

    monkeypatch.setattr(runner, "load_case", another_run_writes_first)
    assert evaluate(hc18 / "cases.csv", tmp_path / "r.json", "--limit", "2", "--predictions", str(folder)) == 1
    assert [(folder / name).read_text() for name in names] == ["another run's"] * 3
    assert f"failed: 002.png: {folder / '001_002.nii.gz'} exists; replace it with --overwrite" in capsys.readouterr().err
    assert sorted(path.name for path in folder.iterdir()) == sorted([*names, "002_003.labels.csv", "002_003.nii.gz", "002_003.result.json"])
