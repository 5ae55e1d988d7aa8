"""Same input, same output: label maps are bit-identical across runs and ITK thread counts.

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


def label_maps_by_thread_count(engine: str, reference, target) -> list[np.ndarray]:
    """The engine's label map with ITK on 1, 2, 4 and again 4 threads."""
    maps = []
    for threads in (1, 2, 4, 4):
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
        result = create_engine(engine, {}).run(Request([reference], target))
        maps.append(result.to_segmentation().to_label_map().array)
    assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 4, "the caller's thread setting is restored"
    return maps


@pytest.mark.parametrize(("engine", "pair"), [("registration", "hc18_pair"), ("registration", "ct_pair"), ("vessels", "arcade_pair")])
def test_label_maps_are_bit_identical_across_thread_counts_and_runs(engine, pair, request, restore_itk_threads):
    maps = label_maps_by_thread_count(engine, *request.getfixturevalue(pair))
    assert maps[0].any()
    for other in maps[1:]:
        np.testing.assert_array_equal(other, maps[0])
