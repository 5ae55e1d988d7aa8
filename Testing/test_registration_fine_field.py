"""A picture's displacement field gets a last level at the full working resolution (:func:`rau.dense_fields.fine_field`),
kept unless it lowers the correlation beyond :data:`rau.dense_fields.FINE_FIELD_TOLERANCE`; volumes keep theirs."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from rau import dense_fields
from rau.registration import Level, RegistrationSettings, field_stage

SIZE = 96


def blob(centre: tuple[float, float], radius: float, ndim: int = 2) -> sitk.Image:
    """A smooth bright disc (ball) on a dark ground, 1 mm pixels."""
    grid = np.mgrid[tuple(slice(0, SIZE) for _ in range(ndim))].astype(np.float32)
    distance = np.sqrt(sum((axis - c) ** 2 for axis, c in zip(grid, (*centre, SIZE / 2)[:ndim])))
    return sitk.GetImageFromArray((100 / (1 + np.exp(distance - radius))).astype(np.float32))


def field_size(level: Level, settings: RegistrationSettings) -> tuple[int, ...]:
    """The size of the displacement field :func:`field_stage` adds to an identity linear fit."""
    composite = field_stage(level, sitk.Transform(level.fixed.GetDimension(), sitk.sitkIdentity), settings)
    return sitk.DisplacementFieldTransform(composite.GetNthTransform(1)).GetDisplacementField().GetSize()


def test_a_pictures_field_ends_at_the_full_working_resolution():
    """Before: the field's last level was half the working grid (48 x 48 here), finer detail out of its reach."""
    level = Level(blob((48, 48), 20), blob((45, 50), 23), None)
    assert field_size(level, RegistrationSettings()) == (SIZE, SIZE)
    assert field_size(level, RegistrationSettings(fine_field_iterations=0)) == (SIZE // 2, SIZE // 2)


def test_a_fine_level_that_lowers_the_correlation_too_far_is_not_kept(monkeypatch):
    monkeypatch.setattr(dense_fields, "FINE_FIELD_TOLERANCE", -1.0)  # no level can raise a correlation by 1
    level = Level(blob((48, 48), 20), blob((45, 50), 23), None)
    assert field_size(level, RegistrationSettings()) == (SIZE // 2, SIZE // 2)


@pytest.mark.parametrize("iterations", [0, 5])
def test_a_volumes_field_is_not_refined_at_the_full_resolution(iterations):
    level = Level(blob((48, 48), 20, ndim=3), blob((45, 50), 23, ndim=3), None)
    settings = RegistrationSettings(fine_field_iterations=iterations, field_iterations=3)  # the field's size, not its fit, is asked
    assert field_size(level, settings) == (SIZE // 2,) * 3
