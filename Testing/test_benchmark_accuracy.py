"""benchmarks/bench_accuracy.py and bench_vessels.py: the plain baselines' sampling share is an option, recorded with the figures; bad options exit 2; no Dice ratio to a baseline that scores 0."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, script_environment
from refused_scripts import refused


def bench(*arguments):
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_accuracy.py"), *map(str, arguments)],
                          cwd=REPO, env=script_environment(), capture_output=True, text=True, timeout=300)


def test_the_baselines_sampling_share_changes_their_fit_and_is_recorded(tmp_path, shared_data):
    figures = {}
    for sampling in ("0.01", "0.2"):
        out = tmp_path / f"{sampling}.json"
        run = bench("protocols/hc18_single.csv", "--limit", 1, "--methods", "affine", "--baseline-sampling", sampling, "--json", out)
        assert run.returncode == 0, run.stderr
        figures[sampling] = json.loads(out.read_text())[0]
    assert figures["0.01"]["baseline_sampling"] == 0.01 and figures["0.2"]["baseline_sampling"] == 0.2
    assert figures["0.01"]["methods"]["affine"]["mean_dice"] != figures["0.2"]["methods"]["affine"]["mean_dice"]


def test_a_baseline_that_samples_no_point_is_a_failure_not_dice_0(tmp_path, shared_data):
    """Before: ITK's "VirtualSampledPointSet must have 1 or more points" was taken for a lost overlap: Dice 0, exit 0."""
    out = tmp_path / "figures.json"
    run = bench("protocols/hc18_single.csv", "--limit", 1, "--methods", "identity", "affine", "--baseline-sampling", "1e-9", "--json", out)
    assert run.returncode == 1 and "a baseline failed on some case" in run.stderr
    figures = json.loads(out.read_text())[0]
    [failed] = figures["failed"]
    assert failed["method"] == "affine" and "VirtualSampledPointSet must have 1 or more points" in failed["error"]
    assert figures["methods"]["affine"]["mean_dice"] is None and figures["methods"]["identity"]["mean_dice"] > 0
    assert "affine failed on" in run.stdout


def test_bad_options_and_manifests_are_refused_naming_them(tmp_path, monkeypatch, capsys):
    for arguments, message in ((("--baseline-sampling", "0"), "--baseline-sampling must be above 0"),
                               (("--limit", "0"), "argument --limit: must be at least 1"),  # before: NaN figures
                               (("--methods", "bogus"), "invalid choice: 'bogus'"),  # before: a traceback about ants
                               (("--fusion", "bogus"), "invalid choice: 'bogus'")):
        run = refused(monkeypatch, capsys, "bench_accuracy", "protocols/hc18_single.csv", *arguments)
        assert run.returncode == 2 and message in run.stderr, (arguments, run.stderr)
    run = refused(monkeypatch, capsys, "bench_accuracy", tmp_path / "gone.csv")
    assert run.returncode == 2 and f"manifest {tmp_path / 'gone.csv'} does not exist" in run.stderr and "Traceback" not in run.stderr


def test_the_json_folder_is_made_when_written_and_an_impossible_one_is_refused_first(tmp_path, shared_data, monkeypatch, capsys):
    """Six benchmarks ran for minutes and then lost their figures to a missing --json folder (benchmarks/figures.py)."""
    out = tmp_path / "new" / "deeper" / "figures.json"
    run = bench("protocols/hc18_single.csv", "--limit", 1, "--methods", "identity", "--json", out)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())[0]["methods"]["identity"]["mean_dice"] > 0
    (tmp_path / "afile").write_text("")
    run = refused(monkeypatch, capsys, "bench_accuracy", "protocols/hc18_single.csv", "--json", tmp_path / "afile" / "x.json")
    assert run.returncode == 2
    assert f"argument --json: {tmp_path / 'afile'}: cannot create this output folder, {tmp_path / 'afile'} is a file" in run.stderr


def test_a_run_refused_for_another_reason_leaves_no_json_folder(tmp_path, monkeypatch, capsys):
    """Before: the --json folder was made while the options were read, so a missing manifest left it behind, empty."""
    run = refused(monkeypatch, capsys, "bench_accuracy", tmp_path / "gone.csv", "--json", tmp_path / "new" / "figures.json")
    assert run.returncode == 2 and "does not exist" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_json_write_leaves_the_earlier_file_whole(tmp_path, monkeypatch):
    """Before: every benchmark wrote its JSON in place, so a write cut short left a truncated file."""
    from pathlib import Path

    import figures
    from rau.errors import WriteError

    out = tmp_path / "figures.json"
    out.write_text('{"earlier": 1}\n')
    written = Path.write_text

    def cut_short(self, text, **options):
        written(self, text[:5], **options)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", cut_short)
    with pytest.raises(WriteError, match=f"could not write {out}: No space left on device"):
        figures.write_json(out, {"figures": list(range(100))})
    monkeypatch.undo()
    assert out.read_text() == '{"earlier": 1}\n' and [path.name for path in tmp_path.iterdir()] == ["figures.json"]


def test_bench_vessels_refuses_option_sets_that_would_run_nothing(monkeypatch, capsys):
    """Before: --bank-pairs without --bank-cases and --limit 0 ended in a TypeError, --bank-only alone wrote {}."""
    for arguments, message in ((("--bank-pairs",), "give --bank-cases N"), (("--bank-only",), "give --bank-cases N"),
                               (("--limit", "0"), "argument --limit: must be at least 1")):
        run = refused(monkeypatch, capsys, "bench_vessels", *arguments)
        assert run.returncode == 2 and message in run.stderr, (arguments, run.stderr)


@pytest.mark.parametrize("first, second", [("--bank-only", "--single-only"), ("--bank-only", "--bank-pairs"), ("--single-only", "--bank-pairs")])
def test_bench_vessels_refuses_two_of_its_only_options(first, second, monkeypatch, capsys):
    """Before: --bank-only --single-only ran nothing and wrote {} (exit 0); --bank-pairs overrode the others silently."""
    run = refused(monkeypatch, capsys, "bench_vessels", first, second, "--bank-cases", "1", "--limit", "1")
    assert run.returncode == 2 and f"argument {second}: not allowed with argument {first}" in run.stderr, run.stderr


def test_structures_are_matched_as_rau_evaluate_matches_them_and_the_json_is_strict(tmp_path, shared_data):
    """Before: a manifest's "Label 255" matched no structure for the baselines (rau evaluate took it), and their
    NaN means were written as bare NaN, which strict JSON readers refuse."""
    lines = (REPO / "protocols/hc18_single.csv").read_text().splitlines()
    folder = "../../shared/data/"
    rows = [line.replace(folder, str(shared_data) + "/") for line in lines[:2]]
    (tmp_path / "m.csv").write_text(f"{rows[0]},structures\n{rows[1]},Label 255\n")
    out = tmp_path / "figures.json"
    run = bench(tmp_path / "m.csv", "--methods", "identity", "--json", out)
    assert run.returncode == 0, run.stderr
    figures = json.loads(out.read_text(), parse_constant=lambda constant: pytest.fail(f"{constant} in the JSON"))
    assert figures[0]["methods"]["identity"]["mean_dice"] > 0
    (tmp_path / "m.csv").write_text(f"{rows[0]},structures\n{rows[1]},label_255\n")
    run = bench(tmp_path / "m.csv", "--methods", "identity", "--json", tmp_path / "exact.json")
    assert json.loads((tmp_path / "exact.json").read_text())[0]["methods"]["identity"]["mean_dice"] == figures[0]["methods"]["identity"]["mean_dice"]


def test_baselines_score_the_structures_the_engine_scores(tmp_path, shared_data):
    """A label table names a structure the truth holds but the reference has no voxels of: the engine is not asked
    for it, so it is no row. The baselines scored it too, as Dice 0 (TotalSegmentator's 117-name table on
    ``totalseg_ct.csv``: 31 structures against the engine's 27, affine 0.139 against 0.159 on the engine's)."""
    import numpy as np
    from PIL import Image as Picture

    lines = (REPO / "protocols/hc18_single.csv").read_text().splitlines()
    row = lines[1].replace("../../shared/data/", str(shared_data) + "/").split(",")
    truth = np.array(Picture.open(row[4]))
    truth[:20, :20] = 7  # a structure of the table that only the truth holds
    Picture.fromarray(truth).save(tmp_path / "truth.png")
    (tmp_path / "table.csv").write_text("value,name\n255,head\n7,ghost\n")
    header = lines[0]
    (tmp_path / "plain.csv").write_text(f"{header}\n{','.join(row[:6])},{tmp_path / 'table.csv'}\n")
    (tmp_path / "ghost.csv").write_text(f"{header}\n{','.join(row[:4] + [str(tmp_path / 'truth.png'), row[5]])},{tmp_path / 'table.csv'}\n")
    figures = {}
    for name in ("plain", "ghost"):
        run = bench(tmp_path / f"{name}.csv", "--methods", "identity", "engine", "--json", tmp_path / f"{name}.json")
        assert run.returncode == 0, run.stderr
        methods = json.loads((tmp_path / f"{name}.json").read_text())[0]["methods"]
        figures[name] = {method: methods[method]["mean_dice"] for method in methods}
    assert figures["ghost"] == figures["plain"]
    assert figures["ghost"]["identity"] > 0.3  # before: the ghost's Dice 0 halved it


def test_a_case_whose_truth_names_none_of_the_references_structures_is_skipped_and_said(tmp_path, shared_data):
    """rau evaluate fails such a case; the benchmark stopped at it with exit 2 and lost every figure of the run."""
    import shutil

    lines = (REPO / "protocols/hc18_single.csv").read_text().splitlines()
    row = lines[1].replace("../../shared/data/", str(shared_data) + "/").split(",")
    for name, source, structure in (("ref", row[1], "fetal head"), ("skull", row[4], "skull"), ("head", row[4], "fetal head")):
        shutil.copy(source, tmp_path / f"{name}.png")
        (tmp_path / f"{name}.labels.csv").write_text(f"value,name\n255,{structure}\n")
    header = "reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing"
    cases = [f"{row[0]},{tmp_path / 'ref.png'},{row[2]},{row[3]},{tmp_path / truth},{row[5]}" for truth in ("skull.png", "head.png")]
    (tmp_path / "m.csv").write_text("\n".join([header, *cases]) + "\n")
    run = bench(tmp_path / "m.csv", "--methods", "identity", "--json", tmp_path / "f.json")
    assert run.returncode == 0, run.stderr
    figures = json.loads((tmp_path / "f.json").read_text())[0]
    assert figures["cases"] == 1 and figures["methods"]["identity"]["mean_dice"] > 0.3
    [skipped] = figures["skipped"]
    assert "no structure of the truth ('skull') is one of the reference's ('fetal head')" in skipped["error"]
    assert "skipped" in run.stdout and "skull" in run.stdout


def test_bench_vessels_dice_ratio_is_not_a_number_when_the_copy_baseline_scores_0():
    """Before: the ratio divided by max(copy, 1e-9): 'vessels / copy Dice: 425600000.0x' and 425600000.0 in the JSON."""
    import bench_vessels

    scored = {"vessels": {"mean_dice": 0.4256}, "copy": {"mean_dice": 0.0}}
    assert bench_vessels.dice_ratio(scored) == (None, "n/a")
    assert bench_vessels.dice_ratio({**scored, "copy": {"mean_dice": 0.2}}) == (2.13, "2.1x")


def test_bench_vessels_writes_no_json_when_its_bank_stage_fails(tmp_path, monkeypatch, shared_data):
    """Before: single + bank wrote the JSON after the single-reference stage, so a failed bank stage left figures
    without the bank's (figures.py: written whole or not at all)."""
    import bench_vessels

    def failed_bank(*arguments):
        raise RuntimeError("bank stage failed")

    summary = {"mean_dice": 0.5, "presence_accuracy": 1.0, "mean_seconds_per_case": 1.0}
    monkeypatch.setattr(bench_vessels, "create_engine", lambda *arguments: None)
    monkeypatch.setattr(bench_vessels, "single_reference", lambda *arguments: ({"copy": summary, "registration_affine": summary, "vessels": summary}, {}, 0.5))
    monkeypatch.setattr(bench_vessels, "bank", failed_bank)
    monkeypatch.setattr(sys, "argv", ["bench_vessels.py", "--limit", "1", "--bank-cases", "1", "--json", str(tmp_path / "figures.json")])
    with pytest.raises(RuntimeError, match="bank stage failed"):
        bench_vessels.main()
    assert list(tmp_path.iterdir()) == []


def test_each_cases_seconds_per_method_are_written_and_printed_to_the_hundredth(tmp_path, shared_data):
    """Before: only each method's mean seconds per manifest reached the JSON, and the printed per-case seconds had one
    decimal (2D pairs read 0.1-0.3 s), so a per-pair cost claim could not be checked from a run."""
    import re

    out = tmp_path / "figures.json"
    run = bench("protocols/hc18_single.csv", "--limit", 2, "--methods", "identity", "affine", "--json", out)
    assert run.returncode == 0, run.stderr
    figures = json.loads(out.read_text())[0]
    assert figures["cases"] == 2 and [case["case"] for case in figures["per_case"]] == ["058_HC.png", "039_HC.png"]
    for method in ("identity", "affine"):
        seconds = [case["seconds"][method] for case in figures["per_case"]]
        assert all(second > 0 for second in seconds)
        assert abs(sum(seconds) / 2 - figures["methods"][method]["seconds_per_case"]) <= 0.006
    assert len(re.findall(r"HC\.png (identity|affine): dice \d\.\d{3} \(\d+\.\d{2} s\)", run.stdout)) == 4, run.stdout


def test_each_pairs_per_case_entry_names_its_reference(tmp_path, shared_data):
    """Before: --pairs wrote two per_case entries that were both just {"case": "058_HC.png"}: which pair took which
    seconds could not be told."""
    out = tmp_path / "figures.json"
    run = bench("protocols/hc18_multi.csv", "--pairs", "--limit", 2, "--methods", "identity", "--json", out)
    assert run.returncode == 0, run.stderr
    per_case = json.loads(out.read_text())[0]["per_case"]
    assert [(case["case"], case["references"]) for case in per_case] == [("058_HC.png", ["000_HC.png"]), ("058_HC.png", ["001_HC.png"])]
