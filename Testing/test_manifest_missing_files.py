"""A manifest naming files that are not there is refused before any case runs (exit 2, nothing written), in one error
that names every such file with its line and column: a large cohort is mended in one go, not one rerun per file."""

from __future__ import annotations

from pathlib import Path

import rau
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
HEADER = "reference_image,reference_labels,target_image,target_labels\n"


def manifest(folder: Path, targets: list[str], truths: list[str]) -> Path:
    """``cases.csv`` in ``folder``: the HC18 sample 000 as the reference of each target (``NNN`` of the sample, or a
    name of a file not there) with its truth (likewise)."""
    reference = f"{HC18 / '000_HC.png'},{HC18 / '000_HC_mask.png'}"
    rows = [f"{reference},{HC18 / f'{target}_HC.png'},{HC18 / f'{truth}_HC_mask.png'}\n" for target, truth in zip(targets, truths)]
    path = folder / "cases.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def test_a_batch_names_every_target_that_is_not_there(tmp_path, capsys):
    """Before: "cases.csv line 3: target_image .../nope1_HC.png does not exist", and nope2 was said only after a rerun."""
    cases = manifest(tmp_path, ["001", "002", "nope1", "nope2", "003"], ["001", "002", "003", "004", "003"])
    assert main(["batch", str(cases), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"rau batch: error: {cases}: 2 files it names cannot be read: "
                                       f"line 4: target_image {HC18 / 'nope1_HC.png'} does not exist; "
                                       f"line 5: target_image {HC18 / 'nope2_HC.png'} does not exist\n")
    assert not (tmp_path / "out").exists()


def test_an_evaluation_lists_the_first_ten_files_that_are_not_there_and_counts_the_others(tmp_path, capsys):
    gone = [f"gone{number}" for number in range(12)]
    cases = manifest(tmp_path, ["001", *gone[:6]], ["001", *gone[6:]])
    assert main(["evaluate", str(cases), "--json", str(tmp_path / "scores.json")]) == 2
    said = capsys.readouterr().err
    listed = [f"line {line}: {column} {HC18 / f'gone{number}_HC{suffix}.png'} does not exist"
              for line, number in zip(range(3, 9), range(6))
              for column, number, suffix in (("target_image", number, ""), ("target_labels", number + 6, "_mask"))]
    assert said == f"rau evaluate: error: {cases}: 12 files it names cannot be read: {'; '.join(listed[:10])}; and 2 more\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cases.csv"]


def test_one_file_that_is_not_there_is_named_as_before(tmp_path, capsys):
    cases = manifest(tmp_path, ["001", "002"], ["001", "gone"])
    assert main(["evaluate", str(cases)]) == 2
    assert capsys.readouterr().err == f"rau evaluate: error: {cases} line 3: target_labels {HC18 / 'gone_HC_mask.png'} does not exist\n"
