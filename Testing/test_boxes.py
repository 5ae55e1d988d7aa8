"""One rule for boxes (:func:`rau.boxes.check_corners`): an inverted or zero-size box gets the same message
from the Python API and the server (``rau correct --box``: Testing/test_cli_correct.py); box corners follow
the rule of points (:func:`rau.session.prompt_point`)."""

import numpy as np
import pytest

from rau.boxes import Box
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.image import Image
from rau.serve.wire import prompt_from_json
from rau.session import check_prompt

TARGET = Image(np.zeros((1, 50, 50)), ndim=2)


@pytest.mark.parametrize("lower, upper, problem", [
    ((30, 10, 0), (10, 40, 1), "the box (30, 10, 0)..(10, 40, 1) is inverted: its lower corner lies above its upper one along i"),
    ((40, 40, 1), (10, 10, 0), "the box (40, 40, 1)..(10, 10, 0) is inverted: its lower corner lies above its upper one along i, j, k"),
], ids=["along i", "along every axis"])
def test_an_inverted_box_is_refused_with_one_message_by_the_python_api_and_the_server(lower, upper, problem):
    with pytest.raises(InputError) as made:
        Box(lower, upper)
    with pytest.raises(InputError) as sent:
        prompt_from_json({"box": {"lower": list(lower), "upper": list(upper)}}, TARGET)
    assert str(made.value) == problem and str(sent.value) == problem


def test_a_zero_size_box_is_a_box_but_no_prompt():
    box = Box((10, 10, 0), (10, 40, 1))
    assert box.empty  # boxes may be empty (clipping makes them); a prompt may not
    problem = "the box (10, 10, 0)..(10, 40, 1) has zero size"
    for prompt in (Prompt(box=box), prompt_from_json({"box": {"lower": [10, 10], "upper": [10, 40]}}, TARGET)):
        with pytest.raises(InputError) as refused:
            check_prompt(prompt, TARGET)
        assert str(refused.value) == problem


def test_box_corners_follow_the_rule_of_points():
    """[i, j] corners on a 2D target span its one slice, as [i, j] points lie on it (:func:`rau.session.prompt_point`);
    a 3D target needs i, j, k for both."""
    two, three = ({"box": {"lower": lower, "upper": upper}} for lower, upper in (([10, 10], [20, 30]), ([10, 10, 0], [20, 30, 1])))
    assert prompt_from_json(two, TARGET).box == prompt_from_json(three, TARGET).box == Box((10, 10, 0), (20, 30, 1))
    with pytest.raises(InputError) as refused:
        prompt_from_json(two, Image(np.zeros((4, 50, 50))))
    assert str(refused.value) == "the box's lower corner [10, 10]: give i,j,k for this 3D target"
