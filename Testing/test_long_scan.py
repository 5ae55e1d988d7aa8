"""A short CT placed along a much longer one (rau.long_scan) before registering them."""

import json

import numpy as np
import SimpleITK as sitk
from conftest import REPO

from rau.cli import main
from rau.engines.base import Reference, Request
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.image import orient_lps
from rau.long_scan import long_scan_placement
from rau.user_warnings import collected_warnings

from light_registration import light_registration_engine

SPACING = (6.0, 6.0, 3.0)


def body_ct(slices: int, seed: int = 3) -> np.ndarray:
    """A CT-like body (HU): air around an elliptic trunk whose soft tissue changes from slice to slice, and a spine
    of vertebrae and discs 18 mm apart."""
    rng = np.random.default_rng(seed)
    tissue = np.convolve(rng.normal(0, 120, slices + 8), np.ones(5) / 5, "same")[4:-4]
    y, x = np.mgrid[:48, :48]
    trunk = ((x - 24) / 20) ** 2 + ((y - 24) / 16) ** 2 < 1
    spine = (x - 24) ** 2 + (y - 34) ** 2 < 9
    volume = np.full((slices, 48, 48), -1000.0)
    for k in range(slices):
        volume[k][trunk] = 40 + tissue[k]
        volume[k][spine] = 300 + 200 * ((k // 6) % 2)
    return volume


def test_a_short_ct_is_placed_where_it_lies_along_a_long_one_whatever_their_headers_say():
    long = Image(body_ct(110), spacing=SPACING, ndim=3)
    short = Image(body_ct(110)[60:90], spacing=SPACING, origin=(0, 0, 500), ndim=3)  # another scan's header: 320 mm apart
    np.testing.assert_allclose(long_scan_placement(short, long), [0, 0, 60 * 3 - 500])
    np.testing.assert_allclose(long_scan_placement(long, short), [0, 0, 500 - 60 * 3])


def test_a_short_ct_reaching_out_of_the_long_one_is_placed_where_they_overlap():
    """An abdominal CT against a chest CT overlaps it in part: here 45 of the short scan's 90 mm lie beyond the long
    one (before: the short one was forced inside, 40 mm off on another phantom)."""
    body = body_ct(140)
    short = Image(body[95:125], spacing=SPACING, origin=(0, 0, 500), ndim=3)
    np.testing.assert_allclose(long_scan_placement(Image(body[:110], spacing=SPACING, ndim=3), short), [0, 0, 500 - 95 * 3], atol=2)  # a 4 mm grid


def test_scans_of_similar_length_and_images_without_air_are_left_to_the_usual_starts():
    long = Image(body_ct(110), spacing=SPACING, ndim=3)
    assert long_scan_placement(Image(body_ct(110)[10:100], spacing=SPACING, ndim=3), long) is None  # 270 of 330 mm
    wide = Image(body_ct(110), spacing=(10.0, 10.0, 3.0), ndim=3)  # an adult's trunk against a child's, one length
    assert long_scan_placement(wide, long) is None
    assert long_scan_placement(Image(body_ct(30) + 1000, spacing=SPACING, ndim=3), Image(body_ct(110) + 1000, spacing=SPACING, ndim=3)) is None  # no air: not a CT
    picture = Image(body_ct(1), spacing=SPACING, ndim=2)
    assert long_scan_placement(picture, Image(body_ct(1)[:, :, :10], spacing=SPACING, ndim=2)) is None  # pictures


def test_a_short_labelled_ct_finds_its_structure_in_a_long_scan():
    """Before: the coarse starts placed the slab elsewhere along the long scan and its structure was painted there
    (TotalSegmentator's 40 mm slab of patient B onto patient A's 336 mm scan: 190 mm too low, Dice 0)."""
    volume, labels = body_ct(110), np.zeros((110, 48, 48), np.uint8)
    labels[70:80, 14:24, 14:26] = 1
    short = Image(volume[60:90], spacing=SPACING, origin=(0, 0, 500), ndim=3)
    segmentation = Segmentation.from_label_map(short.with_array(labels[60:90]), LabelSet((Structure("organ", 1),)))
    result = light_registration_engine().run(Request([Reference(short, segmentation)], Image(volume, spacing=SPACING, ndim=3)))
    mask, truth = result.get("organ").mask, labels > 0
    assert mask is not None and 2 * (mask & truth).sum() / (mask.sum() + truth.sum()) > 0.9  # before: 0


def fixture_image(shared_data, path: str) -> Image:
    """A TotalSegmentator fixture's image, in LPS voxel order as the registration hands it to rau.long_scan."""
    return orient_lps(Image.from_sitk(sitk.ReadImage(str(shared_data / "totalseg_test_fixtures" / path))))


def test_a_ct_stored_without_its_rescale_along_a_short_slab_is_warned_of(shared_data, tmp_path, capsys):
    """Patient A's 336 mm scan stored from 0 rather than -1024 (uint16, no rescale) as the target of B's 40 mm slab is
    not placed along it (liver Dice 0.676 in HU, 0 so): before, the run said nothing and exited 0."""
    scan = sitk.ReadImage(str(shared_data / "totalseg_test_fixtures/subjA_ct/image_fullFOV_112slices.nii.gz"))
    scan = sitk.Shrink(scan, [2, 2, 1])  # in-plane only (a lighter run): its 336 mm length and its lowest values stay
    sitk.WriteImage(sitk.Cast(scan + 1024, sitk.sitkUInt16), str(tmp_path / "raw.nii.gz"))
    source, slab = shared_data / "totalseg_test_fixtures/subjB_ct", tmp_path / "slab"
    slab.mkdir()
    for name in ("image.nii.gz", "labels_totalseg.nii.gz"):  # in-plane a quarter: its 40 mm and HU values stay
        sitk.WriteImage(sitk.Shrink(sitk.ReadImage(str(source / name)), [4, 4, 1]), str(slab / name))
    assert main(["segment", "--reference", str(slab / "image.nii.gz"), "--reference-labels", str(slab / "labels_totalseg.nii.gz"),
                 "--label-table", str(REPO / "protocols/totalseg_total.labels.csv"), "--target", str(tmp_path / "raw.nii.gz"),
                 "--out", str(tmp_path / "out.nii.gz"), "--structures", "liver", "--no-deformable"]) == 0
    warnings = json.loads((tmp_path / "out.result.json").read_text())["warnings"]
    assert len(warnings) == 1 and warnings[0] in capsys.readouterr().err
    assert warnings[0].startswith("the target (336 mm from feet to head) is much longer than the reference (40 mm), but they "
                                  "are not both CT in Hounsfield units (the target's lowest values are about ")


def test_only_a_long_and_a_short_image_not_both_in_hounsfield_units_are_warned_of(shared_data):
    """A's scan in HU against B's slab is placed (no warning); an MR reference of patient C (60 mm) onto A's scan is
    not, and is warned of; the dev sets' pairs (A's 90 mm slab and B's 40 mm slab against C's 60 mm MR) are not."""
    long, slab_a, slab_b, mr = (fixture_image(shared_data, path) for path in (
        "subjA_ct/image_fullFOV_112slices.nii.gz", "subjA_ct/image.nii.gz", "subjB_ct/image.nii.gz", "subjC_mr/image.nii.gz"))
    with collected_warnings() as said:
        assert long_scan_placement(long, slab_b) is not None
        assert long_scan_placement(mr, slab_a) is None and long_scan_placement(mr, slab_b) is None
    assert said == []
    with collected_warnings() as said:
        assert long_scan_placement(long, mr) is None
    assert len(said) == 1 and said[0].startswith("the target (336 mm from feet to head) is much longer than the reference (60 mm)")
    assert "(the reference's lowest values are about " in said[0] and "target's lowest" not in said[0]
