"""A copy of another reference is the same image with the same structures (matched by name) holding the same voxels,
whatever label value, type or file stores them: refused, it would vote twice on each (one sharing only some of
another's structures: test_reference_shared_structures.py). The same voxels under another
structure's name are another reference: they never vote on the same structure."""

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

import rau
from rau.cli import main
from rau.io import read_image, write_seg_nrrd
from rau.labels import LabelSet, Segmentation, Structure

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
SPACING, TARGET_SPACING = "0.069135804", "0.08965852"


def reference_copy(folder: Path, value: int, name: str, compress_level: int = 1) -> Path:
    """HC18 000 re-saved in ``folder`` (other bytes, same voxels), its head stored as ``value`` named ``name``."""
    folder.mkdir()
    PILImage.open(HC18 / "000_HC.png").save(folder / "img.png", compress_level=compress_level)
    head = np.array(PILImage.open(HC18 / "000_HC_mask.png")) > 0
    PILImage.fromarray((head * value).astype(np.uint8)).save(folder / "mask.png")
    (folder / "mask.labels.csv").write_text(f"value,name\n{value},{name}\n")
    return folder


def segment(tmp_path: Path, second_labels: Path, first_labels: Path | None = None, structures: list[str] | None = None) -> int:
    """``rau segment`` of HC18 001 with two references: ``first_labels`` (default a/mask.png) and ``second_labels``, each
    beside its img.png, asking for ``structures`` (None: all)."""
    first = first_labels or tmp_path / "a" / "mask.png"
    return main(["segment", "--reference", str(first.parent / "img.png"), "--reference-labels", str(first),
                 "--reference", str(second_labels.parent / "img.png"), "--reference-labels", str(second_labels),
                 "--reference-spacing", SPACING, "--reference-spacing", SPACING, "--target", str(HC18 / "001_HC.png"),
                 "--target-spacing", TARGET_SPACING, *(["--structures", *structures] if structures else []),
                 "--out", str(tmp_path / "out" / "seg.nii.gz")])


def assert_refused_as_copy(tmp_path: Path, capsys, exit_code: int, copy: str) -> None:
    """A run that ended with ``exit_code`` was refused (2) as holding a copy, its message saying ``copy`` ("reference ...
    is a copy of ... for 'X'") and why, with nothing written."""
    assert exit_code == 2
    error = capsys.readouterr().err
    assert f"{copy}: the same image and the same voxels of it; it would vote twice on it" in error, error
    assert not (tmp_path / "out").exists()


def test_a_copy_storing_the_structure_as_another_value_is_refused(tmp_path, capsys):
    """Before: accepted (exit 0, 'fetal head: found, confidence 1.00'): the digest hashed the raw label values."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    copy = reference_copy(tmp_path / "c", 1, "Fetal Head")
    assert_refused_as_copy(tmp_path, capsys, segment(tmp_path, copy / "mask.png"),
                           "reference 'c/img.png' (labels 'c/mask.png') is a copy of 'a/img.png' (labels 'a/mask.png') for 'Fetal Head'")


def test_a_copy_whose_labels_are_a_seg_nrrd_is_refused(tmp_path, capsys):
    """The same structure in a Slicer segmentation (value 7) as in a label map (value 255) is a copy too."""
    reference_copy(tmp_path / "a", 255, "fetal head")
    folder = reference_copy(tmp_path / "s", 255, "fetal head", compress_level=0)
    head = read_image(folder / "mask.png", float(SPACING), label_map=True)
    labels = LabelSet((Structure("fetal-head", 7),))
    write_seg_nrrd(Segmentation(head.with_array(np.zeros(head.shape, np.uint8)), labels, {"fetal-head": head.array > 0}),
                   folder / "head.seg.nrrd")
    assert segment(tmp_path, folder / "head.seg.nrrd") == 2
    assert "for 'fetal-head': the same image and the same voxels of it; it would vote twice on it" in capsys.readouterr().err


def test_the_same_voxels_under_another_structure_name_are_not_a_copy(tmp_path, capsys):
    """Before: refused, 'is a copy of ... it would vote twice', though the two never vote on the same structure."""
    reference_copy(tmp_path / "a", 255, "fetal head")
    other = reference_copy(tmp_path / "b", 255, "head", compress_level=0)
    assert segment(tmp_path, other / "mask.png") == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "seg.nii.gz").exists()


def test_an_evaluate_case_with_a_copy_fails_naming_its_manifest_lines(tmp_path, capsys):
    """Before: the case's error named no line (the whole run is refused, with its line, only for byte copies)."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    reference_copy(tmp_path / "c", 1, "fetal head")
    manifest = tmp_path / "cases.csv"
    rows = [f"{tmp_path / side / 'img.png'},{tmp_path / side / 'mask.png'},{SPACING},{HC18 / '001_HC.png'},"
            f"{HC18 / '001_HC_mask.png'},{TARGET_SPACING}" for side in ("a", "c")]
    manifest.write_text("reference_image,reference_labels,reference_spacing,target_image,target_labels,target_spacing\n"
                        + "\n".join(rows) + "\n")
    assert main(["evaluate", str(manifest), "--json", str(tmp_path / "scores.json")]) == 1
    error = capsys.readouterr().err
    assert (f"failed: 001_HC.png: {manifest} line 3: reference 'c/img.png' (labels 'c/mask.png') is a copy of 'a/img.png' "
            f"(labels 'a/mask.png', {manifest} line 2) for 'fetal head': the same image and the same voxels") in error, error
