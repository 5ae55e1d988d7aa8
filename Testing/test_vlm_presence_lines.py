"""Presence answers in plain text: present: lines and bare yes/no, read only when plain and consistent."""

import pytest

from rau.vlm.answers import parse_presence


@pytest.mark.parametrize("text", ["present: no\npresent: yes", "not present: true", "Image 1 - present: yes",
                                  "present: yes (in image 1); in image 2 present: no"])
def test_a_present_line_that_contradicts_another_negates_itself_or_is_about_image_1_is_no_answer(text):
    """Before, the first present: line anywhere was read ("not present: true" was True)."""
    assert parse_presence(text, "liver").present is None


@pytest.mark.parametrize("text, present", [("Image 1 - present: yes\nImage 2 - present: no", False),
                                           ("present: yes\npresent: true", True), ("Present = true", True)])
def test_present_lines_that_agree_are_read_leaving_out_image_1(text, present):
    assert parse_presence(text, "liver").present is present


@pytest.mark.parametrize("text, present", [
    ("Yes\nThe liver is visible in image 2.", True), ("No, it's not visible.", False), ("Yes, it's present.", True),
    ("Answer: No.", False), ("**Answer:** yes", True), ("Yes - the liver is visible.", True), ("No \u2014 it is absent.", False),
    ("Answer: The liver is visible in image 2.", True)])
def test_plain_yes_no_after_a_line_break_a_dash_an_answer_label_or_with_its_is_read(text, present):
    """Before, each was no answer (a line break was no separator, ``it's`` no ``it is``, ``Answer:`` no yes/no)."""
    assert parse_presence(text, "liver").present is present


@pytest.mark.parametrize("text", ["Yes\nNo", "Yes\nThe liver is absent.", "No - it's present.", "Answer: maybe",
                                  "The patient's liver is visible."])
def test_a_plain_answer_that_contradicts_itself_or_is_not_plain_stays_no_answer(text):
    assert parse_presence(text, "liver").present is None


@pytest.mark.parametrize("text, name, present", [
    ("Broca's area is visible.", "Broca's area", True), ("Wernicke's area is not visible in image 2.", "Wernicke's area", False),
    ("Meckel's cave isn't visible.", "Meckel's cave", False), ("Rathke's pouch's visible.", "Rathke's pouch", True)])
def test_a_sentence_about_a_structure_whose_name_holds_an_apostrophe_s_is_read(text, name, present):
    """Before, every ``'s`` was read as ``is``: "Broca is area is visible" named no structure asked."""
    assert parse_presence(text, name).present is present
