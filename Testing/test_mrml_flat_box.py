"""An ROI drawn flat on a slice view (0 thick) in a real MRML scene corrects its slice of a segment only, with the
weight-free corrector (``correct_mask`` and ``rau correct``: test_correction_flat_box.py)."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

pytest.importorskip("slicer")

from rau.correction import attach_session  # noqa: E402
from rau.labels import Structure  # noqa: E402
from rau.mrml import Correction, add_result_node, add_volume_node, prompt_from_markups  # noqa: E402
from rau.mrml.geometry import lps_to_ras  # noqa: E402
from rau.mrml.segments import segmentation_from_node  # noqa: E402
from rau.result import Result, StructureResult  # noqa: E402
from test_correction_flat_box import cylinder  # noqa: E402


def test_an_roi_drawn_flat_on_a_slice_view_updates_that_slice_of_the_segment_only(mrml_scene):  # noqa: F811
    truth, image = cylinder((12, 40, 40), (2, 10), (2.5, 1.0, 1.0))
    result = attach_session(Result(image, [StructureResult(Structure("liver", 1), truth, 0.6, "registration")], "registration"))
    node = add_result_node(result, add_volume_node(image, "target", mrml_scene))
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "RAU box")
    low, high = (lps_to_ras(image.to_world(ijk)) for ijk in ((20, 8, 5), (35, 32, 5)))
    roi.SetXYZ(((low + high) / 2).tolist())
    roi.SetRadiusXYZ([*(np.abs(high - low) / 2)[:2], 0.0])  # 0 thick, as drawn on an axial slice view
    prompt = prompt_from_markups(image, roi=roi)
    assert (prompt.box.lower[2], prompt.box.upper[2]) == (5, 6)
    corrected = Correction(result, node).update("liver", prompt)
    after = segmentation_from_node(node, image).masks["liver"]
    others = np.ones(truth.shape[0], bool)
    others[5] = False
    assert np.array_equal(after[others], truth[others]) and corrected.found
    assert np.array_equal(after[5], (truth & prompt.box.mask(truth.shape))[5]) and after[5].sum() < truth[5].sum()
