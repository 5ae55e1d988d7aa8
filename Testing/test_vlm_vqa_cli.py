"""``rau evaluate MANIFEST --vqa``: presence, identity and box scores of a model server, from the command line."""

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest

from chat_server import ChatServer
from rau.cli import main
from rau.io import read_image
from rau.references import load_reference
from test_cli_text_encodings import FullDiskConsole
from test_vlm_vqa import oracle


def _hc18_case(folder, number: str) -> tuple[Path, Path]:
    """The image and mask of HC18 case ``number`` (e.g. ``"001"``)."""
    return folder / f"images/{number}_HC.png", folder / f"masks/{number}_HC_mask.png"


@pytest.fixture(scope="module")
def hc18(shared_data, tmp_path_factory):
    """A manifest of two HC18 pairs sharing target 001 (references 000 and 002), and that target with its truth."""
    folder = shared_data / "hc18_fetal_head_us"
    spacing = {row.split(",")[0][:3]: row.split(",")[1] for row in (folder / "pixel_size_and_HC.csv").read_text().splitlines()[1:]}
    target_image, target_labels = _hc18_case(folder, "001")
    lines = ["reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing"]
    for number in ("000", "002"):
        reference_image, reference_labels = _hc18_case(folder, number)
        lines.append(f"{reference_image},{reference_labels},{spacing[number]},{target_image},{target_labels},{spacing['001']}")
    manifest = tmp_path_factory.mktemp("vqa") / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    truth = load_reference(target_image, target_labels, float(spacing["001"])).segmentation
    return manifest, read_image(target_image, float(spacing["001"])), truth


def _evaluate(manifest, answer, out):
    """Run ``rau evaluate --vqa`` against a loopback server answering ``answer``; the exit code and the server."""
    with ChatServer(answer) as server:
        code = main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--json", str(out)])
    return code, server


def test_vqa_warns_of_the_engine_options_it_does_not_use(hc18, capsys):
    """Before: --vqa took engine options it does not read (--top-k, --slice-margin) without a word."""
    manifest, target, truth = hc18
    with ChatServer(oracle(truth, target)) as server:
        assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--top-k", "2", "--slice-margin", "5"]) == 0
    error = capsys.readouterr().err
    assert all(f"warning: {option} is ignored: --vqa does not use it" in error for option in ("--top-k", "--slice-margin"))


def test_vqa_warns_of_an_engine_it_does_not_use(hc18, capsys):
    """Before: ``--vqa --engine vessels`` took the engine without a word, as --engine had a default."""
    manifest, target, truth = hc18
    with ChatServer(oracle(truth, target)) as server:
        assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--engine", "vessels"]) == 0
    assert "warning: --engine is ignored: --vqa does not use it" in capsys.readouterr().err


def test_vqa_without_vlm_model_asks_the_default_model_its_help_shows(hc18, tmp_path, capsys, monkeypatch):
    """Before: refused ("name it with --vlm-model") while --help showed --vlm-model's default; now that default is
    used, as in engine mode (offline and not in --model-cache, it is refused naming it)."""
    from rau.options import DEFAULTS

    manifest, _, _ = hc18
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["evaluate", str(manifest), "--vqa", "--model-cache", str(tmp_path / "cache")]) == 2
    error = capsys.readouterr().err
    assert f"rau evaluate: error: --vlm-model {DEFAULTS.vlm_model}: model '{DEFAULTS.vlm_model}' is not available: offline mode" in error


def test_perfect_answers_score_one_and_are_written_as_json_and_csv(hc18, tmp_path, capsys):
    manifest, target, truth = hc18
    code, server = _evaluate(manifest, oracle(truth, target), tmp_path / "vqa.json")
    assert code == 0
    assert len(server.requests) == 6  # two pairs: presence, identity, localization each
    summary = json.loads((tmp_path / "vqa.json").read_text())["summary"]
    assert summary["presence_accuracy"] == 1.0 and summary["identity_accuracy"] == 1.0
    assert summary["mean_box_iou"] > 0.97 and summary["box_hit_rate"] == 1.0
    assert summary["presence_questions"] == summary["identity_questions"] == summary["boxes"] == 2
    rows = list(csv.DictReader(open(tmp_path / "vqa.csv", encoding="utf-8")))
    assert {(r["reference"], r["task"]) for r in rows} == {(f"{n}_HC.png", t) for n in ("000", "002") for t in ("presence", "identity", "box")}
    assert all(r["target"] == "001_HC.png" for r in rows)
    printed = capsys.readouterr().out
    assert "presence" in printed and "1.000" in printed and "hit rate 1.000" in printed


def test_vqa_writes_its_results_before_printing_the_table(hc18, tmp_path, capsys, monkeypatch):
    """A table that cannot be printed loses no computed result. Before: the table first, then the JSON (none)."""
    manifest, target, truth = hc18
    monkeypatch.setattr(sys, "stdout", FullDiskConsole())
    code, _ = _evaluate(manifest, oracle(truth, target), tmp_path / "vqa.json")
    assert code == 70 and "No space left on device" in capsys.readouterr().err
    assert json.loads((tmp_path / "vqa.json").read_text())["summary"]["presence_accuracy"] == 1.0
    assert (tmp_path / "vqa.csv").is_file()


def test_the_default_model_is_recorded_and_clicks_are_refused(hc18, tmp_path, capsys):
    """Before: the JSON recorded "vlm_model": null for the default model it asked; --clicks was ignored without a word."""
    manifest, target, truth = hc18
    _evaluate(manifest, oracle(truth, target), tmp_path / "vqa.json")
    assert json.loads((tmp_path / "vqa.json").read_text())["vlm_model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", "http://127.0.0.1:9", "--clicks", "3"]) == 2
    assert "--clicks simulates corrections of an engine's result; --vqa only asks the VLM questions" in capsys.readouterr().err


def test_a_server_answering_as_another_model_is_warned_of_once_and_recorded(hc18, tmp_path, capsys):
    """Before: its boxes were read in the asked model's convention without a word, and the JSON named only that model."""
    manifest, target, truth = hc18
    answers = oracle(truth, target)
    with ChatServer(lambda body: {"model": "some/other-model", "choices": [{"message": {"content": answers(body)}}]}) as server:
        assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--json", str(tmp_path / "vqa.json")]) == 0
    document = json.loads((tmp_path / "vqa.json").read_text())
    assert (document["vlm_model"], document["vlm_server_model"]) == ("Qwen/Qwen2.5-VL-7B-Instruct", "some/other-model")
    error = capsys.readouterr().err
    assert error.count(f"warning: VLM server {server.url}/v1/chat/completions answered as model 'some/other-model', not "
                       "'Qwen/Qwen2.5-VL-7B-Instruct' as asked; its boxes were read in the qwen2.5-vl convention") == 1


def test_garbage_answers_score_zero(hc18, tmp_path):
    manifest, _, _ = hc18
    code, _ = _evaluate(manifest, lambda body: "banana", tmp_path / "vqa.json")
    summary = json.loads((tmp_path / "vqa.json").read_text())["summary"]
    assert code == 0
    assert summary["presence_accuracy"] == 0.0 and summary["identity_accuracy"] == 0.0
    assert summary["mean_box_iou"] == 0.0 and summary["box_hit_rate"] == 0.0


def test_a_pair_that_cannot_be_asked_is_reported_failed_and_the_others_are_scored(hc18, shared_data, tmp_path, capsys):
    """Before: a 3D reference for a 2D target ended the whole run with an internal error and no JSON."""
    manifest, target, truth = hc18
    ct = shared_data / "totalseg_test_fixtures/subjA_ct"
    lines = manifest.read_text().splitlines()
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("\n".join([*lines, f"{ct / 'image.nii.gz'},{ct / 'labels_totalseg.nii.gz'},,{lines[1].split(',', 3)[3]}"]) + "\n")
    code, _ = _evaluate(mixed, oracle(truth, target), tmp_path / "vqa.json")
    assert code == 1
    document = json.loads((tmp_path / "vqa.json").read_text())
    failed = [record for record in document["records"] if record["task"] == "error"]
    assert len(failed) == 1 and "is 3D but the target '001_HC.png' is 2D" in failed[0]["error"] and document["summary"]["failed_pairs"] == 1
    assert document["summary"]["presence_questions"] == 2  # the two good pairs were asked
    assert f"failed: 001_HC.png with image.nii.gz: reference '{ct / 'image.nii.gz'}' is 3D" in capsys.readouterr().err


def test_the_truth_meets_the_reference_as_in_engine_mode(shared_data, tmp_path, capsys):
    """Before: a truth naming the reference's structure otherwise was scored (every presence truth False) and one without
    a label table was matched by value without a word; engine mode fails the first case and warns of the second."""
    folder = shared_data / "hc18_fetal_head_us"
    for number in ("000", "001", "002"):
        for image in _hc18_case(folder, number):
            shutil.copy(image, tmp_path)
    (tmp_path / "000_HC_mask.labels.csv").write_text("value,name\n255,blob\n")
    (tmp_path / "001_HC_mask.labels.csv").write_text("value,name\n255,other\n")  # 002's truth has no table
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("reference_image,reference_labels,target_image,target_labels\n"
                        + "".join(f"000_HC.png,000_HC_mask.png,{n}_HC.png,{n}_HC_mask.png\n" for n in ("001", "002")))
    code, _ = _evaluate(manifest, lambda body: "banana", tmp_path / "vqa.json")
    assert code == 1
    document = json.loads((tmp_path / "vqa.json").read_text())
    [failed] = [record for record in document["records"] if record["task"] == "error"]
    assert failed["target"] == "001_HC.png"
    assert failed["error"] == "no structure of the truth ('other') is one of the reference's ('blob'); check the names or label tables"
    assert {record["target"] for record in document["records"] if record["task"] == "presence"} == {"002_HC.png"}
    [warning] = document["warnings"]
    assert (warning["target"], warning["reference"]) == ("002_HC.png", "000_HC.png") and "matched by label value" in warning["warning"]
    assert "warning: 002_HC.png with 000_HC.png: the reference's structures have names but the truth's do not" in capsys.readouterr().err


def test_model_and_device_errors_name_their_option_as_rau_segment_does(hc18, tmp_path, capsys):
    """Before: "error: .../llama: model_type 'llama' is not a vision-language model" and "error: device 'cuda:99' was
    requested ...", without the option that gave them."""
    manifest, _, _ = hc18
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text('{"model_type": "llama"}')
    assert main(["evaluate", str(manifest), "--vqa", "--vlm-model", str(tmp_path / "llama")]) == 2
    assert f"error: --vlm-model {tmp_path / 'llama'}: " in capsys.readouterr().err
    assert main(["evaluate", str(manifest), "--vqa", "--vlm-model", str(tmp_path / "llama"), "--device", "cuda:99"]) == 2
    assert "error: --device cuda:99: device " in capsys.readouterr().err


def test_an_interrupted_run_writes_the_cases_it_finished(hc18, tmp_path, monkeypatch, capsys):
    """Before: SIGTERM (or Ctrl-C) during rau evaluate --vqa --json wrote nothing; engine mode writes the cases
    finished, marked interrupted, and those never reached as not_run."""
    from rau.commands import evaluate as evaluate_command
    from rau.errors import Terminated

    manifest, target, truth = hc18

    def terminated_after_the_first_case(items, description, total=None):  # SIGTERM as soon as one case has finished
        yield next(iter(items))
        raise Terminated()

    header, first, *_ = manifest.read_text().splitlines()
    (tmp_path / "two.csv").write_text("\n".join([header, first, first.replace("001_HC", "002_HC")]) + "\n")  # two targets
    monkeypatch.setattr(evaluate_command, "_progress", terminated_after_the_first_case)
    code, _ = _evaluate(tmp_path / "two.csv", oracle(truth, target), tmp_path / "vqa.json")
    assert code == 143
    document = json.loads((tmp_path / "vqa.json").read_text())
    assert document["interrupted"] and document["summary"]["presence_questions"] == 1
    assert [(r["target"], r["task"]) for r in document["records"]] == [
        ("001_HC.png", "presence"), ("001_HC.png", "identity"), ("001_HC.png", "box"), ("002_HC.png", "not_run")]
    assert "interrupted before this case" in document["records"][-1]["error"]
    rows = list(csv.DictReader(open(tmp_path / "vqa.csv", encoding="utf-8")))
    assert [r["task"] for r in rows] == ["presence", "identity", "box", "not_run"]
    assert "interrupted after 1 of 2 cases; " in capsys.readouterr().err


def test_presence_and_identity_answers_cut_at_their_token_limit_are_warned_of(hc18, tmp_path, capsys):
    """Before: cut at 32 tokens (finish_reason "length"), each was scored wrong without a word, though a cut box answer
    is warned of."""
    from rau.evaluation.vqa import ANSWER_TOKENS

    manifest, target, truth = hc18
    answers = oracle(truth, target)

    def cut_short(body):
        question = body["messages"][1]["content"][-1]["text"]
        if question.startswith(("Is the reference structure", "Which reference structure")):
            return {"choices": [{"finish_reason": "length", "message": {"content": '```json\n{\n    "label": "label_2'}}]}
        return answers(body)

    code, server = _evaluate(manifest, cut_short, tmp_path / "vqa.json")
    assert code == 0
    assert {request["body"]["max_tokens"] for request in server.requests[:2]} == {ANSWER_TOKENS}
    warning = f"the VLM's answer was cut at {ANSWER_TOKENS} tokens (its limit) before it ended; no answer for {truth.labels.names[0]}"
    document = json.loads((tmp_path / "vqa.json").read_text())
    said = [w for w in document["warnings"] if w["warning"] == warning]
    assert [w["reference"] for w in said] == ["000_HC.png", "000_HC.png", "002_HC.png", "002_HC.png"]  # presence, identity
    assert capsys.readouterr().err.count(f"warning: {warning}") == 4
    assert document["summary"]["presence_accuracy"] == 0.0 and document["summary"]["identity_accuracy"] == 0.0
