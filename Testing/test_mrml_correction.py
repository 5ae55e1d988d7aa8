"""Markups -> prompts on an oblique target, and correcting one segment through a kept session."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors, warp  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.boxes import Box  # noqa: E402
from rau.correction import attach_session  # noqa: E402
from rau.engines.base import Prompt  # noqa: E402
from rau.errors import InputError  # noqa: E402
from rau.mrml import Correction, add_result_node, add_volume_node, prompt_from_markups, read_rau_tag  # noqa: E402
from rau.mrml.geometry import lps_to_ras  # noqa: E402
from rau.mrml.prompts import PromptError, box_from_roi  # noqa: E402
from rau.mrml.segments import segmentation_from_node, write_segment_mask  # noqa: E402
from rau.result import StructureResult  # noqa: E402
from rau.session import Session  # noqa: E402
from test_mrml_segments import Logic, box_mask, grid, labels, result_for  # noqa: E402,F401  (fixtures)


def ras_of(image, ijk):
    return lps_to_ras(image.to_world(ijk)).tolist()


def fiducials(scene, name, points):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    for point in points:
        node.AddControlPoint(point)
    return node


def test_points_become_the_voxels_they_were_placed_on(mrml_scene, grid):
    positive = fiducials(mrml_scene, "inside", [ras_of(grid, (3, 4, 5)), ras_of(grid, (7.3, 2.2, 1.4))])
    negative = fiducials(mrml_scene, "outside", [ras_of(grid, (0, 9, 7))])
    prompt = prompt_from_markups(grid, positive, negative)
    assert prompt.points == [(3, 4, 5), (7, 2, 1), (0, 9, 7)]
    assert prompt.labels == [1, 1, 0]
    assert prompt.box is None


def test_points_follow_the_markups_parent_transform(mrml_scene, grid):
    positive = fiducials(mrml_scene, "inside", [ras_of(grid, (3, 4, 5))])
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    shift = np.eye(4)
    shift[:3, 3] = lps_to_ras(grid.to_world((1, 0, 0)) - grid.to_world((0, 0, 0)))  # one voxel along i
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(shift))
    positive.SetAndObserveTransformNodeID(transform.GetID())
    assert prompt_from_markups(grid, positive).points == [(4, 4, 5)]


def test_roi_aligned_with_an_oblique_target_gives_exactly_its_voxels(mrml_scene, grid):
    """An ROI turned with the target's axes (Slicer offers this) covers its voxels, not the world bounding box."""
    low, high = np.array([2, 3, 1]), np.array([6, 7, 5])
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    frame = np.eye(4)
    frame[:3, :3] = np.diag([-1.0, -1.0, 1.0]) @ np.asarray(grid.direction).reshape(3, 3)  # the grid's axes in RAS
    roi.SetAndObserveObjectToNodeMatrix(slicer.util.vtkMatrixFromArray(frame))
    roi.SetCenterWorld(ras_of(grid, (low + high) / 2 + [2e-5, 0, 0]))  # rounding off a turned transform
    roi.SetSize(((high - low) * np.asarray(grid.spacing)).tolist())
    prompt = prompt_from_markups(grid, roi=roi)
    assert (prompt.box.lower, prompt.box.upper, prompt.box_name) == (tuple(low), tuple(high + 1), "the box 'box'")  # errors name it


def test_roi_becomes_a_sorted_box_of_voxel_centres(mrml_scene, grid):
    axis_aligned = grid.__class__(grid.array, spacing=(1.0, 2.0, 3.0), origin=(0, 0, 0))  # LPS identity
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    low, high = np.array(ras_of(axis_aligned, (2, 1, 1))), np.array(ras_of(axis_aligned, (5, 4, 3)))
    roi.SetCenter(((low + high) / 2).tolist())
    roi.SetSize(np.abs(high - low).tolist())  # corners exactly on voxel centres (2,1,1) and (5,4,3)
    prompt = prompt_from_markups(axis_aligned, roi=roi)
    assert prompt.box.lower == (2, 1, 1) and prompt.box.upper == (6, 5, 4)
    assert prompt.points == []


def test_flat_roi_takes_the_nearest_slice_and_a_thin_one_between_slices_is_refused(mrml_scene, grid):
    """Before: both refused with "the box ... does not overlap the target image", which was false."""
    axis_aligned = grid.__class__(grid.array, spacing=(1.0, 2.0, 3.0), origin=(0, 0, 0))  # LPS identity

    def roi(name, k, thickness):
        node = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
        node.SetCenter(ras_of(axis_aligned, (4, 4, k)))
        node.SetSize(4.0, 6.0, thickness)
        return node

    assert box_from_roi(axis_aligned, roi("drawn on a slice", 2.4, 0.0)) == Box((2, 3, 2), (7, 6, 3))
    assert box_from_roi(axis_aligned, roi("drawn off a slice", 2.6, 0.0)) == Box((2, 3, 3), (7, 6, 4))
    with pytest.raises(PromptError, match=r"the box 'thin' holds no voxel centre along the target's axis k \(centres 3 mm apart\); "
                                          "make it thicker, or place it on a slice"):
        box_from_roi(axis_aligned, roi("thin", 2.5, 1.0))
    with pytest.raises(PromptError, match="the box 'far' does not overlap the target image"):
        box_from_roi(axis_aligned, roi("far", -1.0, 1.0))


def test_bad_markups_are_refused_clearly(mrml_scene, labels, grid):
    with pytest.raises(PromptError, match=r"point 'far-2' of 'far' at RAS \[.*\] lies outside the target"):  # before: no names
        prompt_from_markups(grid, None, fiducials(mrml_scene, "far", [ras_of(grid, (1, 4, 5)), ras_of(grid, (50, 4, 5))]))
    empty = prompt_from_markups(grid, fiducials(mrml_scene, "empty", []))  # the session's one check refuses it
    result = result_for(grid, labels)
    result.session = RecordingSession(result, labels.labels.get("liver"))
    correction = Correction(result, add_result_node(result, add_volume_node(grid, "target", mrml_scene)))
    with pytest.raises(InputError, match="a prompt needs at least one point or a box"):
        correction.update("liver", empty)
    assert result.session.calls == [] and not correction.can_undo("liver")


class RecordingSession(Session):
    """A stand-in engine session on the real interface: answers each prompt with a box around its point."""

    def __init__(self, result, structure):
        super().__init__(result.target, {item.structure.name: item for item in result.structures})
        self.grid, self.structure, self.calls = result.target, structure, []

    def _reprompt(self, name, prompt: Prompt, progress) -> StructureResult:
        self.calls.append(("reprompt", name, prompt))
        (i, j, k), = prompt.points
        return StructureResult(self.structure, box_mask(self.grid, (k, k + 2), (j, j + 2), (i, i + 2)), 0.8, "session",
                               prompts={"points": [list(prompt.points[0])], "labels": prompt.labels})

    def _propagate(self, name, progress) -> StructureResult:
        self.calls.append(("propagate", name))
        return StructureResult(self.structure, box_mask(self.grid, (0, 8), (0, 1), (0, 1)), 0.4, "session")


def test_update_changes_one_segment_and_undo_restores_manual_edits(mrml_scene, labels, grid):
    result = result_for(grid, labels)
    result.session = RecordingSession(result, labels.labels.get("liver"))
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    manual = labels.masks["liver"].copy()
    manual[1, 2, 3] = False  # the user edited the segment by hand before re-prompting
    write_segment_mask(node, "liver", manual, grid)
    before = segmentation_from_node(node, grid)

    correction = Correction(result, node)
    assert not correction.can_undo("liver")
    correction.update("liver", Prompt(points=[(4, 5, 6)], labels=[1]))
    after = segmentation_from_node(node, grid)
    assert np.array_equal(after.masks["liver"], box_mask(grid, (6, 8), (5, 7), (4, 6)))
    for name in ("spleen", "kidney"):
        assert np.array_equal(after.masks[name], before.masks[name]), name
    assert read_rau_tag(node, "liver")["prompts"]["points"] == [[4, 5, 6]]
    assert result.get("liver").engine == "session"

    correction.propagate("liver")
    assert segmentation_from_node(node, grid).masks["liver"].sum() == 8
    segment = node.GetSegmentation().GetSegment(node.GetSegmentation().GetSegmentIdBySegmentName("liver"))
    assert Logic.GetSegmentStatus(segment) == Logic.Flagged  # confidence 0.4 is low

    correction.undo("liver")
    correction.undo("liver")
    assert np.array_equal(segmentation_from_node(node, grid).masks["liver"], manual)
    assert read_rau_tag(node, "liver")["engine"] == "test-engine"
    assert Logic.GetSegmentStatus(segment) == Logic.InProgress
    assert not correction.can_undo("liver")
    with pytest.raises(ValueError, match="nothing to undo"):
        correction.undo("liver")
    assert [call[0] for call in result.session.calls] == ["reprompt", "propagate"]


class GrowingSession(Session):
    """A stand-in session on the real interface: an inside point adds its voxel to the structure, an outside one removes it."""

    def __init__(self, result):
        super().__init__(result.target, {item.structure.name: item for item in result.structures})

    def _reprompt(self, name, prompt: Prompt, progress) -> StructureResult:
        current = self.results[name]
        mask = current.mask.copy() if current.found else np.zeros(self.target.shape, bool)
        for (i, j, k), label in zip(prompt.points, prompt.labels):
            mask[k, j, i] = label == 1
        return StructureResult(current.structure, mask, 0.9, "session")


@pytest.mark.parametrize("overwrite", [False, True])
def test_overlapping_segments_keep_their_shared_voxels(mrml_scene, labels, grid, overwrite):
    """Liver and spleen overlap (layers); growing the liver gives way, or takes, only where it grows."""
    result = result_for(grid, labels)
    result.session = GrowingSession(result)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    before = segmentation_from_node(node, grid).masks
    shared = before["liver"] & before["spleen"]
    assert shared.any()
    correction = Correction(result, node, overwrite=overwrite)
    correction.update("liver", Prompt(points=[(0, 9, 7)], labels=[1]))  # far from the spleen
    correction.update("liver", Prompt(points=[(10, 8, 6)], labels=[1]))  # a spleen voxel the liver did not hold
    after = segmentation_from_node(node, grid).masks
    grown = box_mask(grid, (7, 8), (9, 10), (0, 1)) | (box_mask(grid, (6, 7), (8, 9), (10, 11)) if overwrite else False)
    assert np.array_equal(after["liver"], before["liver"] | grown)
    assert np.array_equal(after["spleen"], before["spleen"] & ~box_mask(grid, (6, 7), (8, 9), (10, 11)) if overwrite else before["spleen"])
    assert (after["liver"] & after["spleen"] == shared).all()


def test_undo_after_overwrite_gives_back_only_what_it_took_and_still_holds(mrml_scene, labels, grid):
    """Undoing the liver gives the spleen the voxels the liver took from it and still holds; the spleen's
    later correction stays, and a voxel the kidney took from the liver since stays the kidney's."""
    result = result_for(grid, labels)
    result.session = GrowingSession(result)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    before = segmentation_from_node(node, grid).masks
    correction = Correction(result, node, overwrite=True)
    point = {"taken": (7, 6, 5), "retaken": (8, 7, 6), "removed": (10, 8, 6), "added": (0, 9, 7)}
    voxel = {name: box_mask(grid, (k, k + 1), (j, j + 1), (i, i + 1)) for name, (i, j, k) in point.items()}
    assert all((before["spleen"] & ~before["liver"] & voxel[n]).any() for n in ("taken", "retaken", "removed"))
    correction.update("liver", Prompt(points=[point["taken"], point["retaken"]], labels=[1, 1]))  # two spleen voxels
    correction.update("spleen", Prompt(points=[point["removed"], point["added"]], labels=[0, 1]))  # later: one out, one in
    correction.update("kidney", Prompt(points=[point["retaken"]], labels=[1]))  # takes one of them from the liver
    corrected = segmentation_from_node(node, grid).masks
    assert not (corrected["spleen"] & (voxel["taken"] | voxel["retaken"])).any()

    correction.undo("liver")
    undone = segmentation_from_node(node, grid).masks
    assert np.array_equal(undone["liver"], before["liver"])
    assert np.array_equal(undone["spleen"], (before["spleen"] & ~voxel["removed"] & ~voxel["retaken"]) | voxel["added"])
    assert np.array_equal(undone["kidney"], before["kidney"] | voxel["retaken"])
    assert read_rau_tag(node, "spleen")["engine"] == "session"  # the spleen's own later correction


def test_undoing_every_correction_in_any_order_ends_where_the_run_was(mrml_scene, labels, grid):
    """The liver takes a spleen voxel, the spleen takes it back, the liver loses one of its own; undone spleen
    first, then the liver twice. Before, the liver's undo put back its whole saved mask, which lacked the voxel
    the spleen's undo had just given it: the voxel ended in no segment."""
    result = result_for(grid, labels)
    result.session = GrowingSession(result)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    before = segmentation_from_node(node, grid).masks
    spleen_only, liver_only = (10, 8, 6), (3, 2, 1)
    assert before["spleen"][6, 8, 10] and not before["liver"][6, 8, 10] and before["liver"][1, 2, 3] and not before["spleen"][1, 2, 3]
    correction = Correction(result, node, overwrite=True)
    correction.update("liver", Prompt(points=[spleen_only], labels=[1]))
    correction.update("spleen", Prompt(points=[spleen_only], labels=[1]))
    correction.update("liver", Prompt(points=[liver_only], labels=[0]))
    for name in ("spleen", "liver", "liver"):
        correction.undo(name)
    after = segmentation_from_node(node, grid).masks
    for name in ("liver", "spleen", "kidney"):
        assert np.array_equal(after[name], before[name]), name


def test_undoing_a_correction_first_keeps_its_voxels_out_of_a_later_undo_of_another(mrml_scene):
    """"head" grows (overwrite), "other" grows over part of head's new voxels; undone head first, then other. Before,
    other's undo gave head back every voxel it had taken, those of head's undone correction too (322 background and
    89 of other's voxels ended in head)."""
    from test_correction import result_2d

    from rau.correction import CorrectorSession

    result, _ = result_2d()
    result.session = CorrectorSession(result)
    node = add_result_node(result, add_volume_node(result.target, "target", mrml_scene))
    before = segmentation_from_node(node, result.target).masks
    correction = Correction(result, node, overwrite=True)
    for name, point in (("head", (41, 35, 0)), ("other", (31, 50, 0))):
        correction.update(name, Prompt(points=[point], labels=[1]))
    for name in ("head", "other"):
        correction.undo(name)
    after = segmentation_from_node(node, result.target).masks
    assert all(np.array_equal(after[name], before[name]) for name in before)


def test_segments_the_user_renamed_after_run_are_still_their_structures(mrml_scene, labels, grid):
    """Before: a renamed segment could not be corrected, and undo added a second segment under the old name."""
    result = result_for(grid, labels)
    result.session = GrowingSession(result)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    before = segmentation_from_node(node, grid).masks
    segmentation = node.GetSegmentation()
    segmentation.GetSegment("liver").SetName("liver (checked)")
    segmentation.GetSegment("spleen").SetName("lien")
    correction = Correction(result, node, overwrite=True)
    spleen_voxel = (10, 8, 6)  # the liver takes it from the spleen
    correction.update("liver", Prompt(points=[spleen_voxel], labels=[1]))
    names = ["liver (checked)", "lien", "kidney"]
    corrected = segmentation_from_node(node, grid, names).masks
    taken = box_mask(grid, (6, 7), (8, 9), (10, 11))
    assert np.array_equal(corrected["liver (checked)"], before["liver"] | taken) and not (corrected["lien"] & taken).any()
    correction.undo("liver")
    assert [segmentation.GetNthSegment(n).GetName() for n in range(segmentation.GetNumberOfSegments())] == names
    undone = segmentation_from_node(node, grid, names).masks
    assert np.array_equal(undone["liver (checked)"], before["liver"]) and np.array_equal(undone["lien"], before["spleen"])
    assert read_rau_tag(node, "liver")["engine"] == "test-engine"


def test_undo_brings_back_a_segment_deleted_since_as_it_looked_and_where_it_was(mrml_scene, labels, grid):
    """Before: it came back red, with Slicer's default terminology, at the end of the list (another label value)."""
    result = result_for(grid, labels)
    result.session = GrowingSession(result)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    segmentation = node.GetSegmentation()
    segmentation.GetSegment("liver").SetName("liver (checked)")
    before = segmentation_from_node(node, grid)
    correction = Correction(result, node)
    correction.update("liver", Prompt(points=[(4, 5, 6)], labels=[0]))
    segmentation.RemoveSegment("liver")
    correction.undo("liver")
    after = segmentation_from_node(node, grid)
    assert after.labels.names == ["liver (checked)", "spleen", "kidney"]
    liver = after.labels.get("liver (checked)")
    assert np.allclose(liver.color, (0.9, 0.5, 0.3)) and liver.terminology["type"][2] == "Liver"
    assert np.array_equal(after.masks["liver (checked)"], before.masks["liver (checked)"])
    back = segmentation.GetSegment(segmentation.GetSegmentIdBySegmentName("liver (checked)"))
    assert not back.GetNameAutoGenerated() and not back.GetColorAutoGenerated()  # Slicer's terminology picker keeps them


def test_correction_needs_a_session(mrml_scene, labels, grid):
    result = result_for(grid, labels)
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    with pytest.raises(ValueError, match="keeps no session"):
        Correction(result, node)


def test_box_on_the_target_re_prompts_through_a_real_sam2_session(mrml_scene, tiny_sam2):
    """A ROI placed in Slicer goes through the bridge and a real (tiny) SAM2 session into one segment."""
    pytest.importorskip("torch")
    from rau.engines.base import Request
    from test_sam2_segmenter import make_reference, spy_segmenter

    reference = make_reference()
    target_image = reference.image.with_array(np.random.default_rng(7).normal(size=reference.image.shape))
    result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target_image), None)
    target = add_volume_node(target_image, "target", mrml_scene)
    node = add_result_node(result, target)
    before = segmentation_from_node(node, target_image)

    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    low, high = np.array(ras_of(target_image, (5, 5, 6))), np.array(ras_of(target_image, (19, 14, 6)))
    roi.SetCenter(((low + high) / 2).tolist())
    roi.SetSize((np.abs(high - low) + [0, 0, 1]).tolist())
    prompt = prompt_from_markups(target_image, roi=roi)
    assert (prompt.box.lower, prompt.box.upper) == ((5, 5, 6), (20, 15, 7))

    correction = Correction(result, node)
    corrected = correction.update("liver", prompt)
    after = segmentation_from_node(node, target_image)
    assert corrected.prompts["corrected_slices"] == [6]
    assert np.array_equal(after.masks["liver"], corrected.mask if corrected.found else np.zeros(target_image.shape, bool))
    assert after.masks["liver"][6, 5:15, 5:20].all()  # the box's voxels on the prompted slice
    assert np.array_equal(after.masks["spleen"], before.masks["spleen"])
    correction.undo("liver")
    assert np.array_equal(segmentation_from_node(node, target_image).masks["liver"], before.masks["liver"])


def test_points_on_a_sagittal_stored_volume_correct_the_slice_they_were_placed_on(mrml_scene, tiny_sam2):
    """Stored sagittally (i runs superior) and sliced by SAM2 along i (the coarsest spacing): points placed
    on one sagittal slice at different k reach that slice; the old k-based slice index would have been refused."""
    pytest.importorskip("torch")
    from rau.engines.base import Request
    from test_sam2_segmenter import make_reference, spy_segmenter

    sagittal = np.array([[0, 0, 1], [0, -1, 0], [1, 0, 0]], float)
    reference = make_reference(shape=(12, 16, 10), spacing=(3.0, 1.0, 1.0), direction=sagittal, structures=1)
    target_image = reference.image.with_array(np.random.default_rng(8).normal(size=reference.image.shape))
    result = spy_segmenter(tiny_sam2["always"]).segment(Request([reference], target_image), None)
    assert result.session.axis == 2  # slices along i
    node = add_result_node(result, add_volume_node(target_image, "sagittal target", mrml_scene))
    positive = fiducials(mrml_scene, "inside", [ras_of(target_image, (4, 8, 3)), ras_of(target_image, (4, 6, 9))])
    prompt = prompt_from_markups(target_image, positive)
    before = segmentation_from_node(node, target_image).masks["liver"]
    corrected = Correction(result, node).update("liver", prompt)
    assert corrected.prompts["corrected_slices"] == [4]
    after = segmentation_from_node(node, target_image).masks["liver"]
    others = [i for i in range(10) if i != 4]
    assert np.array_equal(after[:, :, others], before[:, :, others])


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_corrected_segment_gives_way_to_the_others_unless_overwrite(mrml_scene, labels, grid, overwrite):
    result = result_for(grid, labels)
    result.session = RecordingSession(result, labels.labels.get("liver"))
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    spleen = segmentation_from_node(node, grid).masks["spleen"]
    correction = Correction(result, node, overwrite=overwrite)
    item = correction.update("liver", Prompt(points=[(9, 4, 3)], labels=[1]))  # a 2x2x2 box, half of it in the spleen
    after = segmentation_from_node(node, grid)
    asked = box_mask(grid, (3, 5), (4, 6), (9, 11))
    assert (asked & spleen).sum() == 4 and not (asked & labels.masks["liver"]).any()  # voxels the liver takes anew
    if overwrite:
        assert np.array_equal(after.masks["liver"], asked) and np.array_equal(after.masks["spleen"], spleen & ~asked)
    else:
        assert np.array_equal(after.masks["liver"], asked & ~spleen) and np.array_equal(after.masks["spleen"], spleen)
        assert np.array_equal(item.mask, asked & ~spleen) and np.array_equal(result.get("liver").mask, item.mask)
    correction.undo("liver")  # the spleen gets back the voxels the liver took from it
    undone = segmentation_from_node(node, grid).masks
    assert np.array_equal(undone["liver"], labels.masks["liver"]) and np.array_equal(undone["spleen"], spleen)


def test_a_moved_result_refuses_corrections_until_it_is_back(mrml_scene, labels, grid):
    """Clicks are turned into voxels of the target where it was at Run: after the transform changed, refuse."""
    result = result_for(grid, labels)
    result.session = RecordingSession(result, labels.labels.get("liver"))
    target = add_volume_node(grid, "target", mrml_scene)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    target.SetAndObserveTransformNodeID(transform.GetID())
    node = add_result_node(result, target)
    correction = Correction(result, node, target_node=target)
    correction.update("liver", Prompt(points=[(4, 5, 6)], labels=[1]))
    before = segmentation_from_node(node, grid).masks
    shifted = np.eye(4)
    shifted[:3, 3] = (9.0, 0.0, 0.0)
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(shifted))
    with pytest.raises(ValueError, match="'target.*' or its target was moved .* after Run"):
        correction.update("liver", Prompt(points=[(2, 2, 2)], labels=[1]))
    with pytest.raises(ValueError, match="was moved"):
        correction.undo("liver")
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.eye(4)))
    assert all(np.array_equal(segmentation_from_node(node, grid).masks[n], before[n]) for n in before)
    correction.undo("liver")
    assert np.array_equal(segmentation_from_node(node, grid).masks["liver"], labels.masks["liver"])
    hardened = vtk.vtkMatrix4x4()  # the target alone moved, its transform hardened into its voxels' placement
    target.GetIJKToRASMatrix(hardened)
    hardened.SetElement(0, 3, hardened.GetElement(0, 3) + 9.0)
    target.SetIJKToRASMatrix(hardened)
    with pytest.raises(ValueError, match="or its target was moved"):
        correction.update("liver", Prompt(points=[(2, 2, 2)], labels=[1]))
    node.SetAndObserveTransformNodeID(warp(mrml_scene).GetID())  # before: "harden it ... before running RAUSlicer"
    with pytest.raises(ValueError, match="non-linear transform 'warp'; harden it .* before correcting it$"):
        correction.update("liver", Prompt(points=[(2, 2, 2)], labels=[1]))


def test_a_session_does_not_outlive_its_node_when_the_scene_is_cleared(mrml_scene, labels, grid):
    from slicer_module import load_rauslicer

    from rau.correction import attach_session
    from rau.mrml import add_segmentation_node

    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.writeResult(attach_session(result_for(grid, labels)), add_volume_node(grid, "target", mrml_scene))
    assert logic.correction(node) is not None
    node_id = node.GetID()
    mrml_scene.Clear(0)  # e.g. File > Close Scene, then the saved segmentation is loaded again
    reloaded = add_segmentation_node(labels, "saved segmentation", mrml_scene, add_volume_node(grid, "target", mrml_scene))
    assert reloaded.GetID() == node_id
    assert logic.correction(reloaded) is None
    with pytest.raises(ValueError, match="press Run again"):
        logic.correct(reloaded, "liver", Prompt(points=[(5, 5, 3)], labels=[1]))


def test_a_result_without_a_session_is_written_without_corrections(mrml_scene, labels, grid):
    from slicer_module import load_rauslicer

    logic = load_rauslicer().RAUSlicerLogic()
    result = result_for(grid, labels)  # as a server returns it when the session was over its memory
    node = logic.writeResult(result, add_volume_node(grid, "target", mrml_scene))
    assert segmentation_from_node(node, grid).masks["liver"].sum() == labels.masks["liver"].sum()
    assert logic.correction(node) is None


def test_a_corrected_segment_is_the_users_answer_and_no_longer_flagged(mrml_scene, labels, grid):
    """Before, a structure not found (confidence 0, Flagged) stayed Flagged with confidence 0 after the user drew
    it with a click, while a vessel correction gave 1: one rule now, in the session every engine shares."""
    result = attach_session(result_for(grid, labels))
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    kidney = node.GetSegmentation().GetSegment(node.GetSegmentation().GetSegmentIdBySegmentName("kidney"))
    assert Logic.GetSegmentStatus(kidney) == Logic.Flagged
    correction = Correction(result, node)
    corrected = correction.update("kidney", Prompt(points=[(1, 1, 0)], labels=[1]))
    assert corrected.found and corrected.confidence == 1.0 and read_rau_tag(node, "kidney")["confidence"] == 1.0
    assert Logic.GetSegmentStatus(kidney) == Logic.InProgress
    correction.undo("kidney")
    assert Logic.GetSegmentStatus(kidney) == Logic.Flagged and read_rau_tag(node, "kidney")["confidence"] == 0.0


def test_segments_an_overwrite_correction_takes_from_say_so_and_undoing_every_correction_ends_where_the_run_was(mrml_scene):
    """"head" grows with overwrite over all of "small" and part of "other"; "small", then "other", are corrected
    (no overwrite); undone other, small, head. Before, small's emptied segment kept its found tag and In progress
    status, the session still held the voxels head took, and the next correction sent small's loss as a hand edit:
    after the undos small held its voxels again but its tag said not found ("every voxel was removed by an edit",
    Flagged), as its session answer did. Now node, tags, statuses and session agree at each step."""
    import json

    from test_correction import result_2d

    from rau.correction import CorrectorSession
    from rau.labels import Structure
    from rau.mrml.results import review_status, tag_json
    from rau.result import taken_by, voxels

    result, _ = result_2d()
    small = np.zeros(result.target.shape, bool)
    small[0, 60:64, 46:50] = True  # where head's inside click grows
    result.structures.append(StructureResult(Structure("small", 3), small, 0.75, "test"))
    result.session = CorrectorSession(result)
    node = add_result_node(result, add_volume_node(result.target, "target", mrml_scene))

    def state():
        """Each segment's voxels, tag and status, after checking that they say the session's answer."""
        masks, segments = segmentation_from_node(node, result.target).masks, node.GetSegmentation()
        for name, answer in result.session.results.items():
            assert np.array_equal(masks[name], voxels(answer, result.target.shape)), name
            assert read_rau_tag(node, name) == json.loads(tag_json(answer, result.target)), name
            assert Logic.GetSegmentStatus(segments.GetSegment(name)) == review_status(answer), name
        return {name: (masks[name], read_rau_tag(node, name), Logic.GetSegmentStatus(segments.GetSegment(name))) for name in masks}

    run = state()
    correction = Correction(result, node, overwrite=True)
    correction.update("head", Prompt(points=[(48, 62, 0)], labels=[1]))
    taken = state()
    assert not taken["small"][0].any() and taken["small"][1]["message"] == taken_by("head") and taken["small"][2] == Logic.Flagged
    assert 0 < taken["other"][0].sum() < run["other"][0].sum()
    correction.overwrite = False
    for name, point in (("small", (47, 61, 0)), ("other", (70, 70, 0))):
        correction.update(name, Prompt(points=[point], labels=[1]))
        state()
    for name in ("other", "small", "head"):
        correction.undo(name)
        state()
    after = state()
    for name, (mask, tag, status) in run.items():
        assert np.array_equal(after[name][0], mask) and after[name][1:] == (tag, status), name


def three_structures_result(mrml_scene):
    """result_2d's head and other with "small" where head's inside click grows, a CorrectorSession, and its node."""
    from test_correction import result_2d

    from rau.correction import CorrectorSession
    from rau.labels import Structure

    result, _ = result_2d()
    small = np.zeros(result.target.shape, bool)
    small[0, 60:64, 46:50] = True
    result.structures.append(StructureResult(Structure("small", 3), small, 0.75, "test"))
    result.session = CorrectorSession(result)
    return result, add_result_node(result, add_volume_node(result.target, "target", mrml_scene))


def check_node_says_session(node, result) -> dict[str, np.ndarray]:
    """Each segment's voxels, after checking that they, its tag and its status say the session's answer."""
    import json

    from rau.mrml.results import review_status, tag_json
    from rau.result import voxels

    masks, segments = segmentation_from_node(node, result.target).masks, node.GetSegmentation()
    for name, answer in result.session.results.items():
        assert np.array_equal(masks[name], voxels(answer, result.target.shape)), name
        assert read_rau_tag(node, name) == json.loads(tag_json(answer, result.target)), name
        assert Logic.GetSegmentStatus(segments.GetSegment(name)) == review_status(answer), name
    return masks


def test_undoing_a_correction_of_a_segment_taken_from_since_leaves_the_session_as_the_node(mrml_scene):
    """"small" grows, then "head" with overwrite takes its voxels; undoing small's correction leaves head's voxels with
    head in the node. Before, the session gave small back its answer from before its correction, head's voxels too:
    the next correction of small started from voxels its segment did not hold, and its tag said them."""
    result, node = three_structures_result(mrml_scene)
    run, correction = check_node_says_session(node, result), Correction(result, node)
    correction.update("small", Prompt(points=[(47, 61, 0)], labels=[1]))
    correction.overwrite = True
    correction.update("head", Prompt(points=[(48, 62, 0)], labels=[1]))
    taken = check_node_says_session(node, result)
    correction.undo("small")
    assert not (check_node_says_session(node, result)["small"] & taken["head"]).any()
    correction.undo("head")  # head gives small back its voxels
    assert all(np.array_equal(mask, run[name]) for name, mask in check_node_says_session(node, result).items())


def test_undoing_an_overwrite_gives_a_segment_back_only_what_the_session_gives_it(mrml_scene):
    """head grows and is undone; head, small and other each take voxels with overwrite; head's, then other's, are
    undone. Before, undoing other gave small, in the node only, the voxels other took from it that it still held
    before the undo, also 99 that other keeps after it (given back to other when head's undo was): small and other
    both held them, the session small did not. Now the session's answer is the one rule: the node takes it."""
    result, node = three_structures_result(mrml_scene)
    correction = Correction(result, node)
    correction.update("head", Prompt(points=[(88, 73, 0)], labels=[1]))
    correction.undo("head")
    correction.overwrite = True
    for name, point in (("head", (80, 22, 0)), ("small", (52, 51, 0)), ("other", (33, 30, 0))):
        correction.update(name, Prompt(points=[point], labels=[1]))
        check_node_says_session(node, result)
    correction.undo("head")
    check_node_says_session(node, result)
    correction.undo("other")
    masks = check_node_says_session(node, result)
    assert masks["other"].any() and not (masks["small"] & masks["other"]).any()


def test_undoing_an_overwrite_gives_a_segment_the_user_added_back_its_voxels(mrml_scene):
    """A segment the session does not know gets back from the node what an overwrite took from it."""
    result, node = three_structures_result(mrml_scene)
    painted = np.zeros(result.target.shape, bool)
    painted[0, 66:70, 40:56] = True  # where head's inside click grows
    segment_id = write_segment_mask(node, "painted", painted, result.target)
    correction = Correction(result, node, overwrite=True)
    correction.update("head", Prompt(points=[(48, 62, 0)], labels=[1]))
    assert not segmentation_from_node(node, result.target).masks[segment_id].all()
    correction.undo("head")
    assert np.array_equal(segmentation_from_node(node, result.target).masks[segment_id], painted)
