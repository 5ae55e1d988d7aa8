"""A ``.result.json`` edited by hand into a form ``rau segment`` never writes is refused by ``rau correct`` naming the
file and the field, nothing written (before, an unknown structure engine, corrector or a count of another form was
carried forward, and a missing label map, a wrong target pixel size or a name twice were said without the file)."""

import json

import pytest
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main


def structure(saved):
    return saved["structures"][0]


EDITS = {
    "structures[0].engine": lambda saved: structure(saved).update(engine="foo"),
    "structures[0].prompts.references": lambda saved: structure(saved)["prompts"].update(references=5),
    "structures[0].prompts.clicks": lambda saved: structure(saved)["prompts"].update(clicks=-4),
    "structures[0].prompts.corrector": lambda saved: structure(saved)["prompts"].update(corrector="magic"),
    "inputs.structures": lambda saved: saved["inputs"].update(structures="fetal head"),
    "inputs.target_spacing": lambda saved: saved["inputs"].update(target_spacing=-1),
    "structures[1].name": lambda saved: saved["structures"].append({**structure(saved), "value": 7}),
    "label_map": lambda saved: saved.update(label_map="nothere.nii.gz"),  # t.nii.gz deleted too: none named like the JSON
}


@pytest.mark.parametrize("field", EDITS)
def test_a_field_edited_into_a_form_rau_segment_never_writes_is_refused_naming_the_file_and_the_field(hc18_case, capsys, field):  # noqa: F811
    assert main(segment_args(hc18_case, hc18_case / "out" / "t.nii.gz", "--no-deformable")) == 0
    result = hc18_case / "out" / "t.result.json"
    saved = json.loads(result.read_text())
    EDITS[field](saved)
    result.write_text(json.dumps(saved))
    if field == "label_map":
        (hc18_case / "out" / "t.nii.gz").unlink()
    capsys.readouterr()
    code = main(["correct", str(result), "--structure", "fetal head", "--outside", "10,10", "--out", str(hc18_case / "out" / "c.nii.gz")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"error: {result}" in err and field in err, err
    assert not (hc18_case / "out" / "c.nii.gz").exists()
