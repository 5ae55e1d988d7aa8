"""``--slice-axis`` with the ``rau`` engine (tiny Qwen2.5-VL and tiny SAM2): ignored with a warning, as every option an
engine does not use, on the command line, in ``rau batch`` and on a server (the operator's default and a job's own),
since the engine slices across the VLM's axial views whatever it says."""

from __future__ import annotations

import json

import pytest

from rau.cli import main
from rau.options import EngineOptions
from rau.serve.app import ServerConfig
from rau.serve.client import Client
from serve_helpers import running_server
from test_serve import write_two_halves

IGNORED = "--slice-axis is ignored: the rau engine does not use it"


def models(tiny_qwen, tiny_sam2) -> list[str]:
    return ["--engine", "rau", "--vlm-model", str(tiny_qwen), "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu"]


def test_rau_segment_with_the_rau_engine_warns_of_slice_axis_and_runs(tiny_qwen, tiny_sam2, tmp_path, capsys):
    """Before: "error: the rau engine slices volumes across the VLM's axial views; leave --slice-axis out", exit 2."""
    (reference, labels, _), target, _ = write_two_halves(tmp_path)
    out = tmp_path / "out" / "halves.nii.gz"
    code = main(["segment", *models(tiny_qwen, tiny_sam2), "--slice-axis", "k", "--reference", str(reference),
                 "--reference-labels", str(labels), "--target", str(target), "--out", str(out)])
    said = capsys.readouterr().err
    assert code == 0, said
    assert f"warning: {IGNORED}" in said.splitlines()
    assert IGNORED in json.loads(out.with_name("halves.result.json").read_text())["warnings"]


def test_rau_batch_with_the_rau_engine_warns_of_slice_axis_and_runs(tiny_qwen, tiny_sam2, tmp_path, capsys):
    (reference, labels, _), target, _ = write_two_halves(tmp_path)
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"target_image,reference_image,reference_labels\n{target},{reference},{labels}\n")
    code = main(["batch", str(manifest), "--out", str(tmp_path / "res"), "--workers", "1", *models(tiny_qwen, tiny_sam2),
                 "--slice-axis", "i"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"warning: {IGNORED}" in printed.err.splitlines() and "rau batch: 1 done, 0 skipped" in printed.out


@pytest.mark.parametrize("job_options, warnings", [
    ({}, []),  # the operator's --slice-axis k is a default for the jobs that use it: no job of the rau engine does
    ({"slice_axis": "i"}, ["slice_axis is ignored: the rau engine does not use it"]),
])
def test_a_rau_job_on_a_server_started_with_slice_axis_runs(tiny_qwen, tiny_sam2, tmp_path, job_options, warnings):
    """Before: every rau job on ``rau serve --slice-axis k`` failed with 422 "... leave slice_axis out", which the
    client never gave (the Slicer module sends none)."""
    (reference, labels, _), target, table = write_two_halves(tmp_path)
    options = EngineOptions(vlm_model=str(tiny_qwen), sam2_model=str(tiny_sam2["always"]), device="cpu", slice_axis="k")
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, _):
        client = Client(url)
        record = client.wait(client.submit(target, [(reference, labels, None)], "rau", options=job_options, label_table=table))
    assert record["state"] == "done"
    assert [warning for warning in record["warnings"] if " is ignored: " in warning] == warnings  # the tiny VLM's own aside
