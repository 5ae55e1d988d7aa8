"""Engine options: one typed table, strict about unknown keys, types and ranges; the CLI made from it."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from rau.commands.engine_options import add_engine_arguments, engine_options
from rau.engines import create_engine
from rau.errors import OptionError
from rau.options import DEFAULTS, EngineOptions, option_fields


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    return parser.parse_args(list(argv))


def test_an_unknown_key_is_an_error_naming_it():
    with pytest.raises(OptionError, match=r"'topk' \(did you mean 'top_k'\?\)"):
        EngineOptions.from_dict({"topk": 3})
    with pytest.raises(OptionError, match="sam2_modle"):
        create_engine("registration", {"sam2_modle": "tiny"})


@pytest.mark.parametrize("key, value, message", [
    ("top_k", 0, r"option top_k \(--top-k\): must be at least 1, got 0"),
    ("top_k", "3", "expected int"),
    ("top_k", True, "expected int"),
    ("fusion", "mean", "not one of local, vote, staple"),
    ("window", (1.0,), "two numbers"),
    ("slice_axis", "x", "not one of"),
    ("slice_margin", -1, "at least 0"),
    ("deformable", 0, r"option deformable \(--no-deformable\): expected bool"),  # before: --deformable, a flag rau has not
    ("sam2_model", None, "a value is required"),
    ("sam2_model", "", "--sam2-model must not be empty, got ''"),
    ("sam2_revision", " ", "--sam2-revision must not be empty"),
    ("model_cache", "", "--model-cache must not be empty"),
    ("vlm_model", "", "--vlm-model must not be empty"),
    ("vlm_server", "", "--vlm-server must not be empty"),
    ("vlm_adapter", "", "--vlm-adapter must not be empty"),
])
def test_bad_values_name_the_option(key, value, message):
    with pytest.raises(OptionError, match=message):
        EngineOptions.from_dict({key: value})


def test_values_are_normalised_and_the_object_is_frozen():
    options = EngineOptions.from_dict({"window": [-160, 240]})
    assert options.window == (-160.0, 240.0)
    with pytest.raises(AttributeError):
        options.top_k = 3  # type: ignore[misc]


def test_numpy_numbers_are_numbers():
    """Before: top_k=np.int64(3), as read from an array, was refused ("expected int")."""
    options = EngineOptions.from_dict({"top_k": np.int64(3), "window": (np.float32(-160), np.float64(240)), "vlm_timeout": np.float32(5)})
    assert (options.top_k, options.window, options.vlm_timeout) == (3, (-160.0, 240.0), 5.0) and type(options.top_k) is int
    with pytest.raises(OptionError, match="expected int"):
        EngineOptions.from_dict({"top_k": np.float64(3)})


def test_the_command_line_is_built_from_the_table():
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    dests = {action.dest for action in parser._actions}
    assert {spec.name for spec in option_fields() if spec.metadata["cli"]} <= dests
    assert "keep_transfers" not in dests
    assert engine_options(parse()) == DEFAULTS
    given = engine_options(parse("--top-k", "3", "--no-deformable", "--window", "-160", "240", "--vlm-adapter", "/a"))
    assert given == DEFAULTS.replace(top_k=3, deformable=False, window=(-160.0, 240.0), vlm_adapter="/a")
    assert engine_options(parse(), keep_transfers=True).keep_transfers
    off_switch = next(action for action in parser._actions if "--no-deformable" in action.option_strings)
    assert off_switch.help.endswith("(on by default; this flag turns it off)")


def test_cli_range_errors_reach_the_user(capsys):
    from rau.cli import main

    assert main(["segment", "--target", "t.nii.gz", "--out", "o.nii.gz", "--reference", "r", "--reference-labels", "l",
                 "--top-k", "0"]) == 2
    assert "option top_k (--top-k): must be at least 1, got 0" in capsys.readouterr().err


def test_every_engine_reads_the_options_object():
    engine = create_engine("registration", DEFAULTS.replace(top_k=2, fusion="staple", deformable=False))
    assert (engine.top_k, engine.fusion, engine.settings.deformable) == (2, "staple", False)


def test_a_run_records_local_model_folders_absolutely_so_rau_correct_finds_them_from_elsewhere(tmp_path, monkeypatch):
    from rau.io.run_outputs import recorded_inputs

    (tmp_path / "models/sam2_tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    options = EngineOptions.from_dict({"sam2_model": "models/sam2_tiny", "vlm_model": "Qwen/Qwen2.5-VL-3B-Instruct"})
    recorded = recorded_inputs("t.png", 1.0, ["r.png"], ["r_mask.png"], [1.0], None, None, None, options)["engine_options"]
    assert recorded["sam2_model"] == str(tmp_path / "models/sam2_tiny")
    assert recorded["vlm_model"] == "Qwen/Qwen2.5-VL-3B-Instruct"  # a hub id, not a path here


def test_each_engine_names_the_options_it_reads():
    """One table says which engine reads which option (before: none, and an option an engine ignores passed silently)."""
    from rau.engines import ENGINE_OPTIONS, ENGINES, unused_options

    assert set(ENGINE_OPTIONS) == set(ENGINES)
    names = {spec.name for spec in option_fields()}
    assert set().union(*ENGINE_OPTIONS.values()) == names  # each option read by some engine, and no other name
    given = lambda *names: {name: "x" for name in names}  # noqa: E731
    assert list(unused_options("registration", given("slice_margin", "top_k", "sam2_model", "vlm_adapter", "device"))) == [
        "slice_margin", "sam2_model", "vlm_adapter", "device"]
    assert list(unused_options("sam2-memory", given("fusion", "slice_margin", "window"))) == ["fusion", "slice_margin"]
    assert unused_options("vlm-box", given("vlm_server", "sam2_model", "top_k")) == {
        "sam2_model": "the vlm-box engine does not use it", "top_k": "the vlm-box engine does not use it"}
    assert unused_options("rau", given("vlm_adapter", "sam2_model", "slice_axis")) == {"slice_axis": "the rau engine does not use it"}


def test_rau_segment_warns_of_options_its_engine_does_not_use_and_records_them(tmp_path, capsys):
    """Before: --engine registration took --slice-margin, --sam2-model (even a damaged one) and --vlm-adapter without a
    word; they are warned of, recorded in the result JSON, and the run goes on as without them."""
    import json

    from rau.cli import main
    from rau.demo import SAMPLE_DATA

    data = SAMPLE_DATA / "hc18"
    common = ["segment", "--reference", str(data / "000_HC.png"), "--reference-labels", str(data / "000_HC_mask.png"),
              "--target", str(data / "001_HC.png")]
    assert main([*common, "--out", str(tmp_path / "plain" / "t.nii.gz")]) == 0
    assert "warning" not in capsys.readouterr().err  # defaults and used options: no warning
    assert main([*common, "--out", str(tmp_path / "given" / "t.nii.gz"), "--slice-margin", "5", "--sam2-model", str(tmp_path / "no_model"),
                 "--vlm-adapter", "nope", "--no-deformable"]) == 0
    said = [f"{flag} is ignored: the registration engine does not use it" for flag in ("--sam2-model", "--slice-margin", "--vlm-adapter")]
    error = capsys.readouterr().err
    assert all(f"warning: {line}" in error for line in said)
    assert json.loads((tmp_path / "given" / "t.result.json").read_text())["warnings"] == said


def test_rau_evaluate_and_batch_record_an_unused_option_in_each_cases_result(tmp_path, capsys):
    """Before: they warned of --slice-margin with the registration engine but recorded it in no case's result JSON,
    where they record a model's warnings and rau segment records this one."""
    import json

    from rau.cli import main
    from rau.demo import SAMPLE_DATA

    data, targets = SAMPLE_DATA / "hc18", ("001_HC", "002_HC")
    (tmp_path / "cases.csv").write_text("reference_image,reference_labels,target_image,target_labels\n" + "".join(
        f"{data / '000_HC.png'},{data / '000_HC_mask.png'},{data / target}.png,{data / target}_mask.png\n" for target in targets))
    assert main(["evaluate", str(tmp_path / "cases.csv"), "--predictions", str(tmp_path / "evaluated"), "--slice-margin", "5"]) == 0
    (tmp_path / "targets.csv").write_text("target_image,reference_image,reference_labels\n" + "".join(
        f"{data / target}.png,{data / '000_HC.png'},{data / '000_HC_mask.png'}\n" for target in targets))
    assert main(["batch", str(tmp_path / "targets.csv"), "--out", str(tmp_path / "batch"), "--workers", "1", "--slice-margin", "5"]) == 0
    said = "--slice-margin is ignored: the registration engine does not use it"
    assert capsys.readouterr().err.count(f"warning: {said}") == 2  # once a run
    results = [*(tmp_path / "evaluated").glob("*.result.json"), *(tmp_path / "batch").glob("*.result.json")]
    assert len(results) == 4 and all(json.loads(path.read_text()).get("warnings", [])[:1] == [said] for path in results)
