"""The Python API names references as the command line does (README: files of one name in different folders are
named by their folders, ``subjA/image.png``), and names their labels by the labels' own files, in its ranking and its
errors alike."""

import shutil

import pytest
from PIL import Image as PILImage

from rau.engines import Request, create_engine
from rau.engines.base import ReferenceInputError
from rau.io import read_image
from rau.references import load_reference
from test_reference_copy_structures import HC18, SPACING, TARGET_SPACING


def subject(folder, case: str, image: str = "image.png", labels: str = "labels.png"):
    """HC18 ``case`` and its mask in ``folder`` as ``image`` and ``labels``, read as a reference with the API."""
    folder.mkdir()
    PILImage.open(HC18 / f"{case}_HC.png").save(folder / image, compress_level=1)  # other bytes, the same pixels
    shutil.copy(HC18 / f"{case}_HC_mask.png", folder / labels)
    shutil.copy(HC18 / f"{case}_HC_mask.labels.csv", folder / labels.replace(".png", ".labels.csv"))
    return load_reference(folder / image, folder / labels, float(SPACING))


def target():
    return read_image(HC18 / "001_HC.png", float(TARGET_SPACING))


def test_references_of_one_file_name_are_named_by_their_folders(tmp_path):
    """Before: 'image.png' and 'image.png (2)', their labels 'image.png' and 'image.png (2)'."""
    references = [subject(tmp_path / "subjA", "000"), subject(tmp_path / "subjB", "002")]
    named = Request(references, target()).references
    assert [r.name for r in named] == ["subjA/image.png", "subjB/image.png"]
    assert [r.labels_called() for r in named] == ["subjA/labels.png", "subjB/labels.png"]


def test_labels_are_named_by_their_own_files(tmp_path):
    """Before: the labels were named by their images ('a.png', 'b.png'); the labels' folders tell them apart."""
    references = [subject(tmp_path / "subjA", "000", "a.png"), subject(tmp_path / "subjB", "002", "b.png")]
    named = Request(references, target()).references
    assert [r.name for r in named] == ["a.png", "b.png"]
    assert [r.labels_called() for r in named] == ["subjA/labels.png", "subjB/labels.png"]


def test_a_repeated_reference_is_named_with_its_labels(tmp_path):
    """Before: "reference 'image.png (2)' (labels 'image.png (2)') is a copy of 'image.png' (labels 'image.png')"."""
    references = [subject(tmp_path / "a", "000"), subject(tmp_path / "c", "000")]
    with pytest.raises(ReferenceInputError) as refused:
        create_engine("registration").run(Request(references, target()))
    assert "reference 'c/image.png' (labels 'c/labels.png') is a copy of 'a/image.png' (labels 'a/labels.png')" in str(refused.value)


def test_a_name_the_caller_gives_is_kept(tmp_path):
    """Only references named by their own files are named by their folders; a caller's own name stays."""
    from dataclasses import replace

    first, second = subject(tmp_path / "subjA", "000"), subject(tmp_path / "subjB", "002")
    assert [r.name for r in Request([replace(first, name="mine"), second], target()).references] == ["mine", "image.png"]
