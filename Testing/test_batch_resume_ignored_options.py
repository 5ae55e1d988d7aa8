"""``rau batch`` resumed with an option its engine does not use for the skipped targets (``rau batch`` warns that it is
ignored): those targets' outputs were not made with other engine options, so nothing says they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from rau.cli import main

REPO = Path(__file__).resolve().parents[1]
KEPT = "kept outputs made with other engine options"


def manifest(folder: Path, rows: int, one_target: bool) -> Path:
    """The first ``rows`` rows of ``protocols/hc18_single.csv`` with absolute paths; ``one_target``: all of them for the
    first row's target (a case of ``rows`` references)."""
    lines = (REPO / "protocols" / "hc18_single.csv").read_text().splitlines()
    header, body = lines[0].split(","), [line.split(",") for line in lines[1:rows + 1]]
    for row in body:
        for column in ("reference_image", "reference_labels", "target_image", "target_labels"):
            index = header.index(column)
            row[index] = str((REPO / "protocols" / row[index]).resolve())
        if one_target:
            for column in ("target_image", "target_labels", "target_spacing"):
                row[header.index(column)] = body[0][header.index(column)]
    path = folder / "cohort.csv"
    path.write_text("\n".join(",".join(row) for row in [header, *body]) + "\n")
    return path


@pytest.mark.parametrize("option, ignored", [
    (["--top-k", "3"], "--top-k is ignored: the run has one reference per target: nothing to rank or fuse"),
    (["--fusion", "staple"], "--fusion is ignored: the run has one reference per target: nothing to rank or fuse"),
    (["--sam2-model", "tiny"], "--sam2-model is ignored: the registration engine does not use it"),
])
def test_an_ignored_option_does_not_mark_skipped_targets_as_made_with_other_options(shared_data, tmp_path, capsys, option, ignored):
    """Before: "warning: --top-k is ignored: ..." and then "warning: 1 skipped target(s) kept outputs made with other
    engine options (058_HC: top_k 5 (now 3)); to run them with this run's, give another --out folder", though rerunning
    would change nothing."""
    run = ["batch", str(manifest(tmp_path, 1, one_target=False)), "--out", str(tmp_path / "res"), "--no-deformable", "--workers", "1"]
    assert main(run) == 0
    capsys.readouterr()
    assert main([*run, *option]) == 0
    said = capsys.readouterr()
    assert f"warning: {ignored}" in said.err.splitlines() and KEPT not in said.err
    assert "rau batch: 0 done, 1 skipped" in said.out


def test_top_k_still_marks_a_target_of_several_references_made_with_another(shared_data, tmp_path, capsys):
    """The same option where the engine uses it: the target of two references was ranked with the earlier top_k."""
    run = ["batch", str(manifest(tmp_path, 2, one_target=True)), "--out", str(tmp_path / "res"), "--no-deformable", "--workers", "1"]
    assert main(run) == 0
    capsys.readouterr()
    assert main([*run, "--top-k", "1"]) == 0
    said = capsys.readouterr().err
    assert "--top-k is ignored" not in said
    assert (f"warning: 1 skipped target(s) {KEPT} (058_HC: top_k 5 (now 1)); to run them with this run's, give another "
            "--out folder or move their outputs away") in said.splitlines()


def test_top_k_at_or_beyond_the_references_of_a_target_marks_nothing(shared_data, tmp_path, capsys):
    """Before: a target of two references made with the default ``--top-k 5`` and resumed with ``--top-k 2`` or
    ``3`` was said to keep outputs made with other options (top_k 5 (now 2)), though every one of these runs uses
    both references: the same answers."""
    run = ["batch", str(manifest(tmp_path, 2, one_target=True)), "--out", str(tmp_path / "res"), "--no-deformable", "--workers", "1"]
    assert main(run) == 0
    capsys.readouterr()
    for top_k in ("2", "3"):
        assert main([*run, "--top-k", top_k]) == 0
        said = capsys.readouterr()
        assert KEPT not in said.err and "rau batch: 0 done, 1 skipped" in said.out
