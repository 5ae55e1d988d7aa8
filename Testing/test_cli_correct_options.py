"""``rau correct``'s model options (``--device``, ``--sam2-model``, ``--model-cache``, ``--vlm-model``, ``--vlm-server``):
checked as given, apart from the ones the result records."""

import json

import pytest
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main


@pytest.mark.parametrize("option, value, refusal", [
    ("--device", "gpu", "--device must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"),
    ("--sam2-model", "", "--sam2-model must not be empty, got ''"),
    ("--model-cache", "", "--model-cache must not be empty, got ''"),
    ("--vlm-server", "http://a b", "--vlm-server"),
])
def test_a_bad_option_given_to_correct_is_refused_naming_the_option_not_the_result(hc18_case, capsys, option, value, refusal):  # noqa: F811
    """Before, ``rau correct r.result.json ... --device gpu`` said "r.result.json records engine options this version
    refuses: --device must be ...", blaming the saved result for what was typed."""
    assert main(segment_args(hc18_case, hc18_case / "out" / "run.nii.gz", "--no-deformable")) == 0
    saved_path = hc18_case / "out" / "run.result.json"
    saved = saved_path.read_bytes()
    capsys.readouterr()
    corrected = hc18_case / "out" / "fixed.nii.gz"
    assert main(["correct", str(saved_path), "--structure", "fetal head", "--outside", "10,10", "--out", str(corrected),
                 f"{option}={value}"]) == 2
    error = capsys.readouterr().err
    assert f"rau correct: error: {refusal}" in error and "records engine options" not in error
    assert saved_path.read_bytes() == saved and not list(corrected.parent.glob("fixed.*"))


def test_a_bad_option_the_result_records_is_still_blamed_on_the_result(hc18_case, capsys):  # noqa: F811
    """A value that really comes from the file keeps the message that names the file."""
    assert main(segment_args(hc18_case, hc18_case / "out" / "run.nii.gz", "--no-deformable")) == 0
    saved_path = hc18_case / "out" / "run.result.json"
    saved = json.loads(saved_path.read_text())
    saved["inputs"]["engine_options"]["device"] = "gpu"
    saved_path.write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["correct", str(saved_path), "--structure", "fetal head", "--outside", "10,10", "--sam2-model", "tiny",
                 "--out", str(hc18_case / "out" / "fixed.nii.gz")]) == 2
    assert f"{saved_path} records engine options this version refuses: --device must be auto" in capsys.readouterr().err
