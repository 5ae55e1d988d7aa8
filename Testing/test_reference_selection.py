"""Reference ranking by label consensus (SIMPLE seeded by image similarity), and its fallback."""

import numpy as np
import pytest
import SimpleITK as sitk

from rau.engines.base import Reference
from rau.engines.registration import Transfer, rank
from rau.image import Image
from rau.labels import Segmentation
from rau.label_transfer import SoftMask
from rau.registration import Registration
from rau.selection import consensus_scores, similarity_weights

SHAPE = (1, 30, 30)
REGION = (slice(0, 1), slice(0, 30), slice(0, 30))


def square(row: int, column: int, size: int = 10) -> SoftMask:
    values = np.zeros(SHAPE, np.float32)
    values[0, row : row + size, column : column + size] = 1.0
    return SoftMask(REGION, values)


def test_a_reference_that_disagrees_with_the_others_scores_lowest():
    masks = [{"head": square(10, 10 + shift)} for shift in (0, 1, 0, 1)] + [{"head": square(0, 18)}]
    scores = consensus_scores(masks, [0.55, 0.5, 0.6, 0.45, 0.58])  # the outlier's image matches better than most
    assert int(np.argmin(scores)) == 4
    assert min(scores[:4]) > 0.85 > 0.2 > scores[4]


def test_a_wrong_majority_does_not_outvote_the_references_that_match_the_image():
    """Registrations fail alike (the same wrong scale): three agree on a wrong place, two better-matching
    references on the right one. A plain vote of all follows the three; the similarity-seeded one does not."""
    wrong = [{"head": square(0, 0)} for _ in range(3)]
    right = [{"head": square(18, 18)}, {"head": square(19, 18)}]
    scores = consensus_scores(wrong + right, [0.30, 0.32, 0.31, 0.60, 0.58])
    assert min(scores[3:]) > 0.85 and max(scores[:3]) < 0.1
    equal = consensus_scores(wrong + right, [0.4] * 5)  # no similarity evidence: the majority decides
    assert min(equal[:3]) == pytest.approx(1.0) and max(equal[3:]) < 0.1


def test_the_similaritys_scale_and_offset_do_not_matter():
    masks = [{"head": square(10, 10 + shift)} for shift in (0, 2, 4, 6, 8)]
    similarity = [0.2, 0.7, 0.4, 0.5, 0.1]
    assert consensus_scores(masks, similarity) == consensus_scores(masks, [10 * s - 3 for s in similarity])
    assert similarity_weights([0.3, 0.3, 0.3]).tolist() == [1.0, 1.0, 1.0]


def test_similarities_apart_by_rounding_noise_give_equal_votes():
    """Three references that each match the target to 0.9999: the two whole ones outvote a partial one, which
    standardizing the noise would have put first."""
    assert similarity_weights([0.99991, 0.99990, 0.99990]).tolist() == [1.0, 1.0, 1.0]
    assert similarity_weights([0.600, 0.600, 0.602]).tolist() == [0.0, 0.0, pytest.approx(np.sqrt(2))]  # 0.002 apart: evidence
    whole, partial = square(10, 10), square(10, 10)
    partial.values[0, 10:15] = 0.0  # covers half the structure
    scores = consensus_scores([{"liver": partial}, {"liver": whole}, {"liver": square(10, 10)}], [0.99991, 0.99990, 0.99990])
    assert scores[0] < min(scores[1:])


def test_missing_structures_and_masks_that_land_outside():
    """A reference lacking a structure is scored on the others; one whose mask landed outside the target scores 0 there."""
    masks = [{"a": square(5, 5), "b": square(15, 15)} for _ in range(3)]
    masks.append({"a": square(5, 5)})
    masks.append({"a": square(5, 5), "b": None})
    scores = consensus_scores(masks, [0.5] * 5)
    assert scores[:4] == pytest.approx([1.0] * 4)
    assert scores[4] == pytest.approx(0.5)
    assert consensus_scores(masks[:2], [0.5, 0.4]) is None  # two references: no consensus


def named(index: int) -> Reference:
    """A reference called ``ref<index>`` whose image is filled with ``index`` (references that tie in a ranking go by
    their voxels' digests)."""
    image = Image(np.full(SHAPE, index, np.float32))
    return Reference(image, Segmentation.from_label_map(image.with_array(np.zeros(SHAPE, np.uint8))), f"ref{index}")


def transfers(masks: list[SoftMask], similarity: list[float]) -> list[Transfer]:
    return [Transfer(named(i), Registration(sitk.Transform(2, sitk.sitkIdentity), s, 0.0), {"head": m}) for i, (m, s) in enumerate(zip(masks, similarity))]


def test_rank_uses_the_consensus_from_three_references_and_the_similarity_below():
    pool = transfers([square(0, 0), square(18, 18), square(19, 18), square(18, 19), square(17, 18)], [0.8, 0.7, 0.7, 0.7, 0.1])
    two = rank(pool[:2], ["head"])
    assert [t.reference.name for t, _ in two] == ["ref0", "ref1"] and [s for _, s in two] == [0.8, 0.7]
    ranked = rank(pool, ["head"])
    assert ranked[-1][0].reference.name == "ref0"  # best by similarity alone, but it agrees with nobody
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.1 < 0.8 < scores[0]


def test_references_no_three_of_which_share_a_structure_are_ranked_and_scored_by_similarity():
    """Before: every score was 0 (no structure had a consensus), as result.json and evaluate's Spearman showed."""
    pool = [Transfer(named(i), Registration(sitk.Transform(2, sitk.sitkIdentity), s, 0.0), {name: square(10, 10)})
            for i, (name, s) in enumerate((("head", 0.7), ("skull", 0.9), ("head", 0.8)))]
    assert [(t.reference.name, s) for t, s in rank(pool, ["head", "skull"])] == [("ref1", 0.9), ("ref2", 0.8), ("ref0", 0.7)]


def test_references_with_one_file_name_keep_their_own_evidence():
    """Three references all called image.nii.gz (subject folders): before, local fusion weighted every one with
    one warped image and the ranking kept one of them; the answer depended on file names."""
    from rau.engines import Reference, Request, create_engine
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation
    from rau.reference_names import distinct_names

    rows, cols = np.mgrid[:48, :48]

    def reference(row, col, radius, name):
        disk = (rows - row) ** 2 + (cols - col) ** 2 < radius**2
        image = Image((60.0 + 100.0 * disk + 3.0 * np.sin(cols / 3.0))[None].astype(np.float32), (1.0, 1.0, 1.0), ndim=2)
        labels = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1], {1: "disk"}), {"disk": disk[None]})
        return Reference(image, labels, name)

    target = reference(22, 25, 10, "target").image
    shapes = [(20, 20, 9), (26, 28, 12), (24, 22, 8)]
    engine = create_engine("registration", {"fusion": "local", "deformable": False, "top_k": 3})
    engine.keep_transfers = True  # as rau evaluate does, for its ranking figures
    apart = engine.run(Request([reference(*shape, f"{n}.nii.gz") for n, shape in enumerate(shapes)], target))
    alike = engine.run(Request([reference(*shape, "image.nii.gz") for shape in shapes], target))
    assert len(alike.details["transfers"]) == 3 and len({entry["reference"] for entry in alike.details["ranking"]}) == 3
    np.testing.assert_array_equal(alike.get("disk").mask, apart.get("disk").mask)
    assert distinct_names(["/data/s1/image.nii.gz", "/data/s2/image.nii.gz", "/data/x.png"]) == ["s1/image.nii.gz", "s2/image.nii.gz", "x.png"]


def test_a_reference_without_label_names_among_named_ones_is_refused():
    """Before, it silently added nothing: the named structure was never found in it, yet it counted in the vote."""
    from rau.engines import Reference, Request
    from rau.engines.base import ReferenceInputError, validate_request
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    image = Image(np.arange(64, dtype=np.float32).reshape(1, 8, 8), ndim=2)  # not blank: a blank reference is refused first
    mask = np.zeros((1, 8, 8), bool)
    mask[0, 2:5, 2:5] = True

    def reference(name, names):  # b.png's structure one column over: not a copy of a.png's, which would vote twice
        labels = LabelSet.from_values([255], names)
        drawn = np.roll(mask, 1, axis=2) if name == "b.png" else mask
        return Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, {labels.names[0]: drawn}), name)

    validate_request(Request([reference("a.png", {255: "fetal head"}), reference("b.png", {255: "fetal head"})], image))
    with pytest.raises(ReferenceInputError, match="reference 'b.png' has no names for its labels .* but 'a.png' has"):
        validate_request(Request([reference("a.png", {255: "fetal head"}), reference("b.png", None)], image))


def test_a_structure_fewer_than_three_references_hold_scores_no_one():
    """Alone (or with one other), a reference agrees with itself: before, B's extra "blob" scored it 1.0 there and
    ranked it first, so which references were fused for "square" depended on whether blob was asked for and on the
    order of the references (a first reference lacking blob left it out)."""
    b, c, d = ({"square": square(10, column)} for column in (12, 14, 18))
    with_blob = {**b, "blob": square(0, 0, 4)}
    assert consensus_scores([with_blob, c, d], [0.5] * 3) == consensus_scores([b, c, d], [0.5] * 3)
    assert consensus_scores([d, c, with_blob], [0.5] * 3) == consensus_scores([b, c, d], [0.5] * 3)[::-1]
    scores = consensus_scores([b, c, d], [0.5] * 3)
    assert scores[2] < min(scores[:2])  # D lies furthest from the others


def test_a_structure_a_reference_lists_without_voxels_is_not_warped_for_it():
    """A shared label table names every structure in every reference; before, an empty one was warped as an
    "absent" vote, so references that drew less agreed with each other and outranked the complete ones."""
    from rau.engines import Reference
    from rau.engines.registration import transfer
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation
    from rau.registration import RegistrationSettings

    image = Image((np.indices((1, 32, 32))[2] * 3.0 + 10).astype(np.float32), ndim=2)
    drawn, empty = np.zeros((1, 32, 32), bool), np.zeros((1, 32, 32), bool)
    drawn[0, 8:20, 8:20] = True
    labels = LabelSet.from_values([1, 2], {1: "square", 2: "blob"})
    reference = Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, {"square": drawn, "blob": empty}), "r")
    assert set(transfer(reference, image, ["square", "blob"], RegistrationSettings(deformable=False)).masks) == {"square"}


def test_a_structure_only_a_low_ranked_reference_draws_is_fused_from_it():
    """Each structure is fused from the best-ranked references that have it; before, the overall top-k were used,
    so a structure drawn only in a reference ranked below them was "not found" (no voxels in the reference)."""
    from rau.engines import Reference, Request, create_engine
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    rows, cols = np.mgrid[:40, :40]
    image = Image((50.0 + 40.0 * np.sin(cols / 4.0) + 30.0 * np.cos(rows / 5.0))[None].astype(np.float32), (1.0, 1.0, 1.0), ndim=2)

    def reference(name, column, with_y):
        masks = {"x": ((rows >= 10) & (rows < 20) & (cols >= column) & (cols < column + 10))[None]}
        if with_y:
            masks["y"] = ((rows >= 28) & (rows < 34) & (cols >= 5) & (cols < 11))[None]
        labels = LabelSet.from_values([1, 2][: len(masks)], {1: "x", 2: "y"})
        return Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, masks), name)

    # c.png one column over from b.png: a copy of it would be refused (it would vote twice)
    references = [reference("a.png", 22, True), reference("b.png", 10, False), reference("c.png", 9, False), reference("d.png", 11, False)]
    result = create_engine("registration", {"deformable": False, "top_k": 2}).run(Request(references, image))
    assert [entry["reference"] for entry in result.details["ranking"]][-1] == "a.png"  # it disagrees on x
    assert "a.png" not in result.get("x").prompts["references"]
    y = result.get("y")
    assert y.found and y.prompts["references"] == ["a.png"] and y.mask.sum() == 36


def test_one_image_given_with_two_label_files_is_named_by_each_ones_labels(shared_data, tmp_path, capsys):
    """Before: both were named by the image's whole path (``/.../000_HC.png`` and ``/.../000_HC.png (2)``), in the
    ranking, the structures' references and the warnings."""
    import json
    import shutil

    from rau.cli import main

    folder = shared_data / "hc18_fetal_head_us"
    image = shutil.copy(folder / "images" / "000_HC.png", tmp_path / "000_HC.png")
    shutil.copy(folder / "masks" / "000_HC_mask.png", tmp_path / "head.png")
    halves = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "masks" / "000_HC_mask.png")))
    halves[:, : halves.shape[1] // 2] = np.where(halves[:, : halves.shape[1] // 2] > 0, 2, 0)
    sitk.WriteImage(sitk.GetImageFromArray(halves.astype(np.uint8)), str(tmp_path / "halves.png"))
    other = folder / "images" / "001_HC.png"
    (tmp_path / "other").mkdir()  # an image of the same name elsewhere: both are named by their folders
    namesake = shutil.copy(folder / "images" / "002_HC.png", tmp_path / "other" / "000_HC.png")
    references = ["--reference", str(image), "--reference-labels", str(tmp_path / "head.png"), "--reference", str(image),
                  "--reference-labels", str(tmp_path / "halves.png"), "--reference", str(other), "--reference-labels",
                  str(folder / "masks" / "001_HC_mask.png"), "--reference", str(namesake), "--reference-labels", str(folder / "masks" / "002_HC_mask.png")]
    assert main(["segment", *references, "--target", str(folder / "images" / "018_HC.png"), "--no-deformable",
                 "--out", str(tmp_path / "out.nii.gz")]) == 0
    ranked = {row["reference"] for row in json.loads((tmp_path / "out.result.json").read_text())["ranking"]}
    here = f"{tmp_path.name}/000_HC.png"
    assert ranked == {f"{here} (head.png)", f"{here} (halves.png)", "001_HC.png", "other/000_HC.png"}
    assert "'label_2' is in halves.png but not in the first reference head.png" in capsys.readouterr().err


def test_one_reference_keeps_no_transfers_for_evaluation():
    """rau evaluate asks the engine to keep each reference's own masks for its ranking figures; of one reference they
    rank nothing and its masks are the result: before, a full mask per structure was kept anyway (4 GB for 41 on a CT)."""
    from rau.engines import Reference, Request, create_engine
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    rows, cols = np.mgrid[:40, :40]
    disk = (rows - 20) ** 2 + (cols - 19) ** 2 < 64
    image = Image((60.0 + 100.0 * disk + 3.0 * np.sin(cols / 3.0))[None].astype(np.float32), (1.0, 1.0, 1.0), ndim=2)
    labels = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1], {1: "disk"}), {"disk": disk[None]})
    engine = create_engine("registration", {"deformable": False, "keep_transfers": True})
    result = engine.run(Request([Reference(image, labels, "one.nii.gz")], image))
    assert result.get("disk").found and "transfers" not in result.details


def test_warping_and_fusing_report_each_structure():
    """The bar sat at 47.5% through the whole warp (44 s for 41 structures on a CT) and jumped from 50% to 100% across
    the fusion; now each structure warped and fused is a report, where a cancelled Progress raises."""
    from rau.engines import Progress, Reference, Request, create_engine
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation

    rows, cols = np.mgrid[:40, :40]
    disks = {"left": (rows - 20) ** 2 + (cols - 12) ** 2 < 30, "right": (rows - 20) ** 2 + (cols - 27) ** 2 < 30}
    image = Image((60.0 + 100.0 * (disks["left"] | disks["right"]) + 3.0 * np.sin(cols / 3.0))[None].astype(np.float32), (1.0, 1.0, 1.0), ndim=2)
    labels = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1, 2], {1: "left", 2: "right"}),
                          {name: disk[None] for name, disk in disks.items()})
    reports = []
    create_engine("registration", {"deformable": False}).run(Request([Reference(image, labels, "one.nii.gz")], image),
                                                             Progress(lambda step, fraction: reports.append((step, fraction))))
    warping = [fraction for step, fraction in reports if step.startswith("registering") and 0.25 <= fraction < 0.5]
    fusing = [fraction for step, fraction in reports if step == "fusing labels" and 0.5 < fraction < 1.0]
    assert len(warping) >= 2 and len(fusing) >= 1 and [f for _, f in reports] == sorted(f for _, f in reports)


def test_a_reference_holding_none_of_the_ranked_structures_changes_no_ones_votes():
    """An angiogram reference (labels S1..S16) in a pool of head ultrasounds: before, its low similarity lowered the
    pool's mean similarity, so heads below the others' mean got votes and the ranking and fused head changed."""
    heads = [{"head": square(10, column)} for column in (10, 14, 18, 18)]
    similarity = [0.60, 0.58, 0.50, 0.49]
    alone = consensus_scores(heads, similarity)
    assert alone == [1.0, 0.6, 0.2, 0.2]  # only the two best-matching heads vote, and the best holds most votes
    unrelated = {"S1": square(0, 0, 4)}
    assert consensus_scores(heads + [unrelated], similarity + [0.05]) == alone + [0.0]
    assert consensus_scores([unrelated] + heads, [0.95] + similarity)[1:] == alone
