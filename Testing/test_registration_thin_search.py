"""The translation search gives no starts for a reference under 4 voxels thick at its coarse level: ITK's gradient
smoothing, which needs 4 voxels an axis, refused every offset while the search made that unused gradient image; it no
longer makes it (faster), and keeps the answers it gave (a thin CT slab's spleen came and went with them)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from rau.registration import RegistrationSettings, _searched_offsets


def _volume(slices: int) -> sitk.Image:
    array = np.random.default_rng(slices).normal(100, 20, (slices, 64, 64)).astype(np.float32)
    array[:, 20:40, 16:48] += 200
    return sitk.GetImageFromArray(array)


def test_a_reference_thinner_than_4_voxels_gets_no_searched_starts():
    assert _searched_offsets(_volume(2), _volume(3), np.zeros(3), RegistrationSettings()) == []


def test_a_reference_4_voxels_thick_at_the_coarse_level_is_searched():
    assert len(_searched_offsets(_volume(2), _volume(8), np.zeros(3), RegistrationSettings())) > 0
