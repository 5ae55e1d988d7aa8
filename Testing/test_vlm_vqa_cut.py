"""VQA evaluation of presence and identity answers cut at their token limit."""

from chat_server import ChatServer
from rau.evaluation.vqa import evaluate_pair, summarize
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.server import ServerBackend
from test_vlm_vqa import oracle, pair  # noqa: F401 (pair: a fixture)


def test_presence_and_identity_answers_whose_value_runs_to_the_cut_count_as_wrong(pair, capsys):  # noqa: F811
    """Before, ``{"present": true`` and ``{"label": 1`` (maybe 12 unfinished) cut at the token limit were read and
    scored right; only a warning said they were cut."""
    reference, target, truth = pair
    answers = oracle(truth, target)

    def cut(body):
        question = body["messages"][1]["content"][-1]["text"]
        if question.startswith("Is the reference structure"):
            return {"choices": [{"finish_reason": "length", "message": {"content": '{"present": true'}}]}
        if question.startswith("Which reference structure"):
            return {"choices": [{"finish_reason": "length", "message": {"content": '{"label": 1'}}]}
        return answers(body)

    with ChatServer(cut) as server:
        summary = summarize(evaluate_pair(ServerBackend(server.url, "m", QWEN2_5_VL), reference, target, truth))
    assert summary["presence_accuracy"] == 0.0 and summary["identity_accuracy"] == 0.0
    assert capsys.readouterr().err.count(f"no answer for {truth.labels.names[0]}") == 2
