"""rau demo's warnings name three or more cases as a list in words ("a, b and c"), by the one rule messages list
names with (rau.labels.in_words; names_in_words quotes each name, then follows it)."""

from rau.commands.demo import warn_options_cases_ignore
from rau.demo import DEMO_CASES, SAMPLE_DATA
from rau.evaluation.manifest import read_manifest


def test_an_option_ignored_for_three_cases_names_them_as_a_list(capsys):
    """Before: 'for hc18_ultrasound and abdominal_ct and coronary_angiogram'."""
    cases = {name: read_manifest(SAMPLE_DATA / manifest)[0] for name, manifest in DEMO_CASES.items()}
    assert len(cases) == 3
    warn_options_cases_ignore({name: "registration" for name in cases}, cases, {"slice_axis": "k"})
    first, second, third = cases
    assert capsys.readouterr().err.splitlines() == [
        f"warning: --slice-axis is ignored for {first}, {second} and {third}: the registration engine does not use it"]
