"""Same input, same output: label maps are bit-identical across runs and ITK thread counts, and a structure's
voxels do not change with which other structures are asked for, or in what order.

Both the registration engine and the vessels engine register with SimpleITK, whose threaded metric
sums are not reproducible; each runs ITK on one thread while it registers. The volume pair takes the
registration engine through its inverse-consistent field stage (field inversion and resampling are
threaded filters too).
"""

import numpy as np
import pytest
import SimpleITK as sitk

from rau.engines import Request, create_engine
from rau.engines.base import Reference
from rau.image import Image
from rau.io import read_image
from rau.labels import Segmentation
from rau.references import load_reference

from light_registration import light_registration_engine

# Pairs whose alignment used to change with the thread count: HC18 012 -> 048 (pixel spacings in mm)
# for the registration engine, ARCADE 335 -> 722 (dev manifest pair 14) for the vessels engine.
HC18_PAIR = {"012": 0.08346045, "048": 0.072728162}
ARCADE_PAIR = ("335", "722")


@pytest.fixture(scope="module")
def hc18_pair(shared_data):
    folder = shared_data / "hc18_fetal_head_us"
    reference, target = [load_reference(folder / f"images/{n}_HC.png", folder / f"masks/{n}_HC_mask.png", s) for n, s in HC18_PAIR.items()]
    return reference, target.image


@pytest.fixture(scope="module")
def arcade_pair(shared_data):
    folder = shared_data / "arcade_syntax_dev"
    reference, target = ARCADE_PAIR
    return (
        load_reference(folder / f"arcade_train_{reference}_img.png", folder / f"arcade_train_{reference}_lab.png", 1.0, folder / "labels.csv"),
        read_image(folder / f"arcade_train_{target}_img.png", 1.0),
    )


@pytest.fixture(scope="module")
def ct_pair(shared_data):
    """Subject A's CT at 6 x 6 x 3 mm as the reference; a copy bent by a smooth random deformation as the target."""
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    full = load_reference(folder / "image.nii.gz", folder / "labels_totalseg.nii.gz")
    grid = sitk.BinShrink(full.image.to_sitk(), [2, 2, 1])
    labels = sitk.Resample(full.segmentation.to_label_map().to_sitk(), grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    reference = Reference(Image.from_sitk(grid), Segmentation.from_label_map(Image.from_sitk(labels), full.segmentation.labels))
    bend = sitk.BSplineTransformInitializer(grid, [3, 3, 2])
    bend.SetParameters(np.random.default_rng(1).normal(0.0, 5.0, len(bend.GetParameters())).tolist())
    return reference, Image.from_sitk(sitk.Resample(grid, grid, bend, sitk.sitkLinear, -1024.0))


@pytest.fixture
def restore_itk_threads():
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    yield
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def label_maps_by_thread_count(build, reference, target) -> list[np.ndarray]:
    """The label map of the engine ``build()`` gives, with ITK on 1, 2, 4 and again 4 threads."""
    maps = []
    for threads in (1, 2, 4, 4):
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
        result = build().run(Request([reference], target))
        maps.append(result.to_segmentation().to_label_map().array)
    assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 4, "the caller's thread setting is restored"
    return maps


@pytest.mark.parametrize(("engine", "pair"), [("registration", "hc18_pair"), ("registration", "ct_pair"), ("vessels", "arcade_pair")])
def test_label_maps_are_bit_identical_across_thread_counts_and_runs(engine, pair, request, restore_itk_threads):
    """The CT pair on the light settings (every stage, its inverse-consistent field included, on a smaller grid);
    the HC18 pair on the defaults."""
    build = light_registration_engine if pair == "ct_pair" else (lambda: create_engine(engine, {}))
    maps = label_maps_by_thread_count(build, *request.getfixturevalue(pair))
    assert maps[0].any()
    for other in maps[1:]:
        np.testing.assert_array_equal(other, maps[0])


def small_hc18(shared_data, tmp_path, table: str, draw) -> list[Reference]:
    """Five HC18 pictures at 1/8 size (the last to be the target), their heads labelled by ``draw(number, head)``,
    named by the label table ``table`` (CSV rows)."""
    from PIL import Image as Picture

    folder, references = shared_data / "hc18_fetal_head_us", []
    for number, spacing in {"000": 0.55, "001": 0.72, "002": 0.5, "003": 0.73, "005": 0.93}.items():  # pixel sizes at 1/8
        picture = Picture.open(folder / f"images/{number}_HC.png").convert("L")
        picture = picture.resize((picture.width // 8, picture.height // 8), Picture.BILINEAR)
        mask = Picture.open(folder / f"masks/{number}_HC_mask.png").convert("L")
        picture.save(tmp_path / f"{number}.png")
        Picture.fromarray(draw(number, np.asarray(mask.resize(picture.size, Picture.NEAREST)) > 127)).save(tmp_path / f"{number}_labels.png")
        (tmp_path / f"{number}_labels.labels.csv").write_text("value,name,r,g,b\n" + table)
        references.append(load_reference(tmp_path / f"{number}.png", tmp_path / f"{number}_labels.png", spacing))
    return references


def test_a_structure_asked_for_alone_gets_the_references_and_voxels_it_gets_beside_the_others(shared_data, tmp_path):
    """Before: the label consensus ranked the references on the asked structures only, so asking for "head" alone
    fused other references for it than asking for all (HC18 at 1/8 size, a second structure in three of four
    references: 236 head pixels alone, 329 beside it)."""
    def head_and_blob(number, head):
        labels = head.astype(np.uint8)
        if number in ("000", "001", "002"):  # three of the four references
            labels[5:12, 5:12] = 2
        return labels

    *pool, target = small_hc18(shared_data, tmp_path, "1,head,1,0,0\n2,blob,0,1,0\n", head_and_blob)
    engine = create_engine("registration", {"deformable": False, "top_k": 2, "fusion": "local"})
    alone = engine.run(Request(pool, target.image, ["head"])).get("head")
    beside = engine.run(Request(pool, target.image)).get("head")
    assert alone.prompts["references"] == beside.prompts["references"]
    assert np.array_equal(alone.mask, beside.mask)


@pytest.mark.parametrize("fusion", ["staple", "local"])
def test_structures_that_fused_masks_share_keep_their_voxels_whatever_else_is_asked_for(shared_data, tmp_path, fusion):
    """STAPLE and local fusion may give two structures one voxel: before, the one asked for first kept it (HC18, three
    parts of the head: STAPLE gave "upper right" 5041 pixels beside the others, 11545 alone); now the first reference's order."""
    def parts(number, head):  # left 3, right 7, upper right 200
        rows, columns = (np.flatnonzero(head.any(axis)) for axis in (1, 0))
        right, upper = np.arange(head.shape[1]) >= columns[[0, -1]].sum() // 2, np.arange(head.shape[0])[:, None] < rows[[0, -1]].sum() // 2
        return np.where(head, np.where(right, np.where(upper, 200, 7), 3), 0).astype(np.uint8)

    *pool, target = small_hc18(shared_data, tmp_path, "3,left,0,1,0\n7,right,0,0,1\n200,upper right,1,0,0\n", parts)
    engine = create_engine("registration", {"deformable": False, "fusion": fusion})
    beside = engine.run(Request(pool, target.image))
    for asked in (["upper right"], ["upper right", "right", "left"]):
        result = engine.run(Request(pool, target.image, asked))
        assert [item.structure.name for item in result.structures] == asked
        for item in result.structures:
            assert np.array_equal(item.mask, beside.get(item.structure.name).mask), (asked, item.structure.name)
