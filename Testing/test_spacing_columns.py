"""A table's column that names a pixel size the table does not read is refused (exit 2, naming the file, the column
and the columns the table reads for it, nothing written): before, a manifest's ``pixel_spacing`` (the name a
reference bank and a training manifest use) or a bank's ``reference_spacing`` (a manifest's) was ignored, and the run
was done in pixels and said 1 mm. Other unknown columns, such as notes, stay ignored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rau
from rau.cli import main

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
MANIFEST_READS = "it takes pixel sizes (mm) from reference_spacing and target_spacing"


@pytest.fixture
def cohort(tmp_path) -> Path:
    """The HC18 samples 000 (reference) and 001 (target), with their masks, copied into ``tmp_path``."""
    for name in ("000_HC.png", "000_HC_mask.png", "001_HC.png", "001_HC_mask.png"):
        shutil.copy(HC18 / name, tmp_path / name)
    return tmp_path


def manifest(folder: Path, spacing_column: str) -> Path:
    """``cases.csv``: target 001 with its truth, reference 000, and 0.07 in the column ``spacing_column``."""
    path = folder / "cases.csv"
    path.write_text(f"target_image,reference_image,reference_labels,target_labels,{spacing_column}\n"
                    "001_HC.png,000_HC.png,000_HC_mask.png,001_HC_mask.png,0.07\n")
    return path


def written(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_batch_manifest_with_a_bank_pixel_spacing_column_is_refused(cohort, capsys):
    """Before: "1 done ... 0 failed", exit 0, a label map of pixel size 1 and "target_spacing": null."""
    cases = manifest(cohort, "pixel_spacing")
    assert main(["batch", str(cases), "--out", str(cohort / "out")]) == 2
    assert capsys.readouterr().err == f"rau batch: error: {cases}: column 'pixel_spacing' is not one a manifest reads; {MANIFEST_READS}\n"
    assert not (cohort / "out").exists()


@pytest.mark.parametrize("column", ["Spacing_mm", "Pixel_Size_mm"])
def test_an_evaluation_manifest_with_another_spacing_column_is_refused(cohort, capsys, column):
    """Before: "HD95 118.0 px", exit 0 (``Pixel_Size_mm``: until names_pixel_size, which knows more words than spacing)."""
    cases = manifest(cohort, column)
    before = written(cohort)
    assert main(["evaluate", str(cases), "--json", str(cohort / "scores.json")]) == 2
    assert capsys.readouterr().err == f"rau evaluate: error: {cases}: column {column!r} is not one a manifest reads; {MANIFEST_READS}\n"
    assert written(cohort) == before


def test_a_training_manifest_with_a_target_spacing_column_is_refused(cohort, capsys):
    """Before: "wrote pairs", exit 0, the pictures read without their pixel size."""
    data = cohort / "train.csv"
    data.write_text("image,labels,target_spacing\n000_HC.png,000_HC_mask.png,0.07\n001_HC.png,001_HC_mask.png,0.07\n")
    assert main(["train", "build-pairs", "--data", str(data), "--out", str(cohort / "pairs"), "--val-fraction", "0"]) == 2
    assert (f"error: {data}: column 'target_spacing' is not one a training manifest reads; "
            "it takes pixel sizes (mm) from pixel_spacing\n") in capsys.readouterr().err
    assert not (cohort / "pairs").exists()


def test_the_spacing_columns_a_table_reads_and_other_columns_run(cohort, capsys):
    """A manifest's own spacing columns are read, and a notes column is ignored as before."""
    cases = cohort / "cases.csv"
    cases.write_text("target_image,reference_image,reference_labels,target_labels,reference_spacing,target_spacing,notes\n"
                     "001_HC.png,000_HC.png,000_HC_mask.png,001_HC_mask.png,0.069135804,0.08965852,first reader\n")
    assert main(["evaluate", str(cases), "--no-deformable"]) == 0
    said = capsys.readouterr().out
    assert "mm" in said and " px" not in said


@pytest.mark.parametrize("command", ["batch", "evaluate"])
def test_the_help_names_the_spacing_columns_a_manifest_reads(command, capsys):
    """Before: ``rau batch --help`` said ``*_spacing``, which ``pixel_spacing`` seemed to match."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "reference_spacing" in said and "target_spacing" in said and "*_spacing" not in said


@pytest.mark.parametrize("column", ["reference_spacing", "pixel_size_mm", "pixel size(mm)", "Pixel-Size", "voxel_size",
                                    "mm_per_pixel", "mm per pixel", "mm/pixel", "mm_per_px", "px_size", "pixel.size",
                                    "um_per_pixel", "pixels_per_mm", "um/px", "px/mm", "pixdim"])
def test_a_reference_bank_with_another_pixel_size_column_is_refused(cohort, capsys, column):
    """Before: the bank's reference_spacing was ignored and, with no --target-spacing, the run was done in pixels; until
    names_pixel_size, so were ``pixel_size_mm`` (the column of HC18's pixel_size_and_HC.csv) and ``pixel size(mm)``."""
    bank = cohort / "bank.csv"
    bank.write_text(f"image,labels,{column}\n000_HC.png,000_HC_mask.png,0.07\n")
    out = cohort / "out" / "new.nii.gz"
    assert main(["segment", "--reference-bank", str(bank), "--target", str(cohort / "001_HC.png"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"rau segment: error: {bank}: column {column!r} is not one a reference bank reads; "
                                       "it takes pixel sizes (mm) from pixel_spacing\n")
    assert not (cohort / "out").exists()


@pytest.mark.parametrize("column", ["caliper_mm", "HC caliper (mm)", "upper_px", "superpixels", "counts_per_pixel",
                                    "resolution_lp_per_mm", "head_circumference_mm", "pixel_count", "permission"])
def test_a_column_that_only_mentions_a_unit_is_no_pixel_size(column):
    """Before: names were searched as one squeezed string, so caliper_mm (calipermm) held 'permm', upper_px 'perpx' and
    superpixels 'perpixel', and a manifest with such a column was refused."""
    from rau.validation.manifests import names_pixel_size

    assert not names_pixel_size(column)
