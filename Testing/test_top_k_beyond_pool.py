"""``--top-k K`` above the references a target has uses them all: the run says so (naming ``--top-k``, K and the pool
size), on standard error and in the warnings it records, by the rule that warns of an ignored option
(:func:`rau.engines.checks.warn_unused_options`), in ``rau segment``, ``rau evaluate``, a server's jobs and, case by
case, ``rau demo`` alike.
Tiny synthetic pictures: two references of 32 x 32 pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rau.cli import main
from rau.engines.checks import warn_unused_options
from rau.image import Image
from rau.io import write_image
from rau.options import EngineOptions
from rau.serve.options import options_from_json
from rau.user_warnings import collected_warnings

NOTE = "--top-k 10 asks for more references than the run has per target (2 at most): all are used"


def pool_of_two(folder: Path) -> dict[str, Path]:
    """Two references (a bright block, labelled 1, on noise of two seeds: no copies) and a target with its truth."""
    files = {}
    for seed, name in enumerate(("ref_a", "ref_b", "target")):
        array = np.random.default_rng(seed).normal(0, 3, (1, 32, 32)).astype(np.float32)
        array[0, 8:24, 10:22] += 100
        image = Image(array, spacing=(1.0, 1.0, 1.0), ndim=2)
        labels = np.zeros(array.shape, np.uint8)
        labels[0, 8:24, 10:22] = 1
        files[name], files[f"{name}_labels"] = folder / f"{name}.mha", folder / f"{name}_labels.mha"
        write_image(image, files[name])
        write_image(image.with_array(labels), files[f"{name}_labels"])
    return files


def test_rau_segment_says_that_top_k_above_its_references_uses_them_all(tmp_path, capsys):
    """Before: --top-k 10 with two references ran without a word."""
    files = pool_of_two(tmp_path)
    references = [item for name in ("ref_a", "ref_b") for item in ("--reference", str(files[name]), "--reference-labels", str(files[f"{name}_labels"]))]
    out = tmp_path / "out" / "t.nii.gz"
    assert main(["segment", *references, "--target", str(files["target"]), "--no-deformable", "--top-k", "10", "--out", str(out)]) == 0
    assert f"warning: {NOTE}" in capsys.readouterr().err
    assert json.loads(out.with_name("t.result.json").read_text())["warnings"] == [NOTE]


def test_rau_evaluate_records_the_note_with_the_runs_warnings(tmp_path, capsys):
    files = pool_of_two(tmp_path)
    cases = tmp_path / "cases.csv"
    cases.write_text("target_image,target_labels,reference_image,reference_labels\n" + "".join(
        f"{files['target']},{files['target_labels']},{files[name]},{files[f'{name}_labels']}\n" for name in ("ref_a", "ref_b")))
    scores = tmp_path / "scores.json"
    assert main(["evaluate", str(cases), "--no-deformable", "--top-k", "10", "--json", str(scores)]) == 0
    assert f"warning: {NOTE}" in capsys.readouterr().err
    assert json.loads(scores.read_text())["warnings"] == [NOTE]


def test_a_server_job_is_told_in_its_own_words_and_keeps_its_top_k():
    used, said = options_from_json({"top_k": 10}, EngineOptions(), "registration", 2)
    assert said == ["top_k 10 asks for more references than the run has per target (2 at most): all are used"]
    assert used.top_k == 10  # not left out as an ignored option: a pool as large would use 10


@pytest.mark.parametrize(("engine", "given", "references"), [
    ("registration", {"top_k": 2}, 2),     # no more than there are
    ("registration", {}, 2),               # the default (5) not given
    ("registration", {"top_k": 10}, None),  # the pool not known
    ("vessels", {"top_k": 10}, 12),
])
def test_no_note_where_top_k_asks_for_no_more_than_there_are(engine, given, references):
    with collected_warnings() as said:
        assert warn_unused_options(engine, given, references) == []
    assert said == []


@pytest.mark.parametrize(("engine", "given", "references", "expected"), [
    ("registration", {"top_k": 10}, 1, ["--top-k is ignored: the run has one reference per target: nothing to rank or fuse"]),
    ("vlm-box", {"top_k": 10}, 2, ["--top-k is ignored: the vlm-box engine does not use it"]),
    ("vessels", {"top_k": 3}, 2, ["--top-k 3 asks for more references than the run has per target (2 at most): all are used"]),
])
def test_top_k_gets_the_one_warning_that_applies(engine, given, references, expected):
    with collected_warnings() as said:
        assert warn_unused_options(engine, given, references) == expected
    assert said == expected


def test_rau_demo_names_the_case_whose_references_top_k_passes():
    """``rau demo`` warns case by case (its cases' pools differ): hc18_ultrasound has 15 references, the others one."""
    from rau.commands.demo import warn_options_cases_ignore
    from rau.demo import DEMO_CASES, SAMPLE_DATA
    from rau.evaluation.manifest import read_manifest

    cases = {name: read_manifest(SAMPLE_DATA / DEMO_CASES[name])[0] for name in ("hc18_ultrasound", "abdominal_ct")}
    with collected_warnings() as said:
        warn_options_cases_ignore({"hc18_ultrasound": "registration", "abdominal_ct": "registration"}, cases, {"top_k": 20})
    assert said == ["--top-k is ignored for abdominal_ct: it has one reference per target: nothing to rank or fuse",
                    "--top-k 20 asks for more references than hc18_ultrasound has per target (15 at most): all are used"]
