"""A run's warnings are printed and recorded in its result JSON (``rau segment``, ``rau correct``, ``rau batch``):
before, only standard error had them, so a batch's or a colleague's result kept no trace of a label value its table
did not name, or of a correction that left out a click."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rau.cli import main
from rau.demo import SAMPLE_DATA

UNNAMED = "has label value(s) 8 that its label table does not name; they are called 'label_8'"


@pytest.fixture
def reference_without_a_name(shared_data, tmp_path) -> tuple[Path, Path, Path]:
    """An ARCADE reference (values 5-8) without its sidecar, and a label table that does not name its value 8."""
    folder = shared_data / "arcade_syntax_dev"
    image = shutil.copy(folder / "arcade_train_928_img.png", tmp_path / "ref_img.png")
    labels = shutil.copy(folder / "arcade_train_928_lab.png", tmp_path / "ref_lab.png")
    rows = (folder / "labels.csv").read_text().splitlines()
    table = tmp_path / "table.csv"
    table.write_text("\n".join(row for row in rows if not row.startswith("8,")) + "\n")
    return Path(image), Path(labels), table


def recorded(result_json: Path) -> list[str]:
    return json.loads(result_json.read_text(encoding="utf-8")).get("warnings", [])


def test_rau_segment_records_the_warnings_it_prints(shared_data, reference_without_a_name, tmp_path, capsys):
    image, labels, table = reference_without_a_name
    target = shared_data / "arcade_syntax_dev" / "arcade_train_204_img.png"
    assert main(["segment", "--engine", "vessels", "--reference", str(image), "--reference-labels", str(labels), "--label-table", str(table),
                 "--reference-spacing", "1", "--target", str(target), "--target-spacing", "1", "--out", str(tmp_path / "run.nii.gz")]) == 0
    printed = capsys.readouterr().err
    assert f"warning: {labels} {UNNAMED}" in printed
    assert recorded(tmp_path / "run.result.json") == [f"{labels} {UNNAMED}"]

    trace = ["--inside", "290,161", "--inside", "272,394"]  # the second click lies off the vessel the first traces from
    assert main(["correct", str(tmp_path / "run.result.json"), "--structure", "S7_LAD_mid", *trace, "--out", str(tmp_path / "c.nii.gz")]) == 0
    said = [line.removeprefix("warning: ") for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert said and any("leaves out 1 of the 2 inside points" in line for line in said)
    assert recorded(tmp_path / "c.result.json") == said  # this command's warnings, not the corrected run's


def test_a_run_without_warnings_records_none(shared_data, tmp_path, capsys):
    folder = shared_data / "arcade_syntax_dev"
    assert main(["segment", "--engine", "vessels", "--reference", str(folder / "arcade_train_928_img.png"),
                 "--reference-labels", str(folder / "arcade_train_928_lab.png"), "--reference-spacing", "1",
                 "--target", str(folder / "arcade_train_204_img.png"), "--target-spacing", "1", "--no-deformable", "--out", str(tmp_path / "run.nii.gz")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert "warnings" not in json.loads((tmp_path / "run.result.json").read_text())


def test_rau_batch_records_each_targets_warnings_and_prints_them_once_a_target(shared_data, reference_without_a_name, tmp_path, capfd):
    """Also before: the warning was printed twice, by the manifest's check and by the worker; and a worker reads a
    shared reference once, so only its first target would have said (and recorded) it."""
    image, labels, table = reference_without_a_name
    folder = shared_data / "arcade_syntax_dev"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_spacing,label_table,structures\n" + "".join(
        f"{image},{labels},1,{folder / target},1,{table},S7_LAD_mid\n" for target in ("arcade_train_204_img.png", "arcade_train_11_img.png")))
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--engine", "vessels", "--workers", "1", "--no-deformable"]) == 0
    for target in ("arcade_train_204_img", "arcade_train_11_img"):
        assert recorded(tmp_path / "out" / f"{target}.result.json") == [f"{labels} {UNNAMED}"], target
    assert capfd.readouterr().err.count(UNNAMED) == 2


def test_rau_segment_says_and_records_that_it_runs_a_model_on_the_cpu(tiny_sam2, tmp_path):
    """Before: a Python warning naming rau's source line (".../loader.py:141: RuntimeWarning: no GPU found ...") and
    nothing in the result JSON. A real run of a tiny SAM2 model, with the GPUs hidden."""
    data = SAMPLE_DATA / "hc18"
    run = subprocess.run([sys.executable, "-m", "rau", "segment", "--engine", "registration+sam2", "--sam2-model", str(tiny_sam2["always"]),
                          "--reference", str(data / "000_HC.png"), "--reference-labels", str(data / "000_HC_mask.png"),
                          "--target", str(data / "001_HC.png"), "--out", str(tmp_path / "run.nii.gz")],
                         capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300)
    assert run.returncode == 0, run.stderr
    said = "no GPU found: running on the CPU, which is much slower (device cpu chooses it without this warning)"
    assert [line for line in run.stderr.splitlines() if "GPU" in line] == [f"warning: {said}"]
    assert recorded(tmp_path / "run.result.json") == [said]


def test_rau_batch_records_no_gpu_in_every_target_a_worker_runs_and_prints_it_once(tiny_sam2, tmp_path, capfd, monkeypatch):
    """Before: a worker's SAM2 loads once, so only its first target said (and recorded) "no GPU found"; the later
    targets ran on the same CPU without a word in their result JSON. ``rau batch`` runs in this process: its worker
    is a process of its own (spawned: a fresh interpreter), started with the GPUs hidden."""
    data = SAMPLE_DATA / "hc18"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("reference_image,reference_labels,target_image\n" + "".join(
        f"{data / '000_HC.png'},{data / '000_HC_mask.png'},{data / target}\n" for target in ("001_HC.png", "002_HC.png")))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--engine", "registration+sam2", "--sam2-model", str(tiny_sam2["always"])]) == 0
    said = "no GPU found: running on the CPU, which is much slower (device cpu chooses it without this warning)"
    for target in ("001_HC", "002_HC"):
        assert recorded(tmp_path / "out" / f"{target}.result.json") == [said], target
    assert [line for line in capfd.readouterr().err.splitlines() if "GPU" in line] == [f"warning: {said}"]  # one worker: one line
