"""The module's label-map export of a reference whose label values are above 255 (a uint32 label map), on real
slicer-core MRML: each structure keeps its voxels and its value, as in the file (before, the first structure written
into the segmentation node lost every voxel: its value wrapped in the node's uint8 labelmap)."""

from __future__ import annotations

import nibabel
import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

pytest.importorskip("slicer")

from test_module_export_file_order import LIVER_AND_SPLEEN, export_of_file_labels, nifti_copy, save_nifti  # noqa: E402

WIDE_VALUES = (1000, 70000, 16777215)


def test_export_keeps_label_values_above_255(mrml_scene, shared_data, tmp_path):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    target_path = nifti_copy(folder / "image.nii.gz", tmp_path / "target.nii.gz", left_handed=False)
    stored = nibabel.load(nifti_copy(folder / "labels_totalseg.nii.gz", tmp_path / "small.nii.gz", left_handed=False))
    small = np.asanyarray(stored.dataobj)
    wide = np.zeros(small.shape, np.uint32)
    wide[small == LIVER_AND_SPLEEN[0]] = WIDE_VALUES[0]
    wide[small == LIVER_AND_SPLEEN[1]] = WIDE_VALUES[1]
    wide[:4, :4, :] = WIDE_VALUES[2]
    labels_path = save_nifti(wide, stored.affine, tmp_path / "labels_wide.nii.gz")
    exported = np.asanyarray(export_of_file_labels(mrml_scene, target_path, labels_path, tmp_path / "export.nii.gz").dataobj)
    for value in WIDE_VALUES:
        assert np.array_equal(exported == value, wide == value), value
    assert np.array_equal(exported, wide)
