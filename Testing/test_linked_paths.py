"""Paths through links (symlinks): an output under a link to nothing is refused before any computation; a result
JSON reached through a link and a label map given as one are read with the files beside the file they link to."""

from pathlib import Path

import pytest
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)

from rau.cli import main
from rau.io import read_segmentation

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "protocols" / "hc18_single.csv"
NOWHERE = "/nonexistent/usb/results"


def command_line(command: str, case: Path, results: Path) -> list[str]:
    """``command`` writing into the folder ``results`` (a link to nothing); ``correct`` corrects ``case/out/t``."""
    if command == "segment":
        return segment_args(case, results / "x.nii.gz", "--no-deformable")
    if command == "correct":
        return ["correct", str(case / "out" / "t.result.json"), "--structure", "fetal head", "--outside", "10,10", "--out", str(results / "c.nii.gz")]
    if command == "evaluate --json":
        return ["evaluate", str(MANIFEST), "--limit", "1", "--no-deformable", "--json", str(results / "e.json")]
    if command == "evaluate --predictions":
        return ["evaluate", str(MANIFEST), "--limit", "1", "--no-deformable", "--predictions", str(results)]
    return ["batch", str(MANIFEST), "--limit", "1", "--no-deformable", "--workers", "1", "--out", str(results / "batch")]


@pytest.mark.parametrize("command", ["segment", "correct", "evaluate --json", "evaluate --predictions", "batch"])
def test_an_output_under_a_link_to_nothing_is_refused_before_any_computation(hc18_case, capsys, command):  # noqa: F811
    """A disk not mounted: before, the whole run was computed, then stopped with an internal error (FileExistsError,
    exit 70; ``--predictions``: every case failed) or, in ``rau batch``, "cannot create this folder (File exists)"."""
    if command == "correct":
        assert main(segment_args(hc18_case, hc18_case / "out" / "t.nii.gz", "--no-deformable")) == 0
        capsys.readouterr()
    results = hc18_case / "results"
    results.symlink_to(NOWHERE)
    before = sorted(hc18_case.rglob("*"))
    assert main(command_line(command, hc18_case, results)) == 2
    said = capsys.readouterr()
    assert f": {results} is a link leading to {NOWHERE}, which does not exist\n" in said.err, said.err
    assert "internal error" not in said.err and "found" not in said.out  # refused before the engine ran
    assert sorted(hc18_case.rglob("*")) == before and not Path(NOWHERE).exists()


def test_an_output_under_a_link_to_a_link_to_nothing_names_where_the_links_end(hc18_case, capsys):  # noqa: F811
    """Before: "l2 is a link to l1, which does not exist", though l1 exists (a link itself)."""
    (hc18_case / "l1").symlink_to("missing_dir")
    (hc18_case / "l2").symlink_to("l1")
    out = hc18_case / "l2" / "sub" / "o.nii.gz"
    assert main(segment_args(hc18_case, out, "--no-deformable")) == 2
    err = capsys.readouterr().err
    assert f": {hc18_case / 'l2'} is a link leading to {(hc18_case / 'missing_dir').resolve()}, which does not exist\n" in err, err
    assert not (hc18_case / "missing_dir").exists()


def test_a_result_json_reached_through_a_link_is_corrected_as_the_real_one(hc18_case, capsys):  # noqa: F811
    """Before, the label map it records (``out.nii.gz``) was looked for beside the link: "review/out.nii.gz: no such file"."""
    assert main(segment_args(hc18_case, hc18_case / "res" / "out.nii.gz", "--no-deformable")) == 0
    (hc18_case / "review").mkdir()
    (hc18_case / "review" / "case1.result.json").symlink_to("../res/out.result.json")
    correct = ["--structure", "fetal head", "--outside", "10,10", "--out"]
    assert main(["correct", str(hc18_case / "review" / "case1.result.json"), *correct, str(hc18_case / "linked" / "c.nii.gz")]) == 0, capsys.readouterr().err
    assert main(["correct", str(hc18_case / "res" / "out.result.json"), *correct, str(hc18_case / "real" / "c.nii.gz")]) == 0
    for name in ("c.nii.gz", "c.labels.csv", "c.result.json"):
        assert (hc18_case / "linked" / name).read_bytes() == (hc18_case / "real" / name).read_bytes(), name


def test_a_label_map_given_as_a_link_takes_the_table_beside_the_file_it_links_to(hc18_case, capsys):  # noqa: F811
    """Before, its structures were named label_255 with a made-up colour, and nothing said so."""
    linked = hc18_case / "study" / "ref_mask.png"
    linked.parent.mkdir()
    linked.symlink_to(hc18_case / "001_mask.png")  # 001_mask.labels.csv names 255 "fetal head", coloured 0.9, 0.7, 0.2
    labels = read_segmentation(linked).labels
    assert labels.names == ["fetal head"] and labels.get("fetal head").color == pytest.approx((0.9, 0.7, 0.2))
    out = hc18_case / "out" / "t.nii.gz"
    args = segment_args(hc18_case, out, "--no-deformable")
    args[args.index("--reference-labels") + 1] = str(linked)
    assert main(args) == 0
    assert read_segmentation(out).labels.names == ["fetal head"]
    (linked.parent / "ref_mask.labels.csv").write_text("value,name,r,g,b\n255,head,0.1,0.2,0.3\n")
    assert read_segmentation(linked).labels.names == ["head"]  # a table beside the link comes first


def test_an_output_on_the_table_beside_a_linked_input_s_file_is_refused_even_with_overwrite(hc18_case, capsys):  # noqa: F811
    """That table is the linked label map's own now: before, ``--overwrite`` replaced it with this run's."""
    linked = hc18_case / "study" / "ref_mask.png"
    linked.parent.mkdir()
    linked.symlink_to(hc18_case / "001_mask.png")
    table = (hc18_case / "001_mask.labels.csv").read_bytes()
    args = segment_args(hc18_case, hc18_case / "001_mask.nii.gz", "--no-deformable", "--overwrite")
    args[args.index("--reference-labels") + 1] = str(linked)
    assert main(args) == 2
    assert f"this output would replace the label table of the input {linked} (refused even with --overwrite)" in capsys.readouterr().err
    assert (hc18_case / "001_mask.labels.csv").read_bytes() == table and not (hc18_case / "001_mask.nii.gz").exists()

