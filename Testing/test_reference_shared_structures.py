"""A reference of the same image as another that holds some of its structures (matched by name) with the same voxels
votes twice on those: refused naming them, whatever other structures either holds. The same image with other voxels
for a structure is another reference. Each reference's structures are hashed once per check, only where its image is
another's."""

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from rau.engines.base import Reference, check_references
from rau.io import read_image
from rau.labels import LabelSet, Segmentation, Structure
from test_reference_copy_structures import HC18, SPACING, assert_refused_as_copy, reference_copy, segment


def with_ring(folder: Path, dilated: bool = False, ring_width: int = 8) -> Path:
    """``folder``'s labels with a second structure, ``ring``, ``ring_width`` pixels wide around the head; the head
    itself dilated if ``dilated``."""
    head = np.array(PILImage.open(folder / "mask.png")) > 0
    grown = ndimage.binary_dilation(head, iterations=ring_width)
    labels = np.zeros(head.shape, np.uint8)
    labels[grown & ~head] = 2
    labels[ndimage.binary_dilation(head, iterations=2) if dilated else head] = 1
    PILImage.fromarray(labels).save(folder / "two.png")
    (folder / "two.labels.csv").write_text("value,name\n1,Fetal Head\n2,ring\n")
    return folder / "two.png"


def test_a_reference_sharing_one_structure_of_the_same_image_is_refused(tmp_path, capsys):
    """Before: accepted (exit 0), the head fused from both: only references whose every structure matched were refused."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    superset = with_ring(reference_copy(tmp_path / "c", 255, "unused"))
    assert_refused_as_copy(tmp_path, capsys, segment(tmp_path, superset),
                           "reference 'c/img.png' (labels 'two.png') is a copy of 'a/img.png' (labels 'mask.png') for 'Fetal Head'")


def test_the_same_image_with_other_voxels_for_a_structure_is_accepted(tmp_path, capsys):
    """Another outline of the head on the same image is another opinion of it: it votes once."""
    reference_copy(tmp_path / "a", 255, "fetal head", compress_level=9)
    other = with_ring(reference_copy(tmp_path / "c", 255, "unused"), dilated=True)
    assert segment(tmp_path, other) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "seg.nii.gz").exists()


def test_each_reference_is_hashed_once_and_only_where_its_image_is_anothers(monkeypatch):
    """Before: every pair of references of one image hashed both references' structures again (4 references: 12)."""
    image = read_image(HC18 / "000_HC.png", float(SPACING))
    head = np.array(PILImage.open(HC18 / "000_HC_mask.png")) > 0
    labels = LabelSet((Structure("head", 1),))
    references = [Reference(image, Segmentation.from_label_map(image.with_array(np.roll(head, 3 * shift, axis=-1)[None].astype(np.uint8)),
                                                               labels), name=f"r{shift}") for shift in range(4)]
    elsewhere = Reference(read_image(HC18 / "001_HC.png", float(SPACING)), references[0].segmentation, name="other")
    hashed = []
    digests = Segmentation.structure_digests
    monkeypatch.setattr(Segmentation, "structure_digests", lambda self: hashed.append(self) or digests(self))
    check_references(references + [elsewhere])
    assert len(hashed) == 4
