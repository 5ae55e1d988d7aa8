"""How ``rau`` reads its command line, for every subcommand: an option that takes one value is given once, options
meant to be repeated keep every value, and a word that starts like a negative number is a value."""

from __future__ import annotations

import argparse

import pytest
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import build_parser, main, parse_arguments


def subcommand_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(words naming the subcommand, its parser)`` for every innermost subcommand (``("train", "sft")``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from subcommand_parsers(child, (*path, name))
            return
    yield path, parser


def value_options():
    """``(subcommand words, option, a value it takes)`` for every option of every subcommand that takes its value(s)
    once: not a flag, not one that appends its values each time it is given."""
    kept = (argparse._AppendAction, argparse._StoreConstAction, argparse._HelpAction, argparse._VersionAction)
    for path, parser in subcommand_parsers(build_parser()):
        for action in parser._actions:
            if action.option_strings and not isinstance(action, kept):
                yield path, action.option_strings[0], a_value(action)


def a_value(action: argparse.Action) -> list[str]:
    """Words the option takes (``action.type`` converts them)."""
    count = action.nargs if isinstance(action.nargs, int) else 1
    if action.choices:
        return [str(sorted(action.choices)[0])] * count
    for word in ("1", "2", "0.5", "cpu", "http://127.0.0.1:1"):
        try:
            if action.type is not None:
                action.type(word)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        return [word] * count
    raise AssertionError(f"no value found for {action.option_strings[0]}")


def refusal(argv: list[str], capsys) -> str:
    """The error reading the command line ``argv`` stops with (exit status 2); nothing runs."""
    with pytest.raises(SystemExit) as stop:
        parse_arguments(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


VALUE_OPTIONS = list(value_options())


def test_every_subcommand_has_options_that_take_a_value():
    commands = {path[0] for path, _, _ in VALUE_OPTIONS}
    assert commands == {"segment", "correct", "evaluate", "demo", "train", "models", "serve", "batch"}
    assert len(VALUE_OPTIONS) > 100


@pytest.mark.parametrize("path, option, value", VALUE_OPTIONS, ids=[" ".join((*p, o)) for p, o, _ in VALUE_OPTIONS])
def test_an_option_that_takes_one_value_given_twice_is_refused_naming_it(path, option, value, capsys):
    """Before, argparse kept the second value and dropped the first silently (``--box``, ``--out``, ``--engine`` ...)."""
    error = refusal([*path, option, *value, option, *value], capsys)
    assert f"rau {' '.join(path)}: error: argument {option}: given twice; give it once" in error, error
    assert "usage:" not in error


def test_a_second_target_is_refused_with_the_command_for_several_targets(capsys):
    """Before: ``rau segment ... --target 001_HC.png --target 002_HC.png`` segmented 002 only, exit 0."""
    error = refusal(["segment", "--reference", "r.png", "--reference-labels", "m.png", "--target", "001_HC.png",
                     "--target", "002_HC.png", "--out", "r.png"], capsys)
    assert error == ("rau segment: error: argument --target: given twice; give it once (use rau batch for several targets)\n")


def test_a_second_box_is_refused(capsys):
    """Before: ``rau correct --box 10,10,200,200 --box 300,300,400,400`` kept the second box only, exit 0."""
    error = refusal(["correct", "r.result.json", "--structure", "head", "--box", "10,10,200,200", "--box", "300,300,400,400",
                     "--out", "c.nii.gz"], capsys)
    assert "rau correct: error: argument --box: given twice; give it once\n" == error


def test_options_meant_to_be_repeated_keep_every_value():
    args, _ = parse_arguments(["segment", "--reference", "a.png", "--reference-labels", "a_mask.png", "--reference-spacing", "0.1",
                               "--reference", "b.png", "--reference-labels", "b_mask.png", "--reference-spacing", "0.2",
                               "--target", "t.png", "--out", "r.png", "--structures", "head", "--structures", "brain",
                               "--overwrite", "--overwrite", "--no-deformable", "--no-deformable"])
    assert (args.reference, args.reference_labels, args.reference_spacing) == (["a.png", "b.png"], ["a_mask.png", "b_mask.png"], [0.1, 0.2])
    assert args.structures == ["head", "brain"] and args.overwrite and args.deformable is False
    args, _ = parse_arguments(["correct", "r.result.json", "--structure", "head", "--inside", "1,2", "--inside", "3,4",
                               "--outside", "5,6", "--outside", "7,8", "--stroke", "1,1", "2,2", "--stroke", "3,3", "--out", "c.nii.gz"])
    assert (args.inside, args.outside, args.stroke) == (["1,2", "3,4"], ["5,6", "7,8"], [["1,1", "2,2"], ["3,3"]])
    args, _ = parse_arguments(["train", "grpo", "--model", "m", "--data", "d", "--out", "o", "--reward-weight", "format=1",
                               "--reward-weight", "box_iou=2"])
    assert args.reward_weight == ["format=1", "box_iou=2"]
    args, _ = parse_arguments(["segment", "--target", "t.png", "--out", "r.png"])  # one parse's options do not carry into the next
    assert args.target == "t.png" and not hasattr(args, "_rau_options_given")


@pytest.mark.parametrize("words, option, expected", [
    (["--window", "-1e3", "1e3"], "window", [-1000.0, 1000.0]),
    (["--window", "-.5", "-1E-2"], "window", [-0.5, -0.01]),
    (["--target-spacing", "-1e-3"], None, None),  # reaches its own check (below)
])
def test_a_negative_number_in_exponent_form_is_a_value(words, option, expected, capsys):
    """Before: ``--window -1e3 1e3`` stopped with "argument --window: expected 2 arguments"."""
    argv = ["segment", "--target", "t.png", "--out", "r.png", *words]
    if option is None:
        assert "argument --target-spacing: must be a positive number, got '-1e-3'" in refusal(argv, capsys)
    else:
        assert getattr(parse_arguments(argv)[0], option) == expected


@pytest.mark.parametrize("strokes", [["-1,5", "10,10"], ["10,10", "-1,5"]])
def test_a_stroke_through_a_point_past_the_first_voxel_reaches_its_own_check(hc18_case, strokes, capsys):  # noqa: F811
    """Before: ``--stroke -1,5 10,10`` stopped with "expected at least one argument", ``--stroke 10,10 -1,5`` with
    "unrecognized arguments: -1,5", as if the point were an option; ``--inside -1,5`` was said to be outside the target."""
    assert main(segment_args(hc18_case, hc18_case / "out" / "r.nii.gz", "--no-deformable")) == 0
    capsys.readouterr()
    code = main(["correct", str(hc18_case / "out" / "r.result.json"), "--structure", "fetal head", "--stroke", *strokes,
                 "--out", str(hc18_case / "out" / "c.nii.gz")])
    error = capsys.readouterr().err
    assert code == 2 and "rau correct: error: --stroke" in error and "'-1,5': outside the target" in error, error
    assert not (hc18_case / "out" / "c.nii.gz").exists()
