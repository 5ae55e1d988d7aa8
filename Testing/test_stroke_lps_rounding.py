"""A ``--stroke`` covers the same voxels in space whatever way the file stores them: a point of the line midway
between two voxels goes to the one first in LPS voxel order (:func:`rau.image.nearest_voxel`). Before, halves were
rounded to even indices, so the same stroke on an i-mirrored copy of a volume covered other voxels."""

import numpy as np
import SimpleITK as sitk

from rau.correction import stroke_points
from rau.io import read_image


def volumes(tmp_path):
    """A volume and its copy stored with i mirrored (the same voxels in space), read back from NIfTI files."""
    array = np.arange(4 * 20 * 16, dtype=np.int16).reshape(4, 20, 16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.8, 0.9, 2.0))
    image.SetOrigin((5.0, -3.0, 7.0))
    mirrored = sitk.GetImageFromArray(array[:, :, ::-1].copy())
    mirrored.SetSpacing((0.8, 0.9, 2.0))
    mirrored.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1))
    mirrored.SetOrigin(image.TransformIndexToPhysicalPoint((15, 0, 0)))
    paths = tmp_path / "t.nii.gz", tmp_path / "lh.nii.gz"
    for written, path in zip((image, mirrored), paths):
        sitk.WriteImage(written, str(path))
    return [read_image(path) for path in paths]


def test_a_stroke_covers_the_same_voxels_in_space_on_a_mirrored_copy(tmp_path):
    target, mirrored = volumes(tmp_path)
    stroke = [(3, 2, 1), (8, 12, 1)]  # every other point midway between two columns
    drawn = stroke_points(stroke, target)
    again = stroke_points([(15 - i, j, k) for i, j, k in stroke], mirrored)
    assert len(drawn) == 11
    assert sorted(map(tuple, np.round(target.to_world(drawn), 6))) == sorted(map(tuple, np.round(mirrored.to_world(again), 6)))
