"""A reference that is a copy of another (the same image, the same voxels) only for a structure the run does not ask
for is served (test_reference_unasked_structures.py), and that structure counts once: before, it voted twice in the
label consensus the references are ranked on, and so changed the ranking and the asked structure's voxels."""

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from rau.engines import Request
from rau.engines.registration import RegistrationEngine
from rau.io import read_image
from rau.references import load_reference
from test_reference_copy_structures import HC18, SPACING, TARGET_SPACING

SHRINK = 4
"""The HC18 pictures are used at a quarter of their size (fast registrations)."""


def small_reference(folder: Path, case: str, structures: tuple[str, ...] = ("Fetal Head", "ring")):
    """HC18 ``case`` at a quarter size in ``folder``, its labels holding ``structures`` of the head (1) and a ring
    around it (2)."""
    folder.mkdir()
    picture = PILImage.open(HC18 / f"{case}_HC.png")
    size = (picture.width // SHRINK, picture.height // SHRINK)
    picture.resize(size, PILImage.BILINEAR).save(folder / "img.png")
    head = np.array(PILImage.open(HC18 / f"{case}_HC_mask.png").resize(size, PILImage.NEAREST)) > 0
    labels = np.zeros(head.shape, np.uint8)
    if "ring" in structures:
        labels[ndimage.binary_dilation(head, iterations=3) & ~head] = 2
    if "Fetal Head" in structures:
        labels[head] = 1
    PILImage.fromarray(labels).save(folder / "labels.png")
    (folder / "labels.labels.csv").write_text("value,name\n1,Fetal Head\n2,ring\n")
    return load_reference(folder / "img.png", folder / "labels.png", float(SPACING) * SHRINK)


def test_a_copy_of_an_unasked_structure_changes_neither_the_ranking_nor_the_asked_voxels(tmp_path):
    """Before: the copy of 000's ring voted twice on the ring, 000 rose from last (0.2494) to first (1.0), and the head
    fused from the best ranked changed."""
    references = [small_reference(tmp_path / case, case) for case in ("000", "003", "005", "007")]
    copy = small_reference(tmp_path / "copy", "000", ("ring",))
    picture = PILImage.open(HC18 / "009_HC.png")
    picture.resize((picture.width // SHRINK, picture.height // SHRINK), PILImage.BILINEAR).save(tmp_path / "target.png")
    target = read_image(tmp_path / "target.png", float(TARGET_SPACING) * SHRINK)
    engine = RegistrationEngine()
    alone = engine.run(Request(references, target, structures=["Fetal Head"]))
    copied = engine.run(Request([*references, copy], target, structures=["Fetal Head"]))
    ranking = [(row["reference"], row["score"]) for row in copied.details["ranking"]]
    assert ranking[:-1] == [(row["reference"], row["score"]) for row in alone.details["ranking"]]
    assert ranking[-1][0] == "copy/img.png"  # the copy, named apart from 000/img.png by its folder, as rau segment names it
    assert np.array_equal(copied.get("Fetal Head").mask, alone.get("Fetal Head").mask)



def test_a_reference_holding_no_asked_structure_leaves_one_other_reference_alone(tmp_path):
    """With one reference holding the asked structure and one holding none of it (a copy of the first's ring, or
    another picture's), the head is the one reference's: before, two references registered upright only (a pool's
    setting), and the head fused from the one holder moved (probed: Dice 0.819 -> 0.739)."""
    reference = small_reference(tmp_path / "000", "000")
    copy = small_reference(tmp_path / "copy", "000", ("ring",))
    other = small_reference(tmp_path / "003", "003", ("ring",))
    picture = PILImage.open(HC18 / "004_HC.png")
    picture.resize((picture.width // SHRINK, picture.height // SHRINK), PILImage.BILINEAR).save(tmp_path / "target.png")
    target = read_image(tmp_path / "target.png", 0.06123984 * SHRINK)  # 004's pixel size
    engine = RegistrationEngine()
    alone = engine.run(Request([reference], target, structures=["Fetal Head"])).get("Fetal Head").mask
    for idle in (copy, other):
        assert np.array_equal(engine.run(Request([reference, idle], target, structures=["Fetal Head"])).get("Fetal Head").mask, alone)
