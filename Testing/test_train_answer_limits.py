"""Training reads answers cut at their token limit as inference does, and gives them inference's token limit."""

from __future__ import annotations

import json

from rau.vlm.backend import Backend, Reply
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.localizer import answer_token_budget

BOUNDS = [100, 80]
TRUTH = json.dumps({"boxes": {"liver": [10, 10, 30, 30]}})
CUT = '[{"label": "liver", "present": true, "bbox_2d": [10, 10, 30, 30]'
"""An answer cut while writing its only entry, after its whole box: inference reads no answer from it when cut_short,
the box when not (a box itself left open is no answer either way: its last number may be cut short)."""
END = 7
NOT_DECODED = None
"""The tokenizer's decode, for rewards whose completions are none longer than their limit (none is cut again)."""


def scored(name, ids, limit=4):
    from rau.train.rewards import limited_rewards

    (reward,) = limited_rewards([name], limit, {END}, NOT_DECODED)
    completion = [{"role": "assistant", "content": CUT}]
    return reward(prompts=None, completions=[completion], completion_ids=[ids], task=["box"], truth=[TRUTH],
                  legend=[["liver"]], bounds=[BOUNDS])[0]


def test_a_completion_cut_at_the_limit_is_read_as_inference_reads_it():
    """Before: the rewards read every completion as whole: the half-written box scored IoU 1 and format 0.5."""
    assert scored("box_iou", [1, 2, 3, 4]) == 0.0  # as many tokens as the limit, the last no end token: cut
    assert scored("format", [1, 2, 3, 4]) == 0.0
    assert scored("correctness", [1, 2, 3, 4]) == 0.0
    assert scored("box_iou", [1, 2, 3, END]) == 1.0  # the model ended it there: read (and repaired) as a whole answer
    assert scored("format", [1, 2, 3, END]) == 0.5
    assert scored("box_iou", [1, 2]) == 1.0  # shorter than the limit: not cut


def test_limited_rewards_keep_their_names_in_trl_s_log():
    from rau.train.rewards import limited_rewards

    names = [f.__name__ for f in limited_rewards(["format", "correctness", "box_iou"], 4, {END}, NOT_DECODED)]
    assert names == ["format_reward", "correctness_reward", "box_iou_reward"]


class _Recorder(Backend):
    family = QWEN2_5_VL

    def __init__(self, text, cut_short):
        self.text, self.cut_short, self.limits = text, cut_short, []

    def generate(self, messages, max_new_tokens):
        self.limits.append(max_new_tokens)
        return Reply(self.text, cut_short=self.cut_short)


def _records():
    prompt = [{"role": "user", "content": [{"type": "text", "text": "where?"}]}]
    names = ["liver", "spleen", "left kidney"]
    return [{"task": "box", "truth": {"boxes": {n: [10, 10, 30, 30] for n in names}}, "legend": names, "bounds": BOUNDS,
             "prompt": prompt, "images": []},
            {"task": "presence", "truth": {"label": "liver", "present": True}, "legend": ["liver"], "bounds": BOUNDS,
             "prompt": prompt, "images": []}]


def test_held_out_answers_get_inference_s_token_limits():
    """Before: every held-out answer got 256 tokens, fewer than inference gives an answer about many structures."""
    from rau.evaluation.vqa import ANSWER_TOKENS
    from rau.train.evaluation import evaluate

    backend = _Recorder(CUT, False)
    evaluate(backend, None, _records())
    assert backend.limits == [answer_token_budget(["liver", "spleen", "left kidney"], tuple(BOUNDS)), ANSWER_TOKENS]


def test_a_held_out_answer_cut_short_is_read_as_inference_reads_it():
    """Before: Reply.cut_short was dropped, and the half-written box counted as an answer."""
    from rau.train.evaluation import evaluate

    record = _records()[:1]
    record[0]["truth"] = json.loads(TRUTH)
    assert evaluate(_Recorder(CUT, False), None, record)["mean_box_iou"] == 1.0
    assert evaluate(_Recorder(CUT, True), None, record)["mean_box_iou"] == 0.0


def test_grpo_completions_default_to_the_longest_answer_s_budget():
    """Before: 256 tokens whatever the data: answers about 10 CT structures were all clipped."""
    from rau.train.grpo import GRPOSettings, completion_limit

    names = [f"structure_{i}" for i in range(12)]
    columns = {"task": ["presence", "box", "box"], "bounds": [BOUNDS, BOUNDS, [500, 400]],
               "truth": [json.dumps({"label": "a", "present": True}), json.dumps({"boxes": {n: None for n in names}}),
                         json.dumps({"boxes": {"a": None}})]}
    assert GRPOSettings().max_completion_length is None
    assert completion_limit(columns) == answer_token_budget(names, tuple(BOUNDS)) > 256


def test_a_presence_or_identity_completion_cut_at_the_limit_is_read_as_inference_reads_it():
    """Before: presence and identity rewards read a cut completion as whole: ``{"label": 1`` of 12 scored as tag 1."""
    from rau.train.rewards import limited_rewards

    (reward,) = limited_rewards(["correctness"], 4, {END}, NOT_DECODED)
    legend = [f"structure {n}" for n in range(1, 13)]
    for ids, expected in (([1, 2, 3, 4], 0.0), ([1, 2, 3, END], 1.0)):
        rows = {"task": ["presence", "identity"], "legend": [legend, legend], "bounds": [BOUNDS, BOUNDS],
                "truth": [json.dumps({"label": "structure 1", "present": True}), json.dumps({"label": "structure 1"})]}
        completions = [[{"role": "assistant", "content": '{"present": true'}], [{"role": "assistant", "content": '{"label": 1'}]]
        assert reward(prompts=None, completions=completions, completion_ids=[ids, ids], **rows) == [expected, expected]


def test_a_completion_ending_on_the_tokenizer_s_end_token_is_whole():
    """TRL stops a completion on the tokenizer's end token as well as the generation config's. Before: only the latter
    counted, so a completion ending on the tokenizer's at the limit was read as cut (box IoU 0)."""
    from types import SimpleNamespace

    from rau.train.rewards import limited_rewards
    from rau.vlm.local import end_tokens

    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[END]))
    processor = SimpleNamespace(tokenizer=SimpleNamespace(eos_token_id=9))
    assert end_tokens(model, processor) == {END, 9}
    (reward,) = limited_rewards(["box_iou"], 4, end_tokens(model, processor), NOT_DECODED)
    completion = [{"role": "assistant", "content": CUT}]
    assert reward(prompts=None, completions=[completion], completion_ids=[[1, 2, 3, 9]], task=["box"], truth=[TRUTH],
                  legend=[["liver"]], bounds=[BOUNDS]) == [1.0]


def test_a_presence_completion_is_read_within_its_own_limit_not_the_longest(tiny_qwen):
    """GRPO generates up to the longest limit of the split (a box question's), but inference gives a presence answer
    ANSWER_TOKENS (32): what it reads is the first 32 tokens, cut. Before: the rewards read all 61 or 63 tokens,
    so an answer inference would have cut mid-entry scored as right."""
    from transformers import AutoTokenizer

    from rau.train.rewards import limited_rewards

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen)
    (reward,) = limited_rewards(["correctness"], 182, {END}, lambda ids: tokenizer.decode(ids, skip_special_tokens=True))
    answered_then_prose = '{"label": "liver", "present": true} The liver is the large organ in the upper right of the abdomen, seen here in full.'
    cut_mid_entry = '{"label": "liver", "notes": "the large organ in the upper right of the abdomen, seen here in full", "present": true}'
    texts = [answered_then_prose, cut_mid_entry]
    ids = [tokenizer(text)["input_ids"] for text in texts]
    assert [len(i) > 32 for i in ids] == [True, True]
    rows = {"task": ["presence"] * 2, "legend": [["liver"]] * 2, "bounds": [BOUNDS] * 2,
            "truth": [json.dumps({"label": "liver", "present": True})] * 2}
    assert reward(prompts=None, completions=texts, completion_ids=ids, **rows) == [1.0, 0.0]
