"""Answers cut at the token limit: what was finished before the cut is read, what was being written is no answer."""

import pytest

from rau.vlm.answers import CUT_OFF_WHILE_ANSWERING, ENDED_BEFORE_ANSWER, parse_identity, parse_localization, parse_presence

_FULL = '[{"label": "liver", "bbox_2d": [1, 2, 300, 400]}, {"label": "spleen", "bbox_2d": [100, 50, 406, 266]}]'
_SPLEEN = _FULL.index('{"label": "spleen"')


@pytest.mark.parametrize("fence", ["", "```json\n"])
def test_a_cut_anywhere_in_the_second_entry_keeps_the_finished_first_one(fence):
    """Before, a cut after a key or inside a string (``{"label": "spl``), or any cut behind an unclosed code fence, closed
    the liver's entry instead and called it cut off: no answer for a structure fully answered."""
    for end in range(_SPLEEN + 1, len(_FULL) - 2):
        text = fence + _FULL[:end]
        answers = parse_localization(text, ["liver", "spleen"], (1000.0, 1000.0), cut_short=True)
        assert answers["liver"].box == (1.0, 2.0, 300.0, 400.0), text
        assert answers["spleen"].present is None and answers["spleen"].box is None, text


@pytest.mark.parametrize("cut", ['{"label": "spleen"', '{"label": "spleen", ', '{"label": "spleen", "bbox_2d":',
                                 '{"label": "spleen", "bbox_2d', '{"label": "spleen", "present": tr'])
def test_the_entry_being_written_is_said_to_be_cut_off_once_its_label_is_written(cut):
    text = "```json\n" + _FULL[:_SPLEEN] + cut
    answers = parse_localization(text, ["liver", "spleen"], (1000.0, 1000.0), cut_short=True)
    assert answers["liver"].present is True and answers["spleen"].issues[0] == CUT_OFF_WHILE_ANSWERING


def test_a_closed_list_followed_by_cut_prose_is_read_whole():
    answers = parse_localization(_FULL + " Both organs are vis", ["liver", "spleen"], (1000.0, 1000.0), cut_short=True)
    assert answers["spleen"].box == (100.0, 50.0, 406.0, 266.0) and answers["liver"].box == (1.0, 2.0, 300.0, 400.0)


def test_a_cut_identity_answer_whose_label_runs_to_the_cut_is_no_answer():
    """Before, ``{"label": 1`` (maybe 12 unfinished) was read as tag 1, liver, and scored."""
    legend = ["liver"] + [f"s{i}" for i in range(2, 14)]
    assert parse_identity('{"label": 1', legend, cut_short=True)[0] is None
    assert parse_identity("liver", legend, cut_short=True)[0] is None  # plain text runs to the cut end too
    assert parse_identity('{"label": 1} because', legend, cut_short=True)[0] == "liver"  # closed before the cut
    assert parse_identity('{"label": 1', legend)[0] == "liver"  # not cut: a missing brace is a slip, as before


@pytest.mark.parametrize("text", ['{"present": true', '{"present": tr', "Yes", "Yes, the liver is visible", "present: yes"])
def test_a_cut_presence_answer_not_closed_before_the_cut_is_no_answer(text):
    answer = parse_presence(text, "liver", cut_short=True)
    assert answer.present is None and CUT_OFF_WHILE_ANSWERING in answer.issues


def test_a_cut_presence_answer_closed_before_the_cut_is_read():
    assert parse_presence('{"present": false} The liver is n', "liver", cut_short=True).present is False
    assert parse_presence('{"present": true', "liver").present is True  # not cut: a slip, as before


_POSSESSIVES = ["Broca's area", "Wernicke's area", "insula"]
_BROCA_THEN_CUT = ('[{"label": "Broca\'s area", "present": true, "bbox_2d": [10, 20, 30, 40]}, '
                   '{"label": "insula", "present": true, "bbox_2d": [50, 60, 70, 80]}, {"label": "Wernicke\'s ar')


@pytest.mark.parametrize("cut_short", [True, False])
def test_an_apostrophe_in_a_name_keeps_the_entries_before_a_cut(cut_short):
    """Before, every ``'`` was made a ``"`` before closing the cut answer, so ``"Broca"s area"`` broke it and both finished
    entries were missing from the answer."""
    answers = parse_localization(_BROCA_THEN_CUT, _POSSESSIVES, (1000.0, 1000.0), cut_short=cut_short)
    assert answers["Broca's area"].box == (10.0, 20.0, 30.0, 40.0) and answers["insula"].box == (50.0, 60.0, 70.0, 80.0)
    assert answers["Wernicke's area"].present is None


@pytest.mark.parametrize("cut_short", [True, False])
def test_an_apostrophe_in_any_string_keeps_its_entry_before_a_cut(cut_short):
    """Before: no answer for the liver when cut, and absent (a wrong answer) when not said to be cut."""
    text = ('[{"label": "liver", "note": "it\'s big", "present": true, "bbox_2d": [10, 20, 30, 40]}, '
            '{"label": "spleen", "present": true, "bbox_2d": [1')
    answers = parse_localization(text, ["liver", "spleen"], (1000.0, 1000.0), cut_short=cut_short)
    assert answers["liver"].present is True and answers["liver"].box == (10.0, 20.0, 30.0, 40.0)


@pytest.mark.parametrize("label", ['"Broca\'s area"', "'Broca\\'s area'"])
def test_single_quoted_json_with_an_apostrophe_in_a_name_is_read(label):
    text = "[{'label': " + label + ", 'present': True, 'bbox_2d': [10, 20, 30, 40]}]"
    answer = parse_localization(text, _POSSESSIVES, (1000.0, 1000.0))["Broca's area"]
    assert answer.box == (10.0, 20.0, 30.0, 40.0) and "answer needed JSON repairs" in answer.issues


@pytest.mark.parametrize("prose", ["The legend lists [1] liver and [2] spleen.", "The liver box is [10, 20, 30, 40]:"])
def test_a_list_after_brackets_in_prose_is_read(prose):
    """Before, the prose's first bracket (``[1]``, JSON holding no entry) was taken as the whole answer: liver missing."""
    text = prose + '\n[{"label": "liver", "present": true, "bbox_2d": [10, 20, 30, 40]}]'
    assert parse_localization(text, ["liver", "spleen"], (1000.0, 1000.0))["liver"].box == (10.0, 20.0, 30.0, 40.0)


@pytest.mark.parametrize("end", ['{"label": "spleen"', '{"label": "spleen", "pres', '{"label": "spleen", "present":',
                                 '{"label": "spleen", "present": tr'])
def test_an_entry_the_answer_ends_in_before_its_presence_is_no_answer_though_not_said_to_be_cut(end):
    """A server that gives no ``finish_reason`` ``length``, or a model that stops mid-JSON: before, the spleen was read
    as absent (no box given), a wrong answer instead of none."""
    answers = parse_localization(_FULL[:_SPLEEN] + end, ["liver", "spleen"], (1000.0, 1000.0))
    assert answers["liver"].box == (1.0, 2.0, 300.0, 400.0) and answers["spleen"].present is None
    assert answers["spleen"].issues[0] == ENDED_BEFORE_ANSWER


@pytest.mark.parametrize("end", ['{"label": "spleen", "bbox_2d": [100, 50, 406, 266]', '{"bbox_2d": [100, 50, 406, 266], "label": "spleen"',
                                 '{"label": "spleen", "present": true, "bbox_2d": [100, 50, 406, 266]'])
def test_an_entry_left_unclosed_after_its_whole_box_is_read_though_not_said_to_be_cut(end):
    """Qwen's own grounding format has no ``present``: before, an entry whose closing brace alone was missing was no answer."""
    answers = parse_localization(_FULL[:_SPLEEN] + end, ["liver", "spleen"], (1000.0, 1000.0))
    assert answers["spleen"].present is True and answers["spleen"].box == (100.0, 50.0, 406.0, 266.0)


@pytest.mark.parametrize("end", ['{"label": "spleen", "present": true', '{"label": "spleen", "present": true, "',
                                 '{"label": "spleen", "present": true, "bbox_2d": [10',
                                 '{"label": "spleen", "present": true, "bbox_2d": [100, 50, 406, 26',
                                 '{"label": "spleen", "bbox_2d": [100, 50, 406, 26'])
def test_an_entry_the_answer_ends_in_before_its_box_is_complete_is_no_answer_though_not_said_to_be_cut(end):
    """Before, ``"present": true`` with its box still to come was read as present with no box (SAM2 then followed the
    reference alone), and a box list cut in its last number was read (26 of 266)."""
    answers = parse_localization(_FULL[:_SPLEEN] + end, ["liver", "spleen"], (1000.0, 1000.0))
    assert answers["spleen"].present is None and answers["spleen"].issues[0] == ENDED_BEFORE_ANSWER


def test_an_entry_the_answer_ends_in_after_saying_absent_is_read():
    answers = parse_localization(_FULL[:_SPLEEN] + '{"label": "spleen", "present": false', ["liver", "spleen"], (1000.0, 1000.0))
    assert answers["spleen"].present is False


def test_only_the_last_of_several_json_values_is_cut():
    """One object per line, cut in the third: the two before it are read."""
    text = '{"label": "liver", "bbox_2d": [1, 2, 300, 400]}\n{"label": "spleen", "bbox_2d": [100, 50, 406, 266]}\n{"label": "left kidney", "pres'
    answers = parse_localization(text, ["liver", "spleen", "left kidney"], (1000.0, 1000.0), cut_short=True)
    assert answers["liver"].box == (1.0, 2.0, 300.0, 400.0) and answers["spleen"].box == (100.0, 50.0, 406.0, 266.0)
    assert answers["left kidney"].issues[0] == CUT_OFF_WHILE_ANSWERING
