"""What a VLM server's reply holds beyond the plain answer, through ``rau segment --engine vlm-box`` and
``rau evaluate --vqa`` on HC18 with a loopback server: a reasoning model's thinking, an answer cut short by the token
limit, an API key echoed as the model's name, and how many tokens an answer is given."""

import json

import pytest
from tokenizers import Regex, pre_tokenizers

from chat_server import ChatServer
from rau.cli import main
from rau.io.label_tables import read_label_table
from rau.vlm.families import QWEN2_5_VL, QWEN3_VL
from rau.vlm.prompts import localization_answer
from test_vlm_engine import _hc18

QWEN_PRETOKENS = pre_tokenizers.Split(Regex(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"), behavior="isolated")
"""Qwen2/2.5/3-VL's pre-tokenizer: each piece is one token at least, and each digit a piece of its own."""


def _fewest_tokens(text: str) -> int:
    """A lower bound of the tokens a Qwen-VL tokenizer makes of ``text``."""
    return len(QWEN_PRETOKENS.pre_tokenize_str(text))


def _head_table(tmp_path):
    """A label table naming HC18's mask value 255 "fetal head"."""
    table = tmp_path / "head.labels.csv"
    table.write_text("value,name,r,g,b\n255,fetal head,0.9,0.7,0.2\n")
    return table


def _segment(shared_data, tmp_path, reply, model="Qwen/Qwen2.5-VL-7B-Instruct"):
    """``rau segment --engine vlm-box`` of HC18 target 001 (reference 000) against a server giving ``reply`` (text or a
    whole reply); the exit code, the result JSON, the server."""
    image, labels, spacing = _hc18(shared_data, 0)
    target, _, target_spacing = _hc18(shared_data, 1)
    out, table = tmp_path / "out" / "target.nii.gz", _head_table(tmp_path)
    with ChatServer(lambda body: reply) as server:
        code = main(["segment", "--engine", "vlm-box", "--vlm-server", server.url, "--vlm-model", model, "--label-table", str(table),
                     "--reference", str(image), "--reference-labels", str(labels), "--reference-spacing", str(spacing),
                     "--target", str(target), "--target-spacing", str(target_spacing), "--out", str(out)])
    result = json.loads(out.with_name("target.result.json").read_text()) if code == 0 else None
    return code, result, server


def test_a_reasoning_models_thinking_is_not_read_as_its_answer(shared_data, tmp_path, capsys):
    """Before, the object quoted while thinking was taken as the answer and the real one dropped as a repeat: the fetal
    head was "not found (absent according to vlm)"."""
    reply = ('<think>The reference shows {"label": "fetal head"} outlined. I think the head is at [1, 2, 3, 4]... Let me '
             'answer.</think>\n[{"label": "fetal head", "present": true, "bbox_2d": [203, 133, 609, 399]}]')
    code, result, _ = _segment(shared_data, tmp_path, reply, "Qwen/Qwen3-VL-8B-Thinking")
    assert code == 0, capsys.readouterr().err
    head = result["structures"][0]
    assert head["found"] and head["prompts"]["vlm"]["model_box"] == [203, 133, 609, 399]
    assert head["prompts"]["vlm"]["issues"] == [] and head["confidence"] == 1.0  # thinking is no slip to repair


@pytest.mark.parametrize("reply, present, issues", [
    ('Looking at {"label": "fetal head", "present": false}...</think>\n[{"label": "fetal head", "present": true, "bbox_2d": [1, 1, 9, 9]}]', True, []),
    ('<think>It is {"label": "fetal head", "present": true, "bbox_2d": [1, 1, 9, 9]}, or is it', None,
     ["missing from the answer", "cut off while thinking (<think> never closed); no answer", "no JSON in the answer"]),
    # before: the issue "cut off while thinking ...; no answer" though the answer was read
    ('[{"label": "fetal head", "present": true, "bbox_2d": [1, 1, 9, 9]}]\n<think>Let me double-check', True, []),
    # before: the tags in another case were kept, and the thought's JSON read as the answer (present False)
    ('<Think>hmm {"label": "fetal head", "present": false}</Think>[{"label": "fetal head", "present": true, "bbox_2d": [1, 1, 9, 9]}]', True, []),
])
def test_thinking_opened_by_the_chat_template_or_cut_off_is_left_out_too(reply, present, issues):
    from rau.vlm.answers import parse_localization

    answer = parse_localization(reply, ["fetal head"], (1000, 1000))["fetal head"]
    assert answer.present is present and answer.issues == issues


def test_an_answer_cut_at_the_token_limit_is_warned_of_naming_the_structures_left_unanswered(shared_data, tmp_path, capsys):
    """Before, the head was "not found (no usable answer from vlm)" without a word of the cut (finish_reason was never read)."""
    cut = {"choices": [{"finish_reason": "length", "message": {"content": '[{"label": "fetal head", "pres'}}]}
    code, result, server = _segment(shared_data, tmp_path, cut)
    assert code == 0
    budget = server.requests[0]["body"]["max_tokens"]
    warning = f"the VLM's answer was cut at {budget} tokens (its limit) before it ended; no answer for fetal head"
    assert warning in result["warnings"] and f"warning: {warning}" in capsys.readouterr().err
    assert not result["structures"][0]["found"]


def test_an_answer_ended_by_the_model_is_not_warned_of(shared_data, tmp_path, capsys):
    ended = {"choices": [{"finish_reason": "stop", "message": {"content": '[{"label": "fetal head", "present": false}]'}}]}
    code, result, _ = _segment(shared_data, tmp_path, ended)
    assert code == 0 and not any("cut at" in warning for warning in result.get("warnings", []))
    assert "cut at" not in capsys.readouterr().err


def test_the_answer_budget_holds_the_longest_answer_for_arcades_25_segments(shared_data):
    """Before: 40 tokens a structure + 16, 1016 for ARCADE's 25 SYNTAX segments, whose answer takes 1035 at least
    (digits are one token each), and 40 for S10a_second_diagonal_a, whose entry takes 43."""
    from rau.vlm.localizer import answer_token_budget

    names = read_label_table(shared_data / "arcade_syntax_dev" / "labels.csv").names
    assert len(names) == 25
    for family in (QWEN2_5_VL, QWEN3_VL):
        bounds = family.bounds(family.model_size(512, 512))
        longest = localization_answer({name: [max(bounds)] * 4 for name in names})
        assert answer_token_budget(names, bounds) >= max(1035, _fewest_tokens(longest))
        for name in names:
            entry = localization_answer({name: [max(bounds)] * 4})
            assert answer_token_budget([name], bounds) >= _fewest_tokens(entry)
        assert answer_token_budget(["S10a_second_diagonal_a"], bounds) >= 43


def test_the_request_asks_for_the_budget_of_its_structures(shared_data, tmp_path):
    from rau.vlm.localizer import answer_token_budget

    _, _, server = _segment(shared_data, tmp_path, '[{"label": "fetal head", "present": false}]')
    bounds = QWEN2_5_VL.bounds(QWEN2_5_VL.model_size(800, 540))
    assert server.requests[0]["body"]["max_tokens"] == answer_token_budget(["fetal head"], bounds)


def _hc18_manifest(shared_data, tmp_path, label_table=""):
    """A ``rau evaluate`` manifest of one HC18 pair (reference 000, target 001), naming ``label_table`` if given."""
    folder = shared_data / "hc18_fetal_head_us"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing,label_table\n"
                         f"{folder}/images/000_HC.png,{folder}/masks/000_HC_mask.png,0.15,"
                         f"{folder}/images/001_HC.png,{folder}/masks/001_HC_mask.png,0.15,{label_table}\n")
    return manifest


@pytest.mark.parametrize("reply, answer", [
    ("The fetal head is visible with no abnormality", None),  # before: False, "no" read as its absence
    ("The fetal head is visible.", True),
])
def test_vqa_reads_a_presence_sentence_only_when_it_is_plain(shared_data, tmp_path, reply, answer):
    with ChatServer(lambda body: reply) as server:
        assert main(["evaluate", str(_hc18_manifest(shared_data, tmp_path, _head_table(tmp_path))), "--vqa", "--vlm-server", server.url,
                     "--json", str(tmp_path / "vqa.json")]) == 0
    presence = [r for r in json.loads((tmp_path / "vqa.json").read_text())["records"] if r["task"] == "presence"]
    assert [(r["structure"], r["answer"], r["correct"]) for r in presence] == [("fetal head", answer, answer is True)]


def test_an_api_key_a_server_answers_as_its_model_name_is_not_written_to_the_vqa_json(shared_data, tmp_path, monkeypatch, capsys):
    """Before, ``vlm_server_model`` held the key as the server sent it, though the printed warning left it out."""
    key = 's3cr"et\\/Key'
    monkeypatch.setenv("RAU_VLM_API_KEY", key)
    manifest = _hc18_manifest(shared_data, tmp_path)

    def echo(body):
        return {"model": server.requests[-1]["headers"]["Authorization"][len("Bearer "):], "choices": [{"message": {"content": "no"}}]}

    with ChatServer(echo) as server:
        assert main(["evaluate", str(manifest), "--vqa", "--vlm-server", server.url, "--json", str(tmp_path / "vqa.json")]) == 0
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {key}"
    text = (tmp_path / "vqa.json").read_text()
    assert json.loads(text)["vlm_server_model"] == "<RAU_VLM_API_KEY>"
    for form in (key, json.dumps(key)[1:-1], "s3cr", "et\\/Key", "et\\\\/Key"):
        assert form not in text and form not in (tmp_path / "vqa.csv").read_text()
    assert "s3cr" not in capsys.readouterr().err


def test_an_entry_cut_in_its_last_number_is_no_answer(shared_data, tmp_path, capsys):
    """Before, the cut-off ``2`` of ``266]`` was read as y2: the head "found, confidence 0.25" with the box (100, 2, 406,
    50), a thin strip at the top of the image, said only by the general warning of the cut."""
    from rau.vlm.answers import CUT_OFF_WHILE_ANSWERING

    text = '```json\n[{"label": "fetal head", "present": true, "bbox_2d": [100, 50, 406, 2'
    code, result, server = _segment(shared_data, tmp_path, {"choices": [{"finish_reason": "length", "message": {"content": text}}]})
    assert code == 0, capsys.readouterr().err
    head = result["structures"][0]
    assert not head["found"] and head["box"] is None and head["confidence"] == 0.0
    assert head["prompts"]["vlm"]["model_box"] is None and CUT_OFF_WHILE_ANSWERING in head["prompts"]["vlm"]["issues"]
    budget = server.requests[0]["body"]["max_tokens"]
    assert f"the VLM's answer was cut at {budget} tokens (its limit) before it ended; no answer for fetal head" in result["warnings"]


@pytest.mark.parametrize("text", [
    '[{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]}, {"label": "spleen", "present": true, "bbox_2d": [100, 50, 406, 2',
    '[{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]}, {"label": "spleen", "present": true, "bbox_2d": [100, 50, 4',
    '[{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]}, {"label": "spleen", "present": true, "bbox_2d": [100, 50, 406, 266]',
    '{"liver": {"present": true, "bbox_2d": [10, 20, 50, 60]}, "spleen": {"present": true, "bbox_2d": {"x1": 100, "y1": 5',
    '{"structures": [{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]}, {"label": "spleen", "present": true',
])
def test_a_cut_answer_keeps_its_finished_entries_and_drops_the_one_it_was_writing(text):
    """Before, the entry being written was closed and read: spleen present with the box (100, 2, 406, 50) (``2`` cut
    from ``266``), or present with a box or none that its unwritten rest might have changed."""
    from rau.vlm.answers import CUT_OFF_WHILE_ANSWERING, parse_localization

    answers = parse_localization(text, ["liver", "spleen"], (812, 532), cut_short=True)
    assert answers["liver"].present is True and answers["liver"].box == (10.0, 20.0, 50.0, 60.0)
    assert answers["spleen"].present is None and answers["spleen"].box is None
    assert answers["spleen"].issues[0] == CUT_OFF_WHILE_ANSWERING and answers["spleen"].confidence == 0.0


def test_an_answer_the_model_ended_without_its_closing_brackets_is_still_read():
    """Not cut at the token limit (the model ended it), a missing ``]}`` is a slip to repair, as before."""
    from rau.vlm.answers import parse_localization

    answer = parse_localization('[{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]', ["liver"], (812, 532))["liver"]
    assert answer.present is True and answer.box == (10.0, 20.0, 50.0, 60.0) and answer.issues == ["answer needed JSON repairs"]
