"""The RAUSlicer self-test, run inside the Slicer application (Reload and Test, or ctest).

It needs the Slicer application; the README says how to run it.
"""

import os

import slicer
import vtk
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleTest


class RAUSlicerTest(ScriptedLoadableModuleTest):
    """Loads the chest CT shipped with slicerio, moves it, finds its 7 structures, re-prompts, exports."""

    MIN_DICE = {"right lung": 0.85, "left lung": 0.85, "tissue": 0.85}

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_registration_run_correct_export()

    def test_registration_run_correct_export(self):
        import importlib.util

        if importlib.util.find_spec("slicerio") is None:
            self.fail("slicerio is missing: press 'Install dependencies' in the RAUSlicer panel first")
        import numpy as np
        import slicerio

        from RAUSlicer import RAUSlicerLogic, importRau

        importRau()
        from rau.engines import DEFAULT_ENGINE
        from rau.mrml import image_from_volume_node, read_rau_tag, segmentation_from_node

        self.delayDisplay("Loading the chest CT and its segmentation")
        data = os.path.join(os.path.dirname(slicerio.__file__), "data")
        reference = slicer.util.loadVolume(os.path.join(data, "CTChest4.nrrd"))
        referenceSegmentation = slicer.util.loadSegmentation(os.path.join(data, "Segmentation.seg.nrrd"))

        self.delayDisplay("Making a moved target (8 mm, 5 degrees); hardening moves voxels without resampling")
        shift = vtk.vtkTransform()
        shift.Translate(8.0, -6.0, 4.0)
        shift.RotateZ(5.0)
        transform = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
        transform.SetMatrixTransformToParent(shift.GetMatrix())
        target = slicer.modules.volumes.logic().CloneVolume(slicer.mrmlScene, reference, "moved CT")
        target.SetAndObserveTransformNodeID(transform.GetID())
        slicer.vtkSlicerTransformLogic.hardenTransform(target)
        # the target's voxels are the reference's, so the reference masks are the stored truth on its grid
        truth = segmentation_from_node(referenceSegmentation, image_from_volume_node(reference))

        self.delayDisplay(f"Running the {DEFAULT_ENGINE} engine")
        logic = RAUSlicerLogic()
        output = logic.process(reference, referenceSegmentation, target, engineName=DEFAULT_ENGINE)
        self.assertEqual(output.GetName(), "moved CT segmentation")
        targetImage = image_from_volume_node(target)
        found = segmentation_from_node(output, targetImage)
        self.assertEqual(found.labels.names, truth.labels.names)
        for name, minimum in self.MIN_DICE.items():
            a, b = found.masks[name], truth.masks[name]
            dice = 2 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum())
            self.delayDisplay(f"{name}: Dice {dice:.3f}")
            self.assertGreater(dice, minimum)
        self.assertEqual(read_rau_tag(output, "right lung")["engine"], DEFAULT_ENGINE)

        self.delayDisplay("Re-prompting the right lung with one point (every engine keeps a session)")
        from rau.engines.base import Prompt

        inside = np.argwhere(found.masks["right lung"])[len(np.argwhere(found.masks["right lung"])) // 2]
        k, j, i = (int(v) for v in inside)
        before = {n: found.masks[n] for n in found.labels.names if n != "right lung"}
        logic.correct(output, "right lung", Prompt([(i, j, k)], [1]))
        after = segmentation_from_node(output, targetImage)
        for name, mask in before.items():
            self.assertTrue(np.array_equal(after.masks[name], mask), name)
        logic.correction(output).undo("right lung")

        self.delayDisplay("Exporting NIfTI + label table")
        folder = slicer.util.tempDirectory("RAUSlicerTest")
        nifti, table = logic.exportLabelMap(output, target, os.path.join(folder, "moved.nii.gz"))
        import SimpleITK as sitk

        exported = sitk.ReadImage(str(nifti))
        self.assertEqual(exported.GetSize(), tuple(reversed(targetImage.shape)))
        self.assertTrue(np.allclose(exported.GetOrigin(), targetImage.origin, atol=1e-3))
        self.assertIn("right lung", open(table, encoding="utf-8").read())
        self.delayDisplay("RAUSlicer self-test passed")

