"""Same input, same output: the registration engine's label maps are bit-identical across runs and ITK thread counts."""

import numpy as np
import pytest
import SimpleITK as sitk

from rau.engines import Request, create_engine
from rau.references import load_reference

# An HC18 pair where the alignment used to change with the thread count and from run to run.
PAIR = {"012": 0.08346045, "048": 0.072728162}


@pytest.fixture(scope="module")
def pair(shared_data):
    folder = shared_data / "hc18_fetal_head_us"
    return [load_reference(folder / f"images/{n}_HC.png", folder / f"masks/{n}_HC_mask.png", s) for n, s in PAIR.items()]


@pytest.fixture
def restore_itk_threads():
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    yield
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def label_map(reference, target) -> np.ndarray:
    result = create_engine("registration", {}).run(Request([reference], target.image))
    return result.to_segmentation().to_label_map().array


def test_label_maps_are_bit_identical_across_thread_counts_and_runs(pair, restore_itk_threads):
    reference, target = pair
    maps = []
    for threads in (1, 2, 4, 4):
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
        maps.append(label_map(reference, target))
    assert maps[0].any()
    for other in maps[1:]:
        np.testing.assert_array_equal(other, maps[0])
    assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 4, "the caller's thread setting is restored"
