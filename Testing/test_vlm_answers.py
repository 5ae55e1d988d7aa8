"""The answer parser against a table of malformed answers: sanitize, flag, never raise."""

import pytest

from rau.vlm.answers import parse_identity, parse_localization, parse_presence
from rau.vlm.prompts import identity_answer, localization_answer, presence_answer

NAMES = ["liver", "spleen", "left kidney"]
BOUNDS = (504, 308)

# text, name, expected present, expected box, an expected issue fragment ("" = clean)
CASES = [
    ('[{"label": "liver", "present": true, "bbox_2d": [10, 20, 50, 60]}]', "liver", True, (10, 20, 50, 60), ""),
    ('```json\n[{"label": "spleen", "present": true, "bbox_2d": [10, 20, 50, 60]}]\n```', "spleen", True, (10, 20, 50, 60), ""),
    ('Sure! [{"label": "spleen", "present": true, "bbox_2d": [50, 60, 10, 20]}] Hope this helps.', "spleen", True, (10, 20, 50, 60), "swapped"),
    ('[{"label": "liver", "present": true, "bbox_2d": [-5, 20, 900, 400]}]', "liver", True, (0, 20, 504, 308), "clipped"),
    ('[{"label": "liver", "present": true, "bbox_2d": [600, 20, 900, 40]}]', "liver", True, None, "lies outside the image"),
    ('[{"label": "liver", "present": true, "bbox_2d": [-90, -90, -10, -10]}]', "liver", True, None, "lies outside the image"),  # before: "0-1 fractions"
    ('[{"label": "liver", "present": true, "bbox_2d": [1, 2, 3, 1' + "0" * 400 + ']}]', "liver", True, None, "unreadable box"),  # before: OverflowError
    ('[{"label": 1' + "0" * 400 + ', "present": true, "bbox_2d": [1, 2, 30, 40]}]', "liver", None, None, "missing"),  # before: OverflowError
    ('[{"label": "liver", "present": true, "bbox_2d": {"x1": 1' + "0" * 400 + ', "y1": 2, "x2": 3, "y2": 4}}]', "liver", True, None, "unreadable box"),
    ('[{"label": "' + "9" * 5000 + '", "present": true, "bbox_2d": [1, 2, 30, 40]}]', "liver", None, None, "missing"),  # before: ValueError (int digits)
    ('[{"label": "liver", "present": true, "bbox_2d": [' + "9" * 5000 + ', 2, 3, 4]}]', "liver", True, None, "unreadable box"),  # before: "no JSON"
    ('[{"label": ' + "9" * 5000 + ', "present": true}, {"label": "spleen", "present": false}]', "spleen", False, None, "unknown label"),  # before: "no JSON"
    ('[{"label": "liver", "present": true, "bbox_2d": [30, 20, 30, 60]}]', "liver", True, None, "zero-area"),
    ('[{"label": "liver", "present": true, "bbox_2d": ["a", 2, 3]}]', "liver", True, None, "unreadable box"),
    ('[{"label": "liver", "present": true, "bbox_2d": [1, 2, NaN, 4]}]', "liver", True, None, "unreadable box"),
    ('[{"label": "liver", "present": true, "bbox_2d": "10, 20, 30, 40"}]', "liver", True, (10, 20, 30, 40), "box given as text"),
    ('[{"label": "liver", "present": true, "bbox_2d": "1234"}]', "liver", True, None, "unreadable box"),  # before: (1, 2, 3, 4), clean
    ("[{'label': 'Left-Kidney', 'present': True, 'bbox_2d': [1, 2, 30, 40],}]", "left kidney", True, (1, 2, 30, 40), "repair"),
    ('[{"label": "3", "present": "yes", "bbox_2d": [1, 2, 30, 40]}]', "left kidney", True, (1, 2, 30, 40), ""),
    ('[{"label": 2, "present": false}]', "spleen", False, None, ""),
    ('[{"label": "2: spleen", "present": false, "bbox_2d": [1, 2, 3, 4]}]', "spleen", False, None, "absent"),
    ('[{"label": "liver", "bbox_2d": [[1, 2], [30, 40]]}]', "liver", True, (1, 2, 30, 40), "inferred"),
    # before: every box dropped, "unreadable box [100, 50, 406, 266, 420, 60, 500, 200]" (the two boxes flattened)
    ('[{"label": "liver", "present": true, "bbox_2d": [[100, 50, 406, 266], [420, 60, 500, 200]]}]', "liver", True, (100, 50, 406, 266), "given several boxes; the first readable box was kept"),
    ('[{"label": "liver", "present": true, "bbox_2d": [[1, 2, 30, 40], [5, 6, 7, 8], [9, 9, 19, 19]]}]', "liver", True, (1, 2, 30, 40), "several boxes"),
    ('[{"label": "liver", "present": true, "bbox_2d": [{"x1": 1, "y1": 2, "x2": 30, "y2": 40}, {"x1": 5, "y1": 6, "x2": 7, "y2": 8}]}]', "liver", True, (1, 2, 30, 40), "several boxes"),
    # before: present False (absence inferred from a box it could not read), or the first box though unreadable
    ('[{"label": "liver", "bbox_2d": [[50, 50, 10], [10, 10, 50, 50]]}]', "liver", True, (10, 10, 50, 50), "the first readable box was kept"),
    ('[{"label": "liver", "bbox_2d": [[[10, 10, 50, 50]]]}]', "liver", None, None, "no readable 'present' and no usable box; no answer"),
    ('[{"label": "liver", "bbox_2d": [[NaN, 1, 2, 3], [10, 10, 50, 50]]}]', "liver", True, (10, 10, 50, 50), "unreadable box [nan, 1, 2, 3]"),
    ('[{"label": "liver", "present": true, "bbox_2d": [[NaN, 1, 2, 3], [10, 10, 50, 50]]}]', "liver", True, (10, 10, 50, 50), "the first readable box"),
    ('[{"label": "liver", "bbox_2d": [[1, 2, 3], [NaN, 1, 2, 3]]}]', "liver", None, None, "given several boxes; none could be read"),
    ('[{"label": "liver", "bbox_2d": [600, 20, 900, 40]}]', "liver", None, None, "no usable box; no answer"),
    ('[{"label": "liver", "present": true}]', "liver", True, None, "no box"),
    ('[{"label": "liver", "present": true, "bbox_2d": [1, 2, 30, 40]}, {"label": "liver", "present": false}]', "liver", True, (1, 2, 30, 40), "twice"),
    ('[{"label": "heart", "present": true, "bbox_2d": [1, 2, 30, 40]}]', "liver", None, None, "missing"),
    ('[{"label": "heart", "present": true, "bbox_2d": [1, 2, 30, 40]}]', "spleen", None, None, "unknown label"),
    ('{"label": "liver", "present": true, "bbox_2d": [1, 2, 30, 40]', "liver", True, (1, 2, 30, 40), "repair"),
    ('[{"label": "liver", "present": false}, {"label": "spl', "liver", False, None, "repair"),
    ('{"structures": [{"label": "liver", "present": false}]}', "liver", False, None, ""),
    ('{"liver": {"present": true, "bbox_2d": [1, 2, 30, 40]}}', "liver", True, (1, 2, 30, 40), ""),
    ("The liver is at the top left.", "liver", None, None, "no JSON"),
    ("", "liver", None, None, "empty"),
    ("[]", "spleen", None, None, "missing"),
    ("[1, 2, 3]", "spleen", None, None, "missing"),
    ('[{"label": null, "present": true}]', "liver", None, None, "missing"),
    ('[{"label": "liver", "present": true, "bbox_2d": [0.12, 0.09, 0.37, 0.38]}]', "liver", True, None, "0-1 fractions"),  # before: a 1-pixel box, clean
]


@pytest.mark.parametrize("text, name, present, box, issue", CASES)
def test_malformed_answers_are_sanitized_and_flagged(text, name, present, box, issue):
    answers = parse_localization(text, NAMES, BOUNDS)
    assert list(answers) == NAMES
    answer = answers[name]
    assert answer.present is present
    assert answer.box == (tuple(float(v) for v in box) if box else None)
    if issue:
        assert any(issue in i for i in answer.issues), answer.issues
        assert answer.confidence < 1.0
    else:
        assert answer.issues == [] and answer.confidence == 1.0


@pytest.mark.parametrize("box, notes", [
    ([600, 20, 900, 40], ["box lies outside the image"]),  # before: also "box reached outside the image; clipped"
    ([-90, -90, -10, -10], ["box lies outside the image"]),
    ([-5, 20, 900, 400], ["box reached outside the image; clipped"]),  # partly outside: clipped, kept
])
def test_a_box_wholly_outside_is_noted_once_and_a_box_partly_outside_is_clipped(box, notes):
    answer = parse_localization(f'[{{"label": "liver", "present": true, "bbox_2d": {box}}}]', NAMES, BOUNDS)["liver"]
    assert answer.issues == notes


def test_perfect_answers_written_for_training_parse_back_exactly():
    text = localization_answer({"liver": [10, 20, 50, 60], "spleen": None})
    answers = parse_localization(text, ["liver", "spleen"], BOUNDS)
    assert answers["liver"].box == (10, 20, 50, 60) and answers["liver"].confidence == 1.0
    assert answers["spleen"].present is False and answers["spleen"].confidence == 1.0
    assert parse_presence(presence_answer("liver", False), "liver").present is False
    assert parse_identity(identity_answer("spleen"), NAMES) == ("spleen", [])


@pytest.mark.parametrize(
    "text, present",
    [('{"label": "liver", "present": true}', True), ("No, it is not visible.", False), ("```\n{'present': False}\n```", False), ("maybe", None)],
)
def test_presence_answers(text, present):
    assert parse_presence(text, "liver").present is present


@pytest.mark.parametrize("text, present, issue", [
    # before: all None (scored wrong by --vqa), as only a first word of exactly yes/no was read
    ("Not present.", False, "sentence instead of JSON"),
    ("It is not visible.", False, "sentence instead of JSON"),
    ("absent", False, "sentence instead of JSON"),
    ("The liver is present in image 2", True, "sentence instead of JSON"),
    ("The liver is not visible.", False, "sentence instead of JSON"),
    ("There is no liver visible in image 2.", False, "sentence instead of JSON"),
    ("It isn't visible.", False, "sentence instead of JSON"),
    ("present: true", True, "'present:' line instead of JSON"),
    ("Present: no", False, "'present:' line instead of JSON"),
    ('"present": false', False, "'present:' line instead of JSON"),
    # plain enough already
    ('{"present": false}', False, None),
    ("yes", True, "bare yes/no instead of JSON"),
    ("Yes.", True, "bare yes/no instead of JSON"),
    ("No, it is not visible", False, "bare yes/no instead of JSON"),
    # before: "No doubt" False, "Yes it is absent" True, read from their first word alone
    ("No doubt, the liver is visible.", None, "no presence answer found"),
    ("Yes it is absent", None, "no presence answer found"),
    # before: read from the yes or no, whatever followed it (and so rewarded in training)
    ("Yes, but it is absent.", None, "no presence answer found"),
    ("No, it is present.", None, "no presence answer found"),
    ("Yes; no", None, "no presence answer found"),
    ("Present = yes but absent", None, "no presence answer found"),
    ("Yes, it is visible in image 2.", True, "bare yes/no instead of JSON"),
    # before: no answer, the yes or no read before the thought was taken away, or followed by markdown's asterisks
    ("<think>The liver... no doubt.</think> Yes.", True, "bare yes/no instead of JSON"),
    ("<think>hmm</think>\nNo, it is not visible", False, "bare yes/no instead of JSON"),
    ("**Yes**", True, "bare yes/no instead of JSON"),
    ("**No**.", False, "bare yes/no instead of JSON"),
    # not plain: left unread
    ("The liver is visible in image 1.", None, "no presence answer found"),
    ("The liver is visible in the reference image.", None, "no presence answer found"),
    ("It may be present.", None, "no presence answer found"),
    ("It is partially visible.", None, "no presence answer found"),
    ("Present, but not clearly visible.", None, "no presence answer found"),
    ("It is not not visible.", None, "no presence answer found"),
    ("Is it visible?", None, "no presence answer found"),
    ("It is visible. The spleen is absent.", None, "no presence answer found"),
    ("I cannot tell.", None, "no presence answer found"),
    ('{"label": "liver", "present": tr', None, "no presence answer found"),  # cut off: not a sentence
    ("present: perhaps", None, "no presence answer found"),
])
def test_presence_said_in_a_plain_sentence_or_a_present_line_is_read(text, present, issue):
    answer = parse_presence(text, "liver")
    assert answer.present is present and answer.issues == ([issue] if issue else [])


@pytest.mark.parametrize("text, name, present", [
    # before: all False, a "no", "not" or "absent" anywhere turning the sentence
    ("The liver is visible with no focal lesion", "liver", None),
    ("The liver is present with no lesion", "liver", None),
    ("Present, no lesions", "liver", None),
    ("The liver is visible, no abnormality", "liver", None),
    ("The liver, not the spleen, is visible.", "liver", None),
    ("Not only the liver is visible", "liver", None),
    ("The liver is not small, it is visible", "liver", None),
    ("The gallbladder is absent.", "liver", None),  # another structure than the one asked
    ("The fetal head is visible in image 2.", "liver", None),  # before: True
    # the plain forms: [subject] [is|are] [not] seen-word [in image 2 | in the second image]
    ("The liver is visible.", "liver", True),
    ("It is not visible.", "liver", False),
    ("Not present.", "liver", False),
    ("Absent.", "liver", False),
    ("The liver is visible in image 2.", "liver", True),
    ("The fetal head is visible in image 2.", "fetal head", True),
    ("the Left-Kidney is absent!", "left kidney", False),
    ("This is shown in the second image", "liver", True),
    ("It isn\u2019t visible.", "liver", False),
    ("There is no spleen visible.", "liver", None),
])
def test_a_presence_sentence_is_read_only_in_its_plain_form_about_the_structure_asked(text, name, present):
    answer = parse_presence(text, name)
    assert answer.present is present
    assert answer.issues == ["sentence instead of JSON" if present is not None else "no presence answer found"]


@pytest.mark.parametrize(
    "text, name",
    [('{"label": "2"}', "spleen"), ("left kidney", "left kidney"), ('{"label": "the spleen"}', "spleen"), ('{"label": "heart"}', None), ("", None)],
)
def test_identity_answers(text, name):
    assert parse_identity(text, NAMES)[0] == name


def test_a_tag_number_names_the_structure_it_numbers_in_the_legend_shown():
    """The question numbers structures by their place in the legend ("2: spleen", "4: pancreas"); before, a number was
    looked up in the structures asked, so "4" was refused and "1" was taken as the first structure asked."""
    legend = ["liver", "spleen", "kidney", "pancreas"]
    asked = ["spleen", "pancreas"]
    answers = parse_localization('[{"label": 4, "present": true, "bbox_2d": [1, 2, 30, 40]}, {"label": 1, "present": true, "bbox_2d": [5, 5, 9, 9]}]',
                                 asked, BOUNDS, legend)
    assert list(answers) == asked
    assert answers["pancreas"].box == (1.0, 2.0, 30.0, 40.0) and answers["spleen"].present is None
    assert any("ignored an answer about 'liver', which was not asked" in issue for issue in answers["pancreas"].issues)
    assert parse_localization('[{"label": "2: spleen", "present": false}]', asked, BOUNDS, legend)["spleen"].present is False


def test_an_answer_repeating_an_issue_records_it_once_and_many_issues_are_counted():
    """Before: a reply of 100 000 answers about an unknown label kept 100 000 copies of the issue (a 7 MB result JSON)."""
    repeated = "[" + ", ".join(['{"label": "other thing", "present": true}'] * 1000) + "]"
    assert parse_localization(repeated, NAMES, BOUNDS)["liver"].issues == ["missing from the answer", "ignored an answer for an unknown label 'other thing'"]
    many = "[" + ", ".join(f'{{"label": "thing {n}", "present": true}}' for n in range(30)) + "]"
    issues = parse_localization(many, NAMES, BOUNDS)["liver"].issues
    assert len(issues) == 12 and issues[-1] == "and 20 more such issues"


def test_a_label_of_thousands_of_digits_is_no_label():
    """Before: ValueError "Exceeds the limit (4300 digits) for integer string conversion"."""
    assert parse_identity("9" * 5000, NAMES)[0] is None
    assert parse_identity("9" * 5000 + ": spleen", NAMES)[0] == "spleen"  # the name it holds


def test_an_answer_repeated_is_one_issue_and_a_boolean_is_no_coordinate():
    """Before: each repeat halved the confidence (20 000 repeats: 0.0 and 19 999 issues, a 1 MB result JSON), and
    ``[true, 0, 500, 500]`` was the box (1, 0, 500, 500) with confidence 1."""
    one = '{"label": "liver", "present": true, "bbox_2d": [10, 10, 40, 40]}'
    repeated = parse_localization("[" + ", ".join([one] * 20000) + "]", NAMES, BOUNDS)["liver"]
    assert repeated.box == (10.0, 10.0, 40.0, 40.0) and repeated.issues == ["answered twice; the first answer was kept"]
    assert repeated.confidence == 0.5
    boolean = parse_localization('[{"label": "liver", "present": true, "bbox_2d": [true, 0, 50, 50]}]', NAMES, BOUNDS)["liver"]
    assert boolean.box is None and boolean.issues == ["unreadable box [True, 0, 50, 50]"]


_THREE_ENTRIES = ('{"label": "liver", "present": true, "bbox_2d": [10, 20, 30, 40]}',
                  '{"label": "spleen", "present": true, "bbox_2d": [100, 200, 300, 400]}', '{"label": "left kidney", "present": false}')


@pytest.mark.parametrize("layout", ["{}\n{}\n{}", "```json\n{}\n{}\n{}\n```", "{}, {}, {}", "[{}]\n[{}]\n[{}]",
                                    "Liver: [{}]\nSpleen: [{}]\nKidney: [{}]", "The liver: {}. The spleen: {}. Kidney: {}."])
def test_an_answer_of_one_json_value_per_structure_is_read_whole(layout):
    """One object per line (JSONL), objects between commas, one list per line, objects in prose: before, only the first
    was read and the others were missing from the answer."""
    answers = parse_localization(layout.format(*_THREE_ENTRIES), NAMES, (1000.0, 1000.0))
    assert answers["liver"].box == (10.0, 20.0, 30.0, 40.0) and answers["spleen"].box == (100.0, 200.0, 300.0, 400.0)
    assert answers["left kidney"].present is False and "malformed JSON; read the objects one by one" in answers["spleen"].issues


def test_json_after_the_answer_that_answers_about_no_structure_is_no_part_of_it():
    """Before: a legend or an explanation written as JSON after a clean answer was read as more entries: every
    structure got 'malformed JSON' and 'an unknown label None', confidence 1 -> 0.25."""
    answer = ('[{"label": "liver", "present": true, "bbox_2d": [100, 120, 300, 330]}, {"label": "spleen", "present": false}]\n\n'
              'Legend used: {"1": "liver", "2": "spleen", "3": "pons"}\nExplanation (JSON): {"liver": "upper left", "spleen": "not seen"}')
    read = parse_localization(answer, ["liver", "spleen"], (1000, 1000))
    assert read["liver"].box == (100.0, 120.0, 300.0, 330.0) and read["spleen"].present is False
    assert [read[name].confidence for name in ("liver", "spleen")] == [1.0, 1.0]


def test_every_fenced_block_of_an_answer_is_read():
    """Before: only the first ```json block was read: one block per structure lost the others ('missing from the
    answer'), and a draft block before its correction was read alone, unflagged, at full confidence."""
    per_structure = ('```json\n{"label": "liver", "present": true, "bbox_2d": [10, 20, 30, 40]}\n```\n'
                     '```json\n{"label": "spleen", "present": false}\n```')
    read = parse_localization(per_structure, ["liver", "spleen"], (100, 100))
    assert read["liver"].box == (10.0, 20.0, 30.0, 40.0) and read["spleen"].present is False
    draft_then_final = ('First try:\n```json\n[{"label": "liver", "present": false}]\n```\nCorrected:\n'
                        '```json\n[{"label": "liver", "present": true, "bbox_2d": [10, 20, 30, 40]}]\n```')
    read = parse_localization(draft_then_final, ["liver"], (100, 100))["liver"]
    assert read.confidence < 1.0 and any("answered twice" in issue for issue in read.issues)


def test_an_answer_given_twice_alike_is_read_once():
    """The same list in two fenced blocks ("in compact form: ...") is one answer, not one answered twice."""
    entries = '[{"label": "liver", "present": true, "bbox_2d": [10, 20, 30, 40]}]'
    read = parse_localization(f"```json\n{entries}\n```\nIn compact form:\n```json\n{entries}\n```", ["liver"], (100, 100))["liver"]
    assert read.box == (10.0, 20.0, 30.0, 40.0) and read.confidence == 1.0
