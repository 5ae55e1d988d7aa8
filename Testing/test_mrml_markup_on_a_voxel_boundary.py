"""A markup placed exactly midway between two voxels, on real slicer-core MRML, goes to the same voxel in space for a
volume and its mirrored copy: the one rule of :func:`rau.image.nearest_voxel`, as ``--stroke`` uses."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

pytest.importorskip("slicer")

from rau.image import Image  # noqa: E402
from rau.mrml import prompt_from_markups  # noqa: E402
from rau.mrml.geometry import lps_to_ras  # noqa: E402


def test_a_markup_midway_between_voxels_lands_on_one_voxel_in_space_whatever_the_storage_order(mrml_scene):  # noqa: F811
    """Before: the bridge rounded half to even (np.rint), so the point at x 2.5 mm went to the voxel at x 2 of the
    volume and to the one at x 3 of its copy stored right to left."""
    array = np.arange(216, dtype=np.int16).reshape(6, 6, 6)
    volume = Image(array, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3), ndim=3)
    mirrored = Image(array[:, :, ::-1].copy(), (1.0, 1.0, 1.0), (5.0, 0.0, 0.0), np.diag([-1.0, 1.0, 1.0]), ndim=3)
    inside = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "inside points")
    inside.AddControlPoint(*lps_to_ras(np.array([2.5, 1.5, 3.0])).tolist())
    placed = [image.to_world(prompt_from_markups(image, positive=inside).points[0]) for image in (volume, mirrored)]
    np.testing.assert_allclose(placed[0], placed[1])
    np.testing.assert_allclose(placed[0], (2.0, 1.0, 3.0))
