"""The registration engine on real images moved by known transforms: global start, slabs, ranking, fusion."""

import numpy as np
import pytest
import SimpleITK as sitk

from rau.engines import Request, create_engine
from rau.engines.base import Reference, ReferenceInputError
from rau.engines.registration import RegistrationEngine
from rau.fusion import dice, fuse
from rau.image import GeometryError, Image, orient_lps_mask
from rau.label_transfer import SoftMask
from rau.labels import LabelSet, Segmentation, Structure, UnknownStructureError
from rau.references import load_reference
from rau.registration import UPRIGHT, RegistrationSettings, register

from light_registration import light_registration_engine, light_settings

HC18_SPACING = {"001": 0.08965852, "002": 0.062032563, "003": 0.091291168}


def moved(image: Image, transform: sitk.Transform, grid: sitk.Image, labels: bool) -> Image:
    """``image`` resampled through ``transform`` onto ``grid`` (a new patient position)."""
    interpolator = sitk.sitkNearestNeighbor if labels else sitk.sitkLinear
    return Image.from_sitk(sitk.Resample(image.to_sitk(), grid, transform, interpolator, 0.0 if labels else float(image.array.min())))


@pytest.fixture(scope="module")
def ct_a(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")


@pytest.fixture(scope="module")
def hc18(shared_data):
    folder = shared_data / "hc18_fetal_head_us"
    return {n: load_reference(folder / f"images/{n}_HC.png", folder / f"masks/{n}_HC_mask.png", s) for n, s in HC18_SPACING.items()}


def moved_slab(reference: Reference):
    """12 slices of the reference, rotated 4 degrees, moved 10 mm in-plane and 600 mm along z."""
    source = reference.image.to_sitk()
    grid = sitk.Image([source.GetWidth(), source.GetHeight(), 12], sitk.sitkInt16)
    grid.SetSpacing(source.GetSpacing())
    grid.SetDirection(source.GetDirection())
    grid.SetOrigin(source.TransformIndexToPhysicalPoint([0, 0, 10]))
    grid.SetOrigin((grid.GetOrigin()[0], grid.GetOrigin()[1], grid.GetOrigin()[2] - 600))
    rigid = sitk.Euler3DTransform(source.TransformContinuousIndexToPhysicalPoint([60, 50, 15]), 0, 0, np.deg2rad(4), (10.0, -6.0, 600.0))
    image = moved(reference.image, rigid, grid, labels=False)
    masks = {n: moved(reference.segmentation.geometry.with_array(m.astype(np.uint8)), rigid, grid, labels=True).array > 0 for n, m in reference.segmentation.masks.items()}
    return image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), reference.segmentation.labels, masks)


def test_thin_slab_far_away_is_found_and_not_squashed(ct_a):
    target, truth = moved_slab(ct_a)
    registration = register(target, ct_a.image, light_settings(deformable=False), moving_focus=ct_a.segmentation.to_label_map().array > 0)
    scales = np.linalg.norm(np.reshape(registration.transform.GetMatrix(), (3, 3)), axis=0)
    assert scales == pytest.approx(1.0, abs=0.1)
    result = light_registration_engine(deformable=False).run(Request([ct_a], target, ["label_5", "label_1", "label_52"]))
    scores = [dice(result.get(n).mask, truth.mask(n)) for n in ("label_5", "label_1", "label_52")]  # liver, spleen, aorta
    assert min(scores) > 0.7, scores  # 0.988 on the light settings


def similarity_copy(reference: Reference, scale: float, shift: tuple[float, float], spacing: float, degrees: float = 6.0) -> tuple[Image, np.ndarray]:
    """The reference picture seen at another zoom, turn and position, on a new pixel grid (a new 'patient')."""
    source = reference.image.to_sitk()
    centre = source.TransformContinuousIndexToPhysicalPoint([400, 270])
    transform = sitk.Similarity2DTransform(1 / scale, np.deg2rad(degrees), shift, centre)
    grid = sitk.Image([800, 540], sitk.sitkUInt8)
    grid.SetSpacing((spacing, spacing))
    grid.SetOrigin((centre[0] - 400 * spacing, centre[1] - 270 * spacing))
    image = moved(reference.image, transform, grid, labels=False)
    mask = moved(reference.segmentation.geometry.with_array(reference.segmentation.mask("label_255").astype(np.uint8)), transform, grid, labels=True)
    return image, mask.array > 0


def test_2d_ultrasound_under_a_known_similarity_transform(hc18):
    target, truth = similarity_copy(hc18["001"], 1.25, (3.0, -2.0), 0.1)
    result = create_engine("registration", {}).run(Request([hc18["001"]], target))
    assert dice(result.get("label_255").mask, truth) > 0.85


def test_a_single_reference_turned_far_is_found_by_the_turned_starts(hc18):
    target, truth = similarity_copy(hc18["002"], 1.2, (2.0, -1.0), 0.08, degrees=-40.0)
    request = Request([hc18["002"]], target)
    turned = create_engine("registration", {"deformable": False}).run(request)
    upright = RegistrationEngine(RegistrationSettings(deformable=False, start_angles=UPRIGHT)).run(request)
    assert dice(turned.get("label_255").mask, truth) > 0.85
    assert dice(upright.get("label_255").mask, truth) < 0.8  # the upright starts alone miss this turn


def test_a_pool_of_references_registers_upright_only(hc18):
    engine = create_engine("registration", {})
    assert engine.settings_for([hc18["001"]]) == engine.settings
    assert engine.settings_for([hc18["001"], hc18["002"]]).start_angles == UPRIGHT


def test_ranking_puts_the_matching_reference_first(hc18):
    target, truth = similarity_copy(hc18["001"], 1.1, (2.0, 1.0), 0.09)
    references = [hc18["002"], hc18["001"], hc18["003"]]
    engine = light_registration_engine(top_k=1)  # Dice 0.992 on the light settings, 0.996 on the defaults
    result = engine.run(Request(references, target))
    assert result.details["ranking"][0]["reference"] == "001_HC.png"
    order = [entry["reference"] for entry in result.details["ranking"]]
    ranked, ranking = engine.ranked_references(Request(references, target))
    assert [r.name for r in ranked.references] == [entry["reference"] for entry in ranking] == order  # one ranking for every engine
    assert dice(result.get("label_255").mask, truth) > 0.85
    assert result.get("label_255").prompts["references"] == ["001_HC.png"]


def test_references_spelling_a_structure_otherwise_all_take_part(hc18):
    """Before, a reference naming the head "LABEL 255" (as "label_255" elsewhere) was left out of the fusion without
    a word: fewer voters, a lower confidence, another mask."""
    from dataclasses import replace


    target, _ = similarity_copy(hc18["001"], 1.1, (2.0, 1.0), 0.09)
    other = hc18["003"].segmentation
    spelled = Segmentation(other.geometry, LabelSet((Structure("LABEL 255", 255),), named=False), {"LABEL 255": other.masks["label_255"]})
    references = [hc18["002"], hc18["001"], hc18["003"]]
    engine = light_registration_engine(deformable=False, top_k=3)
    same = engine.run(Request(references, target)).get("label_255")
    spelled_apart = engine.run(Request([*references[:2], replace(references[2], segmentation=spelled)], target)).get("label_255")
    assert np.array_equal(spelled_apart.mask, same.mask) and spelled_apart.confidence == same.confidence


def test_structure_outside_the_target_is_reported_not_found(ct_a):
    image = ct_a.image
    top = Image(image.array[20:].copy(), image.spacing, tuple(image.to_world([0, 0, 20])), image.direction)
    below = [n for n, m in ct_a.segmentation.masks.items() if m.any() and not m[18:].any()]
    assert below, "fixture needs a structure below slice 18"
    result = light_registration_engine(deformable=False).run(Request([ct_a], top, below[:1]))
    item = result.get(below[0])
    assert not item.found and "outside" in item.message


def test_a_structure_smaller_than_the_targets_pixels_is_not_said_to_land_outside(hc18):
    """A 2-pixel dot in the middle of the head, onto the same picture at a quarter of its resolution: it lands inside,
    on no target pixel by half. Before: "lands outside the target after registration"."""
    reference = hc18["001"]
    labels = np.zeros(reference.image.shape, np.uint8)
    labels[0, 270, 400:402] = 1
    dot = Reference(reference.image, Segmentation.from_label_map(reference.image.with_array(labels), LabelSet((Structure("dot", 1),))))
    spacing = reference.image.spacing
    coarse = Image(reference.image.array[:, ::4, ::4].copy(), spacing=(4 * spacing[0], 4 * spacing[1], 1.0), ndim=2)
    item = create_engine("registration", {"deformable": False}).run(Request([dot], coarse)).get("dot")
    assert not item.found and "smaller than the target's voxels" in item.message


def test_bad_requests_give_clear_errors(ct_a, hc18):
    engine = create_engine("registration", {})
    with pytest.raises(GeometryError, match="2D but the target is 3D"):
        engine.run(Request([hc18["001"]], ct_a.image))
    with pytest.raises(UnknownStructureError, match="unknown structure 'heart'"):
        engine.run(Request([hc18["001"]], hc18["002"].image, ["heart"]))
    empty = Reference(hc18["001"].image, Segmentation(hc18["001"].segmentation.geometry, hc18["001"].segmentation.labels, {"label_255": np.zeros((1, 540, 800), bool)}))
    with pytest.raises(ReferenceInputError, match="no labelled voxels"):
        engine.run(Request([empty], hc18["002"].image))


def test_vote_and_staple_fusion_with_agreement():
    shape = (1, 6, 6)
    masks = []
    for columns in (slice(0, 4), slice(1, 5), slice(0, 4)):
        values = np.zeros(shape, np.float32)
        values[0, :, columns] = 1.0
        masks.append(SoftMask((slice(0, 1), slice(0, 6), slice(0, 6)), values))
    fused, agreement = fuse(masks, "vote")
    expected = np.zeros(shape, bool)
    expected[0, :, 0:4] = True
    np.testing.assert_array_equal(fused.inside(shape), expected)
    assert agreement == pytest.approx((1 + 0.75 + 1) / 3)
    staple, _ = fuse(masks, "staple")
    np.testing.assert_array_equal(staple.inside(shape), expected)
    with pytest.raises(ValueError, match=r"option fusion \(--fusion\): 'mean' is not one of local, vote, staple"):
        fuse(masks, "mean")


def test_staple_keeps_a_structure_every_reference_places_over_their_whole_box():
    """Before: STAPLE answered NaN where no reference called any voxel outside, and the structure was dropped as one
    the references "agree on no voxel"."""
    shape, region = (1, 5, 7), (slice(0, 1), slice(0, 5), slice(0, 7))
    masks = [SoftMask(region, np.ones(shape, np.float32)) for _ in range(3)]
    fused, agreement = fuse(masks, "staple")
    assert (fused.inside(shape)).all() and agreement == 1.0


def test_a_vote_split_in_half_goes_the_way_of_the_best_ranked_reference_and_staple_votes_two():
    """Before: a voxel one of two references covered was background, so two references gave their intersection and
    a reference that matched the target exactly was cut down by the other (Dice 0.47 for a copy of the target)."""
    shape, region = (1, 6, 6), (slice(0, 1), slice(0, 6), slice(0, 6))
    best, other = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    best[0, :, 0:4], other[0, :, 2:6] = 1.0, 1.0
    for first, second in ((best, other), (other, best)):
        fused, _ = fuse([SoftMask(region, first), SoftMask(region, second)], "vote")
        np.testing.assert_array_equal(fused.inside(shape), first > 0.5)
    four = [SoftMask(region, mask) for mask in (best, best, other, other)]
    np.testing.assert_array_equal(fuse(four, "vote")[0].inside(shape), best > 0.5)
    two = [SoftMask(region, best), SoftMask(region, other)]  # before, STAPLE gave about their intersection
    np.testing.assert_array_equal(fuse(two, "staple")[0].inside(shape), best > 0.5)
    flat = np.ones(shape, np.float32)  # equal local weights everywhere: before, local fusion gave the intersection too
    np.testing.assert_array_equal(fuse(two, "local", flat, [flat, flat])[0].inside(shape), best > 0.5)


def test_two_references_agree_as_much_as_they_overlap():
    """Their fused mask is mostly the first's; before, the agreement counted the first's Dice to itself, so two
    references sharing no voxel gave confidence 0.5 (not flagged for review) with every fusion."""
    shape, region = (1, 6, 6), (slice(0, 1), slice(0, 6), slice(0, 6))
    left, right, middle = (np.zeros(shape, np.float32) for _ in range(3))
    left[0, :, 0:3], right[0, :, 3:6], middle[0, :, 1:5] = 1.0, 1.0, 1.0
    flat = np.ones(shape, np.float32)
    for method, evidence in (("vote", {}), ("staple", {}), ("local", {"target": flat, "warped": [flat, flat]})):
        assert fuse([SoftMask(region, left), SoftMask(region, right)], method, **evidence)[1] == 0.0
        assert fuse([SoftMask(region, left), SoftMask(region, middle)], method, **evidence)[1] == pytest.approx(2 * 12 / (18 + 24))


def test_local_fusion_follows_the_reference_that_matches_the_target_there():
    shape = (1, 40, 40)
    rng = np.random.default_rng(0)
    target = rng.normal(0.0, 1.0, shape).astype(np.float32)
    region = (slice(0, 1), slice(0, 40), slice(0, 40))
    matching, other = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    matching[0, 5:30, 5:30] = 1.0
    other[0, 15:40, 15:40] = 1.0
    masks = [SoftMask(region, matching), SoftMask(region, other), SoftMask(region, other.copy())]
    unrelated = [rng.normal(0.0, 1.0, shape).astype(np.float32) for _ in range(2)]
    fused, _ = fuse(masks, "local", target, [target + 0.1 * rng.normal(0.0, 1.0, shape).astype(np.float32), *unrelated])
    np.testing.assert_array_equal(fused.inside(shape), matching > 0.5)  # one matching reference outvotes two others
    voted, _ = fuse(masks, "vote")
    np.testing.assert_array_equal(voted.inside(shape), other > 0.5)
    with pytest.raises(ValueError, match="needs the target"):
        fuse(masks, "local")


@pytest.mark.parametrize("slices", [2, 3])
def test_a_slab_of_two_or_three_slices_registers(ct_a, slices):
    """Too thin for ITK's recursive smoothing (4 voxels an axis); the working image is smoothed another way."""
    source = ct_a.image.to_sitk()
    grid = sitk.Image([source.GetWidth(), source.GetHeight(), slices], sitk.sitkInt16)
    grid.SetSpacing(source.GetSpacing())
    grid.SetDirection(source.GetDirection())
    grid.SetOrigin(source.TransformIndexToPhysicalPoint([0, 0, 14]))
    target = moved(ct_a.image, sitk.Transform(), grid, labels=False)
    truth = moved(ct_a.segmentation.geometry.with_array(ct_a.segmentation.mask("label_5").astype(np.uint8)), sitk.Transform(), grid, labels=True)
    result = create_engine("registration", {}).run(Request([ct_a], target, ["label_5"]))  # the light settings miss the collapse
    liver = result.get("label_5")
    assert liver.mask.shape == target.shape and target.ndim == 3
    assert dice(liver.mask, truth.array > 0) > 0.7  # 2 slices: the affine stage collapsed unjudged (Dice 0.41 on a probe's copy)


def stored(image: sitk.Image, order: str | None) -> sitk.Image:
    """The same voxels in another storage order (``"RAS"``: columns to the patient's right, ...); None: as given."""
    return sitk.DICOMOrient(image, order) if order else image


@pytest.mark.parametrize("order", [None, "LPS", "PLS", "ASL"])
def test_a_volume_with_a_small_field_of_view_registers_onto_its_moved_copy(ct_a, order):
    """30 x 25 mm in-plane (0.5 mm voxels, as a small-field MR or a cropped CT): the 3 mm working floor left
    about ten working voxels across it (Dice 0.65-0.93 on a copy of itself); now at least half the working size.
    Whatever the voxel order: the coarse fit drifted off the exact start the header gives (stored LPS, PLS or
    ASL: one organ 0.94, 0.82, 0.89)."""
    source = ct_a.image.to_sitk()[::2, ::2, :]
    labels = ct_a.segmentation.to_label_map().to_sitk()[::2, ::2, :]
    for image in (source, labels):
        image.SetSpacing((0.5, 0.5, 5.0))
        image.SetOrigin((0.0, 0.0, 0.0))
    source, labels = stored(source, order), stored(labels, order)
    reference = Reference(Image.from_sitk(source), Segmentation.from_label_map(Image.from_sitk(labels), ct_a.segmentation.labels), "small")
    moved_source = sitk.Image(source)
    moved_source.SetOrigin(np.add(source.GetOrigin(), (40.0, -25.0, 60.0)).tolist())  # the header alone moves it
    target = Image.from_sitk(moved_source)
    result = create_engine("registration", {"deformable": False}).run(Request([reference], target, ["label_5", "label_1"]))
    for name in ("label_5", "label_1"):
        assert dice(result.get(name).mask, reference.segmentation.mask(name)) > 0.99, name


def test_a_target_of_inverted_contrast_is_registered_as_its_positive_is(ct_a):
    """CT A turned and moved, and its negative (bright bone dark): the mutual information that drives the fit is the
    same for both, and now so is the correlation each stage must raise. Before, the negative's better fits lowered the
    signed correlation and were thrown away (mean Dice 0.60 against 0.95 on such a pair, every confidence 0)."""
    source = ct_a.image.to_sitk()
    rigid = sitk.Euler3DTransform(source.TransformContinuousIndexToPhysicalPoint([60, 50, 15]), 0, 0, 0.08, (6.0, -4.0, 3.0))
    target = moved(ct_a.image, rigid, source, labels=False)
    negative = target.with_array(target.array.max() + target.array.min() - target.array)
    names = ["label_5", "label_1", "label_2"]
    results = [light_registration_engine(deformable=False).run(Request([ct_a], image, names)) for image in (target, negative)]
    for name in names:
        positive, inverted = (result.get(name) for result in results)
        assert dice(inverted.mask, positive.mask) > 0.95 and inverted.confidence > 0.5, name


def test_one_answer_whatever_the_voxel_order_of_either_volume(ct_a, shared_data):
    """One scan saved by two converters (RAS, LPS, axes swapped) is one scan: the engine registers both volumes in
    LPS voxel order, and samples its displacement field for the labels in that order too. Before, each order had its
    own working grids and answer (Dice 0.44-0.71 between the answers for a CT reference onto another subject's MR);
    then the field, sampled in the target's own order, still moved 1-4 voxels of these three organs."""
    target = Image.from_sitk(sitk.ReadImage(str(shared_data / "totalseg_test_fixtures/subjC_mr/image.nii.gz")))
    answers = []
    for reference_order, target_order in ((None, None), ("PLS", "RAS"), ("LPS", "ASL")):
        reference = Reference(Image.from_sitk(stored(ct_a.image.to_sitk(), reference_order)),
                              Segmentation.from_label_map(Image.from_sitk(stored(ct_a.segmentation.to_label_map().to_sitk(), reference_order)),
                                                          ct_a.segmentation.labels), "A")
        stored_target = Image.from_sitk(stored(target.to_sitk(), target_order))
        # Deformable, its field sampled too: a field sampled in the stored order moved 1-11 voxels on a 96 grid (on 64: none).
        result = light_registration_engine(working_size=96).run(Request([reference], stored_target, ["label_5", "label_1", "label_3"]))
        answers.append([orient_lps_mask(stored_target, result.get(name).mask) for name in ("label_5", "label_1", "label_3")])
    for answer in answers[1:]:
        for first, other in zip(answers[0], answer):
            np.testing.assert_array_equal(first, other)


def test_local_fusion_gives_one_answer_whatever_the_voxel_order_of_the_target(ct_a, shared_data):
    """Local fusion weighs each reference in windows cut from the structure's box: boxes and windows followed the
    target's own voxel order, so the MR stored as its file has it and stored SRA got other answers (5 voxels here). The
    labels are carried and fused in LPS voxel order now, and come back in the target's own order."""
    folder = shared_data / "totalseg_test_fixtures/subjB_ct"
    ct_b = load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")
    target = sitk.ReadImage(str(shared_data / "totalseg_test_fixtures/subjC_mr/image.nii.gz"))
    engine = light_registration_engine(deformable=False, fusion="local", keep_transfers=True)
    names = ["label_5", "label_1", "label_3"]
    answers = []
    for order in (None, "SRA"):
        stored_target = Image.from_sitk(stored(target, order))
        result = engine.run(Request([ct_a, ct_b], stored_target, names))
        assert all(result.get(name).mask.shape == stored_target.shape for name in names)
        first_transfer = result.details["transfers"]["subjA_ct/image.nii.gz"]["label_1"]  # ct_a's image.nii.gz, named by its folder
        answers.append([orient_lps_mask(stored_target, mask) for mask in [result.get(name).mask for name in names] + [first_transfer]])
    for first, other in zip(*answers):
        np.testing.assert_array_equal(first, other)


def test_an_empty_reference_structure_asked_for_is_reported_as_empty(hc18):
    reference = hc18["001"]
    labels = LabelSet.from_values([1, 2], {1: "fetal head", 2: "not drawn"})
    masks = {"fetal head": reference.segmentation.mask("label_255"), "not drawn": np.zeros(reference.image.shape, bool)}
    empty = Reference(reference.image, Segmentation(reference.segmentation.geometry, labels, masks), "001")
    result = light_registration_engine(deformable=False).run(Request([empty], hc18["002"].image, ["fetal head", "not drawn"]))
    assert result.get("fetal head").found
    assert not result.get("not drawn").found and result.get("not drawn").message == "has no voxels in the reference"
    again = Reference(hc18["003"].image, Segmentation(hc18["003"].segmentation.geometry, labels, {"fetal head": hc18["003"].segmentation.mask("label_255"),
                                                                                                "not drawn": np.zeros(hc18["003"].image.shape, bool)}), "003")
    result = light_registration_engine(deformable=False).run(Request([empty, again], hc18["002"].image, ["not drawn"]))
    assert result.get("not drawn").message == "has no voxels in any reference"  # before: "in the reference", as if one


def test_one_structure_name_alone_and_a_hand_edit_of_the_wrong_shape(hc18):
    from rau.errors import InputError

    request = Request([hc18["001"]], hc18["002"].image, "label_255")
    assert request.labels().names == ["label_255"]  # not its letters
    result = create_engine("registration", {"deformable": False}).run(request)
    with pytest.raises(InputError, match="the edited mask of 'label_255' has shape \\(1, 5, 5\\); the target's is"):
        result.session.edit("label_255", np.zeros((1, 5, 5), bool))


@pytest.mark.parametrize("slices", [2, 3])
def test_a_reference_slab_of_two_or_three_slices_finds_its_slices_in_a_whole_scan(ct_a, slices):
    """Before: every start failed in ITK's smoothing of the moving image (it needs 4 voxels an axis), and the
    error said the images did not overlap."""
    source, labels = ct_a.image.to_sitk()[:, :, 13 : 13 + slices], ct_a.segmentation.to_label_map().to_sitk()[:, :, 13 : 13 + slices]
    slab = Reference(Image.from_sitk(source), Segmentation.from_label_map(Image.from_sitk(labels), ct_a.segmentation.labels), "slab")
    liver = light_registration_engine().run(Request([slab], ct_a.image, ["label_5"])).get("label_5").mask
    truth = ct_a.segmentation.mask("label_5")
    assert set(np.flatnonzero(liver.any(axis=(1, 2)))) <= set(range(12, 15 + slices))
    assert dice(liver[13 : 13 + slices], truth[13 : 13 + slices]) > 0.9  # 1.000 on the light settings


def test_padding_far_below_the_intensities_and_a_stray_extreme_voxel_do_not_mislead_registration(ct_a):
    """Before: CT A onto a copy of itself padded with -32768 outside its scan circle (as DICOM often is) gave liver
    Dice 0.65; one voxel of 1e20 gave 0.26; a fill of -3.4e38 failed with an internal error."""
    array = ct_a.image.array.astype(np.float32)
    rows, columns = np.mgrid[: array.shape[1], : array.shape[2]]
    outside = (rows - array.shape[1] / 2) ** 2 + (columns - array.shape[2] / 2) ** 2 > (array.shape[2] / 2) ** 2
    engine = light_registration_engine(deformable=False)
    for fill in (-32768.0, -np.finfo(np.float32).max):
        padded = array.copy()
        padded[:, outside] = fill
        liver = engine.run(Request([ct_a], ct_a.image.with_array(padded), ["label_5"])).get("label_5").mask
        assert dice(liver, ct_a.segmentation.mask("label_5")) > 0.97, fill
    hot = array.copy()
    hot[15, 50, 60] = 1e20
    liver = engine.run(Request([ct_a], ct_a.image.with_array(hot), ["label_5"])).get("label_5").mask
    assert dice(liver, ct_a.segmentation.mask("label_5")) > 0.97


def test_a_blank_image_is_named_as_blank_not_as_elsewhere(ct_a, hc18, tmp_path, capsys):
    """Before: "reference and target do not overlap from any starting position; are they the same body region?"; then
    "the target image holds one value", naming no file, once the registration had begun."""
    from rau.cli import main
    from rau.errors import InputError
    from rau.io import write_image
    from rau.registration import RegistrationError, register

    blank = hc18["002"].image.with_array(np.zeros(hc18["002"].image.shape, np.float32))
    engine = create_engine("registration", {"deformable": False})
    with pytest.raises(InputError, match=r"the target 'blank.nrrd' holds one value \(0\) everywhere: a blank image"):
        engine.run(Request([hc18["001"]], blank, target_name="blank.nrrd"))
    with pytest.raises(RegistrationError, match=r"the target image holds one value \(0\) everywhere: a blank image"):
        register(blank, hc18["001"].image)
    paths = [str(write_image(image, tmp_path / name)) for image, name in ((hc18["001"].image, "reference.nrrd"), (hc18["001"].segmentation.to_label_map(), "labels.nrrd"), (blank, "blank.nrrd"))]
    assert main(["segment", "--reference", paths[0], "--reference-labels", paths[1], "--target", paths[2], "--out", str(tmp_path / "out.nii.gz")]) == 2
    assert "error: the target 'blank.nrrd' holds one value (0) everywhere" in capsys.readouterr().err
    assert not (tmp_path / "out.nii.gz").exists()


def test_an_image_of_a_few_voxels_is_refused_naming_it(ct_a, tmp_path, capsys):
    """Before: a 2 x 2 x 2 target stopped with an internal error (ITK: "Zero-valued spacing is not supported"), and as
    a reference gave "reference and target do not overlap from any starting position"."""
    from rau.cli import main
    from rau.io import write_image

    from rau.image import Image

    spacing = tuple(n * s / 2 for n, s in zip(ct_a.image.size, ct_a.image.spacing))  # the CT's extent in 2 x 2 x 2 voxels
    tiny = Image(np.arange(8, dtype=np.float32).reshape(2, 2, 2), spacing, ct_a.image.origin, ct_a.image.direction)
    paths = {"ct": write_image(ct_a.image, tmp_path / "ct.nii.gz"), "labels": write_image(ct_a.segmentation.to_label_map(), tmp_path / "labels.nii.gz"),
             "tiny": write_image(tiny, tmp_path / "tiny.nii.gz")}
    arguments = ["segment", "--reference", str(paths["ct"]), "--reference-labels", str(paths["labels"]), "--target", str(paths["tiny"]),
                 "--out", str(tmp_path / "out.nii.gz"), "--no-deformable"]
    assert main(arguments) == 2
    assert "error: the target 'tiny.nii.gz' has 2 x 2 x 2 voxels, too few to hold anatomy to match" in capsys.readouterr().err
    assert not (tmp_path / "out.nii.gz").exists()
    from rau.validation import tiny_image_problem

    assert tiny_image_problem(Image(ct_a.image.array[:2]), "a slab of two slices") is None  # is matched


def test_a_blank_reference_among_several_is_named_before_any_registration(hc18, tmp_path, capsys):
    """Before: "the reference image holds one value ..." named none of the references, once the ones before it had been
    registered."""
    from dataclasses import replace

    from rau.cli import main
    from rau.engines.base import Progress, ReferenceInputError
    from rau.io import write_image

    blank = replace(hc18["001"], image=hc18["001"].image.with_array(np.full(hc18["001"].image.shape, 77, np.float32)), name="blank.nrrd")
    steps = []
    with pytest.raises(ReferenceInputError, match=r"reference 'blank.nrrd' holds one value \(77\) everywhere: a blank image"):
        create_engine("registration", {"deformable": False}).run(Request([hc18["001"], blank], hc18["002"].image), Progress(lambda step, _: steps.append(step)))
    assert steps == []
    paths = {}
    for name, image in (("reference", hc18["001"].image), ("blank", blank.image), ("target", hc18["002"].image)):
        paths[name] = str(write_image(image, tmp_path / f"{name}.nrrd"))
    labels = [str(write_image(hc18["001"].segmentation.to_label_map(), tmp_path / f"labels{n}.nrrd")) for n in (1, 2)]
    arguments = ["segment", "--reference", paths["reference"], "--reference-labels", labels[0], "--reference", paths["blank"],
                 "--reference-labels", labels[1], "--target", paths["target"], "--out", str(tmp_path / "out.nii.gz")]
    assert main(arguments) == 2
    assert "reference 'blank.nrrd' holds one value (77) everywhere" in capsys.readouterr().err
    assert not (tmp_path / "out.nii.gz").exists()


def test_registrations_in_two_threads_give_what_they_give_one_after_another(hc18):
    """ITK's thread count is process-wide: before, two threads registering at once changed each other's results."""
    from concurrent.futures import ThreadPoolExecutor

    pairs = [(hc18["002"].image, hc18["001"].image), (hc18["003"].image, hc18["002"].image)] * 2
    settings = light_settings(deformable=False)
    alone = [register(fixed, moving, settings).transform.GetParameters() for fixed, moving in pairs]
    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)
    try:
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda pair: register(*pair, settings).transform.GetParameters(), pairs))
        assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 2  # before: left at 1 by the thread that finished last
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    assert together == alone



def test_a_structure_not_asked_for_that_overlaps_others_does_not_decide_how_their_overlaps_go():
    """Where structures overlap a voxel after warping, the first asked keeps it, unless the reference's own masks of
    those structures overlap. Before, an overlapping structure not asked for (a "body" over both, as a .seg.nrrd
    holds it) kept the overlaps, while the Slicer module, which reads only the picked masks, removed them."""
    from rau.engines.registration import references_overlap

    image = Image(np.zeros((1, 20, 20), np.float32), ndim=2)
    masks = {name: np.zeros(image.shape, bool) for name in ("left", "right", "body")}
    masks["left"][0, 5:15, 2:10], masks["right"][0, 5:15, 10:18], masks["body"][0, 4:16, 1:19] = True, True, True
    labels = LabelSet((Structure("left", 1), Structure("right", 2), Structure("body", 3)))
    reference = Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), labels, masks))
    assert not references_overlap([reference], ["left", "right"])
    assert references_overlap([reference], ["left", "body"])


def test_progress_is_reported_within_a_registration_and_a_cancel_stops_it_there(hc18):
    """Before, one reference reported 0 % until its whole registration was done (25 s on a CT) and a Cancel
    waited for it; now each stage reports its share and a Cancel stops at the next stage."""
    from rau.engines.base import Cancelled, Progress

    request = Request([hc18["001"]], hc18["002"].image)
    seen = []
    create_engine("registration", {"deformable": False}).run(request, Progress(lambda step, share: seen.append(share)))
    within = [share for share in seen if 0 < share < 0.5]  # one reference: its registration is the first half
    assert len(within) >= 3 and seen == sorted(seen)
    asked = []
    cancel_soon = Progress(lambda step, share: asked.append(share), is_cancelled=lambda: len(asked) >= 2)
    with pytest.raises(Cancelled):
        create_engine("registration", {"deformable": False}).run(request, cancel_soon)
    assert len(asked) == 2


def test_a_structure_the_fused_references_place_apart_is_not_found_with_the_reason(hc18):
    """Before: 'not found' with no message, while every other 'not found' says why."""
    from dataclasses import replace


    target, _ = similarity_copy(hc18["001"], 1.1, (2.0, 1.0), 0.09)
    references = []
    for corner, reference in zip((0, 1, 2), (hc18["002"], hc18["001"], hc18["003"])):
        head = reference.segmentation.masks["label_255"]
        blob = np.zeros_like(head)
        rows, columns = np.nonzero(head[0])
        low, high = (rows.min(), columns.min()), (rows.max(), columns.max())
        row, column = (low[0], high[0], low[0])[corner], (low[1], low[1], high[1])[corner]  # a corner of the head's box each
        blob[0, row : row + 8, column : column + 8] = True
        labels = LabelSet((Structure("head", 1), Structure("blob", 2)))
        segmentation = Segmentation(reference.segmentation.geometry, labels, {"head": head, "blob": blob})
        references.append(replace(reference, segmentation=segmentation))
    result = create_engine("registration", {"top_k": 3, "deformable": False}).run(Request(references, target))
    assert result.get("head").mask.any()
    blob = result.get("blob")
    assert blob.confidence == 0.0 and blob.mask is None  # not found
    assert blob.message == ("the 3 references that place it agree on no voxel with vote fusion; --fusion local or staple, "
                            "or a smaller --top-k, may find it")


def test_structures_the_first_reference_lacks_are_named_with_the_references_that_hold_them(hc18):
    """The first reference decides the structures: before, a bank whose first row lacked one dropped it without a
    word, and asking for it said only "unknown structure"."""
    from dataclasses import replace

    first, other = hc18["002"], hc18["003"]
    head = first.segmentation.masks["label_255"]
    lacking = Segmentation(first.segmentation.geometry, LabelSet(()), {})
    respelled = Segmentation(other.segmentation.geometry, LabelSet((Structure("Label 255", 255),)), {"Label 255": other.segmentation.masks["label_255"]})
    references = [replace(first, segmentation=lacking), hc18["001"], replace(other, segmentation=respelled)]
    assert head.any() and Request(references, hc18["001"].image).left_out() == {"label_255": ["001_HC_mask.png", "003_HC_mask.png"]}
    with pytest.raises(UnknownStructureError, match=r"unknown structure 'label_255'; available: none; the first reference \(002_HC.png\) "
                                                    r"decides which structures there are, and 'label_255' is in 001_HC.png, 003_HC.png"):
        Request(references, hc18["001"].image, ["label_255"]).labels()
    assert Request(references[1:], hc18["001"].image).left_out() == {}


def test_a_structure_registration_finds_absent_says_why_through_the_sam2_engines():
    """Before: registration+sam2 said only "absent according to registration", where registration alone says why
    (its references agree on no voxel) and what may find it."""
    from rau.engines.registration import localization_from
    from rau.result import StructureResult

    why = "the 2 references that place it agree on no voxel with vote fusion; --fusion local or staple, or a smaller --top-k, may find it"
    absent = StructureResult(Structure("fetal head", 255), None, 0.0, "registration", {}, message=why)
    assert localization_from(absent).why_not_present() == f"absent according to registration: {why}"
    assert localization_from(StructureResult(Structure("fetal head", 255), None, 0.0, "registration", {})).why_not_present() == "absent according to registration"
