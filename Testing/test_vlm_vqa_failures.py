"""``rau evaluate --vqa``: a failed pair and an ignored option are reported by the rules engine mode follows."""

import csv
import json
import shutil

from chat_server import ChatServer
from rau.cli import main
from test_vlm_vqa import oracle
from test_vlm_vqa_cli import hc18  # noqa: F401  (fixture)


def _with_truncated_target(manifest, folder):
    """``manifest`` with a first case whose target, ``trunc_HC.png`` beside the new manifest in ``folder`` and named
    as the manifest's folder (the working one), is 001_HC.png cut to half its bytes, then its own cases."""
    lines = manifest.read_text().splitlines()
    original = lines[1].split(",")[3]
    data = open(original, "rb").read()
    (folder / "trunc_HC.png").write_bytes(data[: len(data) // 2])
    bad = lines[1].replace(original, "trunc_HC.png")
    out = folder / "manifest.csv"
    out.write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n")
    return out


def test_vqa_warns_of_vlm_timeout_with_a_local_model_as_engine_mode_does(hc18, tiny_qwen, tmp_path, capsys, monkeypatch):  # noqa: F811
    """Before: --vqa said nothing of --vlm-timeout with a local --vlm-model; --engine vlm-box warned that it is ignored."""
    monkeypatch.chdir(tmp_path)
    manifest = _with_truncated_target(hc18[0], tmp_path)
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:2]) + "\n")  # the failing case alone: nothing is asked of the model
    assert main(["evaluate", str(manifest), "--vqa", "--vlm-model", str(tiny_qwen), "--vlm-timeout", "5", "--device", "cpu"]) == 1
    assert ("warning: --vlm-timeout is ignored: it applies only to --vlm-server; a local model has no time limit"
            in capsys.readouterr().err)


def test_a_failed_pair_is_named_once_and_has_status_error(hc18, tmp_path, capsys, monkeypatch):  # noqa: F811
    """Before: "failed: trunc_HC.png: trunc_HC.png: not a readable image ..." (engine mode names it once) and an empty
    status in its CSV row (engine mode's failed case has status error)."""
    manifest, target, truth = hc18
    monkeypatch.chdir(tmp_path)
    manifest = _with_truncated_target(manifest, tmp_path)
    out = tmp_path / "vqa.json"
    with ChatServer(oracle(truth, target)) as server:  # the manifest named as in its folder: its paths are too
        assert main(["evaluate", manifest.name, "--vqa", "--vlm-server", server.url, "--json", str(out)]) == 1
    said = "failed: trunc_HC.png: not a readable image (image file is truncated)\n"
    assert said in capsys.readouterr().err
    assert main(["evaluate", manifest.name, "--limit", "1"]) == 1  # engine mode says it so
    assert said in capsys.readouterr().err
    [failed] = [record for record in json.loads(out.read_text())["records"] if record["task"] == "error"]
    assert failed["status"] == "error"
    with open(out.with_suffix(".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows if row["task"] == "error"] == ["error"]
    assert all(row["status"] != "error" for row in rows if row["task"] != "error")


def test_a_pair_failing_with_a_bug_is_reported_and_the_others_are_scored(hc18, tmp_path, capsys, monkeypatch):  # noqa: F811
    """Before: a failure other than bad input in one pair (a bug) ended the whole run with no JSON; now, as in engine
    mode, that pair fails with ``internal error (...)`` and the others are asked. No real input is known to raise such
    a failure, so one is injected where the pair's pictures are drawn."""
    import rau.evaluation.vqa as vqa

    manifest, target, truth = hc18
    drawn = vqa.render_overlay
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("division by zero")
        return drawn(*args, **kwargs)

    monkeypatch.setattr(vqa, "render_overlay", failing_once)
    out = tmp_path / "vqa.json"
    with ChatServer(oracle(truth, target)) as server:
        assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--json", str(out)]) == 1
    records = json.loads(out.read_text())["records"]
    [failed] = [record for record in records if record["task"] == "error"]
    assert failed["error"] == "internal error (ZeroDivisionError: division by zero)" and failed["status"] == "error"
    assert {record["task"] for record in records if record["reference"] != failed["reference"]} >= {"presence", "box"}
    assert "failed: 001_HC.png with 000_HC.png: internal error (ZeroDivisionError: division by zero)" in capsys.readouterr().err
