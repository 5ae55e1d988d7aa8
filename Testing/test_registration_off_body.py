"""A volume target with part of the body replaced by air or padding (one value, wherever it lies): the registration
engine draws the references' whole anatomy, and flags the structures it draws mostly on the air or padding, and only
those (:mod:`rau.body`)."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import slicerio

from rau.body import body_mask, fill, share_inside
from rau.engines import Request
from rau.fusion import dice
from rau.image import Image, orient_lps
from rau.io import read_image
from rau.references import load_reference

from light_registration import light_registration_engine

ON_AIR = ["label_1", "label_3", "label_11"]  # spleen, left kidney, left lower lung lobe: CT A's i < 61 whole
ON_BODY = ["label_2", "label_5", "label_14"]  # right kidney, liver (14 % of it at i < 61), right lower lung lobe
MR_ON_PAD = ["label_2", "label_5"]  # right kidney 77 %, liver 91 % at i < 40 in TotalSegmentator's MR table
MR_ON_BODY = ["label_1", "label_3"]  # spleen, left kidney
MR_INSIDE = ["label_5", "label_4", "label_1"]  # liver, gallbladder, spleen in TotalSegmentator's MR table


@pytest.fixture(scope="module")
def ct_a(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")


@pytest.fixture(scope="module")
def chest():
    """slicerio's chest CT (the chest pair's source) with its segments: lungs, ribs, vertebrae, tissue."""
    data = Path(slicerio.__file__).parent / "data"
    return load_reference(data / "CTChest4.nrrd", data / "Segmentation.seg.nrrd")


def test_the_body_holds_the_lungs_and_not_the_air_around_it(ct_a):
    """The lungs are dark as air, and lie inside the body: between tissue along the rows or columns of their slices.
    (The air of corner i 0, j 0 lies beyond a thin bright arc, a region of its own of 0.7 % of the voxels: too small to
    be judged air, it is body; no structure lies there.)"""
    body = body_mask(ct_a.image)
    for name in ("label_11", "label_14"):
        assert share_inside(ct_a.segmentation.mask(name), body) == 1.0
    assert not body[:, -1, -1].any() and body.mean() < 0.8


def test_the_air_inside_a_scanners_field_of_view_is_no_body(chest):
    """slicerio's chest CT, filled with -3024 HU outside the scan circle (a fifth of its voxels): chosen among all
    voxels, the Otsu threshold fell between the fill and the air, and the body was the whole circle (Dice 0.70 to its
    segments, which cover the body: tissue, bones, lungs); the air is left out now."""
    reference = chest
    body = body_mask(reference.image)
    assert dice(body, reference.segmentation.union()) > 0.88
    for name in reference.segmentation.labels.names:
        assert share_inside(reference.segmentation.mask(name), body) > 0.99, name


def test_the_body_of_a_volume_stored_in_8_bits():
    """A volume of uint8 (an MR stored in 8 bits): compared in SimpleITK, the floor of -1100 became 196 and no voxel
    of this one counted."""
    array = np.zeros((3, 20, 20), np.uint8)
    array[:, 5:15, 5:15], array[:, 8:12, 8:12] = 100, 3
    body = body_mask(Image(array))
    assert body.sum() == 300 and body[:, 5:15, 5:15].all()


def test_a_lung_cut_open_by_the_edge_of_the_body_lies_inside_it(chest):
    """slicerio's chest CT with its left half (i < 64; it runs to the patient's right) set to -1024 HU: the right lung
    opens onto that air in most of its slices, and filling each slice's holes left 97 % of it outside the body."""
    reference = chest
    array = reference.image.array.copy()
    array[:, :, :64] = -1024
    body = body_mask(reference.image.with_array(array))
    assert share_inside(reference.segmentation.mask("right lung"), body) > 0.95  # 0.976; filled holes: 0.031
    assert not body[:, :, :64].any()


@pytest.mark.parametrize("fill", [-1024, 0])
def test_structures_drawn_on_the_air_of_a_half_target_are_flagged_and_the_others_not(ct_a, fill):
    """CT A onto itself with its left half (i < 61; it runs to the patient's right) set to -1024 HU: the spleen, left
    kidney and left lung lobe were drawn on the air and reported found with the registration's full confidence and no
    message. They keep their voxels, with a message (of the one reference, not "the references") and their confidence
    times the share inside the body; the right kidney, liver and right lung lobe (dark, but inside the body) are
    untouched. Padded with 0 (as SimpleITK and Slicer pad), the half lay above the Otsu threshold and was body: the
    three kept confidence 0.755 and no message."""
    array = ct_a.image.array.copy()
    array[:, :, :61] = fill
    target = ct_a.image.with_array(array)
    for name in ON_AIR:
        assert (np.nonzero(ct_a.segmentation.mask(name))[2] < 61).all(), "fixture: a structure of the left half"
    result = light_registration_engine(deformable=False).run(Request([ct_a], target, ON_AIR + ON_BODY))
    similarity = max(result.get(name).confidence for name in ON_BODY + ON_AIR)  # one reference: the confidence of all
    body = body_mask(target)
    for name in ON_AIR:
        item = result.get(name)
        inside = share_inside(item.mask, body)
        assert item.found and inside < 0.5, (name, inside)
        words = f"{1 - inside:.1%} of its voxels lie outside the target's body, on air or padding, where the reference draws it"
        assert words in item.message
        assert item.confidence == pytest.approx(similarity * inside) and item.confidence < 0.5 * similarity
    for name in ON_BODY:
        item = result.get(name)
        assert item.found and item.message == "" and item.confidence == similarity, name


@pytest.fixture(scope="module")
def mr_c(shared_data):
    folder = shared_data / "totalseg_test_fixtures/subjC_mr"
    return load_reference(folder / "image.nii.gz", folder / "labels_totalseg_mr.nii.gz")


@pytest.fixture(scope="module")
def mr_c_inside(shared_data, tmp_path_factory):
    """MR C cropped to x 20:100, y 25:75, all slices: a field of view inside the body, no air in it."""
    whole = sitk.ReadImage(str(shared_data / "totalseg_test_fixtures/subjC_mr/image.nii.gz"))
    path = tmp_path_factory.mktemp("mr_inside") / "crop.nii.gz"
    sitk.WriteImage(whole[20:100, 25:75, :], str(path))
    return read_image(path)


def test_a_field_of_view_inside_the_body_is_body_whole(mr_c, mr_c_inside):
    """With no air to split off, Otsu's threshold fell between the MR's tissues and 16 % of the crop was "outside",
    darker organs cut open at its edges; the whole MR still shows the air around its body."""
    assert body_mask(mr_c_inside).all()
    whole = body_mask(mr_c.image)
    assert not whole[:, 0, 0].any() and 0.5 < whole.mean() < 0.9


def test_a_volume_of_one_value_shows_no_air():
    """Nothing lies above Otsu's threshold in it: no body bounds any air, and nothing on it is flagged (the body was
    empty, every structure "on air")."""
    assert body_mask(Image(np.full((3, 10, 10), 40.0))).all()


def test_structures_of_a_field_of_view_inside_the_body_are_not_flagged(mr_c, mr_c_inside):
    """The whole MR onto the crop of it: liver and gallbladder, placed exactly, were 85 % and 77 % "on air" with their
    confidence cut to 0.15 and 0.23, while the spleen kept the registration's; all three keep it now, with no message."""
    engine = light_registration_engine(deformable=False)
    result = engine.run(Request([mr_c], mr_c_inside, MR_INSIDE))
    confidences = {name: result.get(name).confidence for name in MR_INSIDE}
    for name in MR_INSIDE:
        item = result.get(name)
        assert item.found and item.message == "", (name, item.message)
    assert len(set(confidences.values())) == 1 and confidences["label_1"] > 0.9, confidences


def test_the_padding_of_real_images_is_their_background_only(ct_a, mr_c):
    """One value over 2 % of the voxels on the slices' edges, whatever its value: CT A's air is noisy (none), MR C's
    zero background is one (3.4 %), and lies outside its body."""
    assert not fill(orient_lps(ct_a.image).array).any()
    background = fill(orient_lps(mr_c.image).array)
    assert 0.03 < background.mean() < 0.04 and not (background & orient_lps(mr_c.image.with_array(body_mask(mr_c.image))).array).any()


@pytest.fixture(scope="module")
def ct_a_lung_window(shared_data, tmp_path_factory):
    """CT A in a lung window (-1000 to 0 HU) stored in 8 bits, soft tissue saturated at 255, whole with its labels
    (the reference), and cropped to x 30:90, y 25:75, all slices: a field of view inside the body (the target)."""
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    whole = sitk.ReadImage(str(folder / "image.nii.gz"))
    window = sitk.GetImageFromArray(np.clip((sitk.GetArrayFromImage(whole) + 1000) / 1000 * 255, 0, 255).round().astype(np.uint8))
    window.CopyInformation(whole)
    path = tmp_path_factory.mktemp("lung_window")
    sitk.WriteImage(window, str(path / "image.nii.gz"))
    sitk.WriteImage(window[30:90, 25:75, :], str(path / "crop.nii.gz"))
    return load_reference(path / "image.nii.gz", folder / "labels_totalseg.nii.gz"), read_image(path / "crop.nii.gz")


def test_tissue_saturated_in_an_8_bit_window_is_no_padding(ct_a_lung_window):
    """255, soft tissue saturated, is one value over the slices' edges of the crop and 2 % of its voxels: taken for a
    fill, it bounded no body, and the liver, placed exactly, lay "81.6% ... outside the target's body, on air or
    padding", its confidence cut from 0.99 to 0.18. The crop shows no air: it is body whole, and nothing is flagged."""
    reference, target = ct_a_lung_window
    names = ["label_5", "label_2"]  # liver, right kidney
    result = light_registration_engine(deformable=False).run(Request([reference], target, names))
    for name in names:
        item = result.get(name)
        assert item.found and item.message == "", (name, item.message)
    assert len({result.get(name).confidence for name in names}) == 1 and result.get("label_5").confidence > 0.9
    assert body_mask(target).all()


def test_more_regions_outside_than_16_bits_label():
    """A slice of bright dots on every other row and column of a dark, noisy background (of one value, it would be
    padding): 246,912 regions outside the body, none a background of air (each a voxel): the body is whole."""
    rng = np.random.default_rng(0)
    array = rng.integers(0, 10, (1, 1000, 1000)).astype(np.int16)
    array[:, ::2, ::2] = np.where(rng.random((1, 500, 500)) < 0.5, 1000, array[:, ::2, ::2])
    assert body_mask(Image(array)).all()


@pytest.fixture(scope="module")
def mr_c_crops(shared_data, tmp_path_factory):
    """MR C cut at x 0:58 y 0:63 (through the spine) and x 35:117 y 0:63 (through the right kidney), all slices: air
    beside the body at their uncut sides."""
    folder = shared_data / "totalseg_test_fixtures/subjC_mr"
    crops = {}
    for name, (x, y) in {"spine": (slice(0, 58), slice(0, 63)), "kidney": (slice(35, 117), slice(0, 63))}.items():
        path = tmp_path_factory.mktemp(name)
        sitk.WriteImage(sitk.ReadImage(str(folder / "image.nii.gz"))[x, y, :], str(path / "image.nii.gz"))
        sitk.WriteImage(sitk.ReadImage(str(folder / "labels_totalseg_mr.nii.gz"))[x, y, :], str(path / "labels.nii.gz"))
        crops[name] = load_reference(path / "image.nii.gz", path / "labels.nii.gz")
    return crops


def test_dark_tissue_cut_open_by_a_crop_that_shows_air_is_body(mr_c_crops):
    """The crops show air, and the dark tissue their cuts open, with no bright voxel between it and the edge, was "on
    air" with it: vertebrae 76 %, intervertebral discs 100 %, the right kidney (as dark as the air in this MR) 65 %.
    Each region outside is judged on its own: the air (14 % of the voxels) is air, the pockets cut open are body."""
    for crop, names in {"spine": ["label_19", "label_20", "label_49"], "kidney": ["label_2"]}.items():
        reference = mr_c_crops[crop]
        body = body_mask(reference.image)
        assert not body[:, 0, 0].any() and body.mean() < 0.9, crop  # the air at the uncut corner
        for name in names:
            assert share_inside(reference.segmentation.mask(name), body) > 0.99, (crop, name)


def test_structures_placed_on_tissue_cut_open_by_a_crop_are_not_flagged(mr_c, mr_c_crops):
    """The whole MR onto its crop through the spine: vertebrae, discs and right iliopsoas, placed exactly, kept 0.24,
    0 and 0.2 of the registration's confidence, "76.0% of its voxels lie outside the target's body, on air"."""
    names = ["label_19", "label_20", "label_49", "label_5"]  # the liver: never flagged
    result = light_registration_engine(deformable=False).run(Request([mr_c], mr_c_crops["spine"].image, names))
    for name in names:
        item = result.get(name)
        assert item.found and item.message == "", (name, item.message)
    assert len({result.get(name).confidence for name in names}) == 1


def soft_tissue_window(array: np.ndarray) -> np.ndarray:
    """CT values in an 8-bit soft-tissue window, -160 to 240 HU: bone saturated at 255, air and lungs at 0."""
    return np.clip((array.astype(float) + 160) / 400 * 255, 0, 255).round().astype(np.uint8)


def left_half(array: np.ndarray, value, columns: int = 61) -> np.ndarray:
    """``array`` with its first ``columns`` columns (i) set to ``value``."""
    padded = array.copy()
    padded[:, :, :columns] = value
    return padded


def beyond_circle(array: np.ndarray, value) -> np.ndarray:
    """Outside a circle of radius 45 about row 55, column 95 of each slice: a scanner's fill beyond its field of view."""
    _, rows, columns = np.indices(array.shape)
    padded = array.copy()
    padded[(rows - 55) ** 2 + (columns - 95) ** 2 > 45**2] = value
    return padded


@pytest.mark.parametrize("window", [None, soft_tissue_window], ids=["raw", "8 bits, soft-tissue window"])
@pytest.mark.parametrize("columns, rows", [(slice(0, 45), slice(None)), (slice(80, 128), slice(None)),
                                          (slice(None), slice(0, 60)), (slice(20, 108), slice(30, 100))],
                         ids=["x0:45", "x80:128", "y0:60", "x20:108,y30:100"])
def test_lungs_cut_open_by_a_crop_lie_inside_the_body(chest, tmp_path, window, columns, rows):
    """In a soft-tissue window of 8 bits the lungs are one value, 0, the image's lowest (as the air); cut open by a crop
    they touch the slices' edges, and were taken for padding: none of the lung in the crop lay in the body ("left lung"
    at x 0:45, both at x 20:108 y 30:100), and a lung structure drawn there would have been flagged "on air or
    padding". The lowest value pads nothing: the lungs lie between tissue along their rows or columns, in the body."""
    whole = sitk.ReadImage(str(chest.image_path))
    array = sitk.GetArrayFromImage(whole) if window is None else window(sitk.GetArrayFromImage(whole))
    windowed = sitk.GetImageFromArray(array)
    windowed.CopyInformation(whole)
    sitk.WriteImage(windowed[columns, rows, :], str(tmp_path / "crop.nrrd"))
    body = body_mask(read_image(tmp_path / "crop.nrrd"))
    lungs = [chest.segmentation.mask(name)[:, rows, columns] for name in ("right lung", "left lung")]
    lungs = [lung for lung in lungs if lung.any()]
    shares = [share_inside(lung, body) for lung in lungs]
    assert shares and min(shares) > 0.99, shares  # taken for padding, in the window: 0.002 to 0.004


CT_PADDINGS = {
    "air": lambda a: left_half(a, -1024),
    "zero": lambda a: left_half(a, 0),
    "below the air floor": lambda a: left_half(a, -2000),
    "a scan circle's fill": lambda a: beyond_circle(a, -3024),
    "bone": lambda a: left_half(a, 500),
    "soft tissue": lambda a: left_half(a, 200),
    "two values": lambda a: left_half(left_half(a, 0)[:, :, ::-1], 200, 15)[:, :, ::-1],
    "8 bits, zero": lambda a: left_half(soft_tissue_window(a), 0),
    "the CT range's top": lambda a: left_half(a.astype(np.int16), 3071),
    "the image's highest value": lambda a: left_half(a, a.max()),
    "8 bits, the window's top": lambda a: left_half(soft_tissue_window(a), 255),
}


MR_PADDINGS = {
    "MR, zero": lambda a: left_half(a, 0, 40),
    "MR, its median, below the Otsu threshold": lambda a: left_half(a, 108, 40),
    "MR, its highest value": lambda a: left_half(a, 833, 40),
}
PADDED = [pytest.param("ct_a", pad, ON_AIR, ON_BODY, 61, id=name) for name, pad in CT_PADDINGS.items()] + [
    pytest.param("mr_c", pad, MR_ON_PAD, MR_ON_BODY, 40, id=name) for name, pad in MR_PADDINGS.items()]


@pytest.mark.parametrize("subject, pad, on_pad, on_body, columns", PADDED)
def test_structures_on_a_padding_of_any_value_lie_outside_the_body_and_the_others_inside(request, subject, pad, on_pad,
                                                                                          on_body, columns):
    """CT A with its left half (i < 61) padded: spleen, left kidney and left lung lobe lie on the padding, right
    kidney, liver and right lung lobe in the body; MR C with its left 40 columns padded: liver and right kidney on
    it, spleen and left kidney not. Padded with the image's highest value (3071 HU, A's own 1207, 255 in an 8-bit
    window, MR C's 833), the padding was bright foreground that bounded the body and pulled the Otsu threshold up:
    CT A's right kidney lay 100 % and its liver 86 % "outside the target's body", the structures on the padding
    inside. Padded with MR C's median (108, below its Otsu threshold 242), the padding and the zero background were
    judged together, too spread to be air: the whole image was body."""
    reference = request.getfixturevalue(subject)
    body = body_mask(reference.image.with_array(pad(reference.image.array)))
    for name in on_pad:
        assert share_inside(reference.segmentation.mask(name), body) < 0.5, name
    for name in on_body:
        assert share_inside(reference.segmentation.mask(name), body) > 0.8, name
    assert not body[:, :, :columns // 4].any()


def test_a_fill_of_any_value_between_the_lowest_and_the_highest_and_of_the_highest_only_beyond_a_line_or_circle():
    """One value on 2 % of the slices' edges and of the voxels pads, below or above the others, but never the image's
    lowest (air, or dark tissue saturated in a window: judged as air); the highest only where it lies beyond a straight
    line or a circle, not where voxels of other values lie on both sides of it along its row and its column (tissue
    saturated in a window)."""
    rng = np.random.default_rng(0)
    array = rng.integers(20, 40, (2, 20, 20)).astype(np.int16)
    array[:, :, :4], array[:, :, -3:], array[0, 11, 11] = 255, 5, 0  # strips of the highest value and of 5; 0 lowest
    assert (fill(array) == ((array == 255) | (array == 5))).all()
    array[:, :, :4] = rng.integers(20, 40, (2, 20, 4))
    array[:, ::2, ::2] = 255  # the highest, on a grid reaching the edges: between other values everywhere
    assert (fill(array) == (array == 5)).all()
    array[0, 11, 11] = 30  # 5 is the lowest value now
    assert not fill(array).any()


@pytest.fixture(scope="module")
def crops(shared_data, tmp_path_factory):
    """CT A's slices 4 to 18 and MR C's 2 to 15 (all the four structures of each in them), with their labels."""
    folder, path = shared_data / "totalseg_test_fixtures", tmp_path_factory.mktemp("crops")
    cut = {"ct": ("subjA_ct", "labels_totalseg", slice(4, 19)), "mr": ("subjC_mr", "labels_totalseg_mr", slice(2, 16))}
    for name, (subject, labels, slices) in cut.items():
        for source, target in (("image", name), (labels, f"{name}_labels")):
            sitk.WriteImage(sitk.ReadImage(str(folder / subject / f"{source}.nii.gz"))[:, :, slices], str(path / f"{target}.nii.gz"))
    return {name: load_reference(path / f"{name}.nii.gz", path / f"{name}_labels.nii.gz") for name in cut}


@pytest.mark.parametrize("kind, value, columns, on_pad, on_body", [
    ("ct", 3071, 61, ON_AIR[:2], ON_BODY[:2]),  # the lung lobes lie beyond slice 18
    ("mr", 108, 40, MR_ON_PAD, MR_ON_BODY),
])
def test_only_the_structures_drawn_on_the_padding_are_flagged(crops, kind, value, columns, on_pad, on_body):
    """A crop onto itself padded at its left: with 3071 HU (the CT's highest value), the right kidney and liver, placed
    exactly, got confidence 0.00 and 0.03, "100.0% / 86.4% of its voxels lie outside the target's body", while the
    spleen and left kidney on the padding kept 0.19 unflagged; with the MR's median (below its Otsu threshold), the
    liver and right kidney on the padding kept 0.805 unflagged. Those on the padding are flagged now, the others keep
    the registration's confidence."""
    reference = crops[kind]
    target = reference.image.with_array(left_half(reference.image.array.astype(np.int16), value, columns))
    result = light_registration_engine(deformable=False).run(Request([reference], target, on_pad + on_body))
    similarity = max(result.get(name).confidence for name in on_pad + on_body)
    for name in on_pad:
        item = result.get(name)
        assert item.found and "outside the target's body, on air or padding" in item.message, (name, item.message)
        assert item.confidence < 0.5 * similarity, name
    for name in on_body:
        item = result.get(name)
        assert item.found and item.message == "" and item.confidence == similarity, (name, item.message)
