"""The module's logic keeps results with their targets: correction sessions are bounded and closed, a result is
written and exported where its target was read, and prompts come from the placed markups (slicer-core MRML)."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import SimpleITK as sitk
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node, segmentation_from_node  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


@pytest.fixture
def disk_scene(mrml_scene):
    """A 2D reference with one disk, its segmentation, and a target that is the same picture."""
    (reference, reference_segmentation, target), image = disk_inputs(mrml_scene)
    module = load_rauslicer()
    logic = module.RAUSlicerLogic()

    def run(target_volume=target):
        return logic.process(reference, reference_segmentation, target_volume, ["disk"], "registration", {"deformable": False})

    return mrml_scene, module, logic, run, (reference, reference_segmentation, target), image


def test_sessions_of_deleted_result_nodes_of_old_runs_and_of_a_closed_scene_are_closed(disk_scene):
    """Each kept session holds images (and, for model engines, models): a deleted result node's goes at once,
    those beyond the latest KEPT_SESSIONS at the next run, and every one when the scene closes."""
    scene, module, logic, run, _, _ = disk_scene
    closed = []
    first, second = run(), run()
    for node in (first, second):
        logic.correction(node).result.session.close = lambda node=node: closed.append(node)
    scene.RemoveNode(first)
    assert logic.correction(second) is not None and closed == [first]  # before: kept until the next run
    later = [run() for _ in range(module.KEPT_SESSIONS)]
    assert [kept.node for kept in logic.corrections.values()] == later and closed == [first, second]  # before: no bound
    logic.releaseSessions()
    assert logic.corrections == {}
    for call in (lambda: logic.undo(later[-1], "disk"), lambda: logic.correctionJob(later[-1], "disk")):  # undo was an AttributeError
        with pytest.raises(ValueError, match="this segmentation has no correction session; press Run again"):
            call()


def test_the_session_of_a_cleared_scene_s_node_is_closed_when_its_id_comes_back(disk_scene):
    """Console use (no panel to close sessions with the scene): before, the new result's session replaced the old
    one under the reused node id, and the old one (a server's, a model's memory) was never closed."""
    scene, _, logic, _, _, image = disk_scene
    closed = []

    def run_in_new_scene(tag):
        reference = add_volume_node(image, "reference", scene)
        labels = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1], {1: "disk"}), {"disk": image.array > 150})
        result = logic.runEngine("registration", {"deformable": False}, logic.request(
            reference, add_segmentation_node(labels, "labels", scene, reference), add_volume_node(image, "target", scene), ["disk"]))
        result.session.close = lambda: closed.append(tag)
        return logic.writeResult(result, scene.GetFirstNodeByName("target"))

    scene.Clear(0)  # the fixture's nodes out of the way: both scenes get the same ids
    first = run_in_new_scene("first").GetID()
    scene.Clear(0)
    assert run_in_new_scene("second").GetID() == first and closed == ["first"]


def test_a_correction_the_node_never_got_is_taken_back_out_of_the_engine_session(disk_scene):
    """Before: a refused write, or a cancel that came after the work finished, left the click in the session, so
    every later correction started from it."""
    scene, _, logic, run, (_, _, target), _ = disk_scene
    node = run()
    session = logic.correction(node).result.session
    outside = Prompt(points=[(34, 30, 0)], labels=[0])
    item = logic.correctionJob(node, "disk", outside)(None)  # the worker thread's part
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    target.SetAndObserveTransformNodeID(transform.GetID())
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.diag([1.0, 1.0, 1.0, 1.0]) + np.eye(4, k=3) * 3))
    with pytest.raises(ValueError, match="was moved"):
        logic.applyCorrection(node, "disk", item)
    assert not session.can_undo("disk")
    target.SetAndObserveTransformNodeID(None)
    logic.correctionJob(node, "disk", outside)(None)
    logic.discardCorrection(node, "disk")  # what applyCorrection does when its write is refused
    assert not session.can_undo("disk") and session.results["disk"].mask.sum() > 400


def test_an_undo_the_node_never_got_closes_the_engine_session_and_says_so(disk_scene):
    """Undo's session part runs as a background job (undoJob): when its write is refused (the target moved meanwhile),
    the session, which cannot redo, is closed and the error says so; the node keeps the correction."""
    scene, _, logic, run, (_, _, target), _ = disk_scene
    node = run()
    logic.correct(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    grid = logic.correction(node).result.target
    corrected = segmentation_from_node(node, grid).masks["disk"]
    logic.undoJob(node, "disk")(None)  # the worker thread's part
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    target.SetAndObserveTransformNodeID(transform.GetID())
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.eye(4) + np.eye(4, k=3) * 3))
    with pytest.raises(RuntimeError, match=r"was moved(.|\n)*had already undone the correction of 'disk', so it was closed"):
        logic.applyUndo(node, "disk")
    assert logic.correction(node) is None
    target.SetAndObserveTransformNodeID(None)
    assert np.array_equal(segmentation_from_node(node, grid).masks["disk"], corrected)


def test_a_hand_edit_made_while_a_correction_ran_is_kept_and_the_correction_taken_back(disk_scene):
    """The Segment Editor stays usable while a correction runs off the GUI thread. Before, the answer, computed from
    the segment as it was, was written over a stroke painted meanwhile, without a word."""
    from rau.mrml.segments import segment_mask, write_segment_mask

    _, _, logic, run, _, image = disk_scene
    node = run()
    session = logic.correction(node).result.session
    item = logic.correctionJob(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))(None)  # the worker thread's part
    painted = segment_mask(node, "disk", image)
    painted[0, 50:56, 5:11] = True  # a stroke the user painted meanwhile
    write_segment_mask(node, "disk", painted, image)
    with pytest.raises(ValueError, match="'disk' of 'target segmentation' was edited while the correction ran: the correction was not written"):
        logic.applyCorrection(node, "disk", item)
    assert np.array_equal(segment_mask(node, "disk", image), painted) and not session.can_undo("disk")
    logic.correct(node, "disk", Prompt(points=[(8, 52, 0)], labels=[1]))  # again: it starts from the edit
    assert segment_mask(node, "disk", image)[0, 50:56, 5:11].all()


def test_a_segment_the_user_added_is_named_when_it_cannot_be_corrected(disk_scene):
    """The logic takes a segment id (the panel offers only the result's structures; a script or the Python console may
    pass any); before, a segment the user added was refused as "no structure 'Segment_1' in this result", its hidden id."""
    _, _, logic, run, _, _ = disk_scene
    node = run()
    added = node.GetSegmentation().AddEmptySegment("", "tumour", [1.0, 1.0, 0.0])
    for attempt in (lambda: logic.correctionJob(node, added, Prompt(points=[(34, 30, 0)], labels=[1])), lambda: logic.undo(node, added)):
        with pytest.raises(ValueError, match="'tumour' is not a structure RAUSlicer found in 'target segmentation'; only those can be corrected: 'disk'"):
            attempt()


@pytest.mark.parametrize("painted_name", ["tumour", "disk"])
def test_inside_points_a_correction_leaves_out_are_said_as_rau_correct_says_them(disk_scene, painted_name):
    """Before, only ``rau correct`` warned of them; the panel said "disk: confidence 1.00" with the clicked voxel outside.
    A painted segment with the corrected structure's name was "other structures" until it was named too."""
    from rau.mrml.segments import write_segment_mask
    from rau.user_warnings import collected_warnings

    _, module, logic, run, _, image = disk_scene
    node = run()
    painted = np.zeros(image.shape, bool)
    painted[0, 50:60, 5:15] = True
    painted_id = node.GetSegmentation().AddEmptySegment("", painted_name, [1.0, 1.0, 0.0])
    write_segment_mask(node, painted_id, painted, image)  # a segment the user painted
    with collected_warnings() as said:
        item = logic.correct(node, "disk", Prompt(points=[(8, 52, 0)], labels=[1]))
    assert item.found and not item.mask[0, 52, 8]
    # the painted segment is no structure of the engine's session, yet named as Slicer shows it (before: "other structures")
    assert said == [f"'disk' leaves out 1 of the 1 inside points given (its answer held them but gave way to {painted_name!r} there; "
                    f"{module.OVERWRITE_OPTION} to take them)"]
    with collected_warnings() as said:
        logic.correct(node, "disk", Prompt(points=[(8, 52, 0)], labels=[1]), overwrite=True)
    assert said == []


def test_a_correction_finished_after_its_node_was_deleted_is_refused(disk_scene):
    scene, _, logic, run, _, _ = disk_scene
    node = run()
    work = logic.correctionJob(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    item = work(None)
    scene.RemoveNode(node)
    with pytest.raises(ValueError, match="'target segmentation' was removed from the scene; nothing was corrected"):
        logic.applyCorrection(node, "disk", item)  # before: written into the deleted node, reported as done


def test_an_undo_or_an_export_of_a_deleted_result_says_it_was_deleted(disk_scene, tmp_path):
    """Before, the undo said "nothing was corrected", and the label-map export that the result "is no longer linked to
    the target volume it was made over (the volume was removed, ...)": the result itself was removed."""
    scene, _, logic, run, _, _ = disk_scene
    node = run()
    logic.correct(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    scene.RemoveNode(node)
    with pytest.raises(ValueError, match="^'target segmentation' was removed from the scene; nothing was undone$"):
        logic.undo(node, "disk")
    with pytest.raises(ValueError, match="^'target segmentation' was removed from the scene; nothing was exported$"):
        logic.exportLabelMap(node, None, tmp_path / "gone.nii.gz")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("under_transform", [False, True])
def test_once_its_target_is_removed_a_result_is_no_longer_corrected_but_its_corrections_are_undone(disk_scene, under_transform):
    """Before, a target that had been under a transform counted as moved once removed (it has no transform then): both
    were refused with "was moved ... put it back", while a target that had not let corrections go on, clicked blind."""
    from rau.mrml.segments import segment_mask

    scene, _, logic, run, (_, _, target), _ = disk_scene
    if under_transform:
        transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
        transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.eye(4) + np.eye(4, k=3) * 3))
        target.SetAndObserveTransformNodeID(transform.GetID())
    node = run()
    grid = logic.correction(node).result.target
    found = segment_mask(node, "disk", grid)
    logic.correct(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    assert not np.array_equal(segment_mask(node, "disk", grid), found)
    scene.RemoveNode(target)
    with pytest.raises(ValueError, match="^the target 'target' of 'target segmentation' was removed from the scene after Run; corrections "
                                         r"are placed on the target as it was at Run: load it again and press Run \(undo still works\)$"):
        logic.correct(node, "disk", Prompt(points=[(8, 52, 0)], labels=[1]))
    logic.undo(node, "disk")
    assert np.array_equal(segment_mask(node, "disk", grid), found)


def test_a_result_is_not_written_when_its_target_moved_or_went_while_the_engine_ran(disk_scene):
    scene, _, logic, _, (reference, reference_segmentation, target), _ = disk_scene
    request = logic.request(reference, reference_segmentation, target, ["disk"])
    result = logic.runEngine("registration", {"deformable": False}, request)
    closed = []
    result.session.close = lambda: closed.append(True)  # a server's session would stay until it expired
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.array(
        [[1, 0, 0, 10.0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])))
    target.SetAndObserveTransformNodeID(transform.GetID())  # the user moves the target meanwhile
    with pytest.raises(ValueError, match="'target' was moved .* after it was read; press Run again"):
        logic.writeResult(result, target)  # before: written 10 mm off, and its corrections were not refused
    assert closed == [True]
    target.SetAndObserveTransformNodeID(None)
    scene.RemoveNode(target)
    with pytest.raises(ValueError, match="the target 'target' was removed from the scene while RAUSlicer ran"):
        logic.writeResult(result, target)


def test_a_result_is_exported_on_its_own_target_whatever_target_is_selected(disk_scene, tmp_path):
    scene, _, logic, run, _, image = disk_scene
    first = run()
    crop = Image(image.array[:, 8:56, 10:58], (1.0, 1.0, 1.0), (10.0, 8.0, 0.0), ndim=2)  # another grid, same place
    other = add_volume_node(crop, "other", scene)
    run(other)
    nifti, _ = logic.exportLabelMap(first, other, tmp_path / "first.nii.gz")  # the panel passes the selected target
    exported = sitk.ReadImage(str(nifti))
    assert exported.GetSize()[:2] == (64, 64)  # before: on the other target's grid, with no voxels
    found = segmentation_from_node(first, image).masks["disk"]
    assert found.sum() > 400 and np.array_equal(sitk.GetArrayFromImage(exported) == 1, found)
    scene.RemoveNode(first.GetNodeReference(first.GetReferenceImageGeometryReferenceRole()))
    with pytest.raises(ValueError, match="'target segmentation' is no longer linked to the target volume it was made over .*; the selected "
                                         "target 'other' has another grid: select that volume as the target, or export it as a .seg.nrrd"):
        logic.exportLabelMap(first, other, tmp_path / "gone.nii.gz")  # before: written on the other target's grid
    assert not (tmp_path / "gone.nii.gz").exists()
    assert logic.exportSegNrrd(first, tmp_path / "first.seg.nrrd").exists()


def test_a_result_loaded_from_its_seg_nrrd_is_exported_on_its_target(disk_scene, tmp_path):
    """A result saved and loaded again (Add Data) no longer links to its target; before, its label-map export was
    refused with "the target volume ... is no longer in the scene" while that target was loaded and selected."""
    scene, _, logic, run, (_, _, target), image = disk_scene
    node = run()
    saved = logic.exportSegNrrd(node, tmp_path / "result.seg.nrrd")
    loaded = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "loaded")
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(saved))
    loaded.SetAndObserveStorageNodeID(storage.GetID())
    assert storage.ReadData(loaded) and loaded.GetNodeReference(loaded.GetReferenceImageGeometryReferenceRole()) is None
    nifti, _ = logic.exportLabelMap(loaded, target, tmp_path / "loaded.nii.gz")
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(nifti))) == 1, segmentation_from_node(node, image).masks["disk"])
    moved = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    moved.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.eye(4) + np.eye(4, k=3) * 2))
    target.SetAndObserveTransformNodeID(moved.GetID())  # its voxels are no longer where the result's are
    with pytest.raises(ValueError, match="'loaded' is no longer linked .*; the selected target 'target' has another grid"):
        logic.exportLabelMap(loaded, target, tmp_path / "moved.nii.gz")
    assert not (tmp_path / "moved.nii.gz").exists()


def test_prompts_come_from_the_placed_points_and_a_finished_box(disk_scene):
    scene, _, logic, run, _, _ = disk_scene
    node = run()
    inside = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode")
    inside.AddControlPoint(-34.0, -30.0, 0.0)  # RAS of pixel (i, j) = (34, 30)
    box = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode")
    prompt = logic.promptFromMarkups(node, inside, None, box)  # an empty box: no box
    assert prompt.box is None and np.allclose(prompt.points, [(34, 30, 0)]) and list(prompt.labels) == [1]


def test_a_result_that_cannot_be_written_whole_leaves_no_node_and_its_session_is_closed(disk_scene, monkeypatch):
    """Before: a segment that failed to write left the half-written result node in the scene, and the result's
    session (a server's, a model's memory) open with nothing to correct."""
    import rau.mrml.results

    scene, _module, logic, _run, (reference, reference_segmentation, target), _image = disk_scene
    result = logic.runEngine("registration", {"deformable": False}, logic.request(reference, reference_segmentation, target, ["disk"]))
    closed = []
    result.session.close = lambda: closed.append(True)
    nodes = scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode")

    def broken(*_arguments, **_options):
        raise RuntimeError("the disk could not be written")

    monkeypatch.setattr(rau.mrml.results, "write_structure_result", broken)
    with pytest.raises(RuntimeError, match="the disk could not be written"):
        logic.writeResult(result, target)
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == nodes and closed == [True] and logic.corrections == {}


def test_an_undo_after_a_hand_edit_tells_the_session_of_the_edit_first_as_a_correction_does(disk_scene):
    """A correction, then a stroke painted in the Segment Editor, then Undo: the node keeps the stroke
    (:func:`rau.session.undone_voxels`). Before, the engine session was not told of the stroke before its undo, so the
    session's answer, the result and the segment's tag (its box) described the answer from before the correction
    without the stroke, though the node held it."""
    from rau.mrml import read_rau_tag
    from rau.mrml.results import tag_json
    from rau.mrml.segments import segment_mask, write_segment_mask

    _, _, logic, run, _, image = disk_scene
    node = run()
    before = segment_mask(node, "disk", image)
    logic.correct(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
    stroke = np.zeros(image.shape, bool)
    stroke[0, 50:56, 5:11] = True  # painted after the correction, away from the disk
    write_segment_mask(node, "disk", segment_mask(node, "disk", image) | stroke, image)
    logic.undoJob(node, "disk")(None)  # the worker thread's part, as the panel runs it
    logic.applyUndo(node, "disk")
    held = segment_mask(node, "disk", image)
    result = logic.correction(node).result
    assert np.array_equal(held, before | stroke)  # the correction undone, the stroke kept
    assert np.array_equal(result.session.results["disk"].mask, held)  # before: the disk without the stroke
    assert np.array_equal(result.get("disk").mask, held)
    assert read_rau_tag(node, "disk") == json.loads(tag_json(result.session.results["disk"], image))
    box = read_rau_tag(node, "disk")["box"]  # before: the disk's, [22, 18, 0] to [46, 42, 1], which leaves the stroke out
    assert (box["lower_ijk"], box["upper_ijk"]) == ([5, 18, 0], [46, 56, 1])


def test_a_cancel_that_comes_after_the_work_finished_lets_its_answer_be_written_and_says_so(disk_scene, monkeypatch):
    """Cancel pressed once a correction's (then an undo's) work had finished, before the panel wrote it. Before, the
    panel took the correction back out of the engine session on the GUI thread (a server's round trip) and, for the
    undo, closed the session ("press Run again"); now a Cancel that comes too late changes nothing: the answer is
    written as the work gave it, the status says so, and the session stays."""
    from RAUSlicerLib.correction_panel import CorrectionPanel
    from test_module_jobs import Timer
    from test_module_logic import job_panel, panel_dialogs

    from rau.mrml.segments import segment_mask

    _, _, logic, run, _, image = disk_scene
    node = run()
    before = segment_mask(node, "disk", image)
    shown = panel_dialogs(monkeypatch, Timer)
    panel = job_panel(logic, CorrectionPanel)
    panel._parameterNode = types.SimpleNamespace(outputSegmentation=node, overwriteOthers=False, positivePoints=None,
                                                 negativePoints=None, promptBox=None)
    panel.ui.segmentComboBox = types.SimpleNamespace(currentIndex=0, currentText="disk", itemData=lambda _index: "disk")

    def cancel_once_finished(start):
        start()
        panel._job._thread.join(300)  # the work has finished
        panel.onCancel()  # the user's click, before the GUI thread's poll
        panel._job._timer.slot()  # the job's end
        return panel.ui.statusLabel.text

    status = cancel_once_finished(lambda: panel._startCorrection("disk", Prompt(points=[(34, 30, 0)], labels=[0]), "Updating disk"))
    assert status.startswith("disk: confidence") and status.endswith(" (Cancel came after the work had finished: its answer was written)")
    corrected = segment_mask(node, "disk", image)  # before: "Cancelled; nothing was changed.", taken back on the GUI thread
    assert corrected.sum() < before.sum() and logic.correction(node).can_undo("disk")
    status = cancel_once_finished(panel.onUndo)
    assert status == "disk: previous mask restored (Cancel came after the work had finished: its answer was written)"
    assert np.array_equal(segment_mask(node, "disk", image), before) and logic.correction(node) is not None
    assert shown == []



def test_an_undo_or_correction_of_a_result_made_closed_surface_is_refused_before_the_session_changes(mrml_scene):
    """The result's source representation made Closed surface (Segmentations module). Before, the undo ran in the
    engine session and only its write was refused ("not edited as a labelmap"), which closed the session: every undo
    after switching back said "this segmentation has no correction session". Now undo and correction are refused first,
    saying how to fix it, and both work once Binary labelmap is the source again."""
    from rau.mrml.segments import segment_mask
    from rau.session import undone_voxels

    k, j, i = np.mgrid[:12, :32, :32]
    ball = (k - 6) ** 2 + (j - 15) ** 2 + (i - 16) ** 2 < 5**2  # a surface needs a volume, not one slice
    image = Image((100.0 + 80.0 * ball).astype(np.float32), (1.0, 1.0, 1.0))
    segmentation = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1], {1: "ball"}), {"ball": ball})
    reference = add_volume_node(image, "reference", mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference),
                         add_volume_node(image, "target", mrml_scene), ["ball"], "registration", {"deformable": False})
    before = segment_mask(node, "ball", image)
    logic.correct(node, "ball", Prompt(points=[(16, 21, 6)], labels=[1]))
    corrected, session = segment_mask(node, "ball", image), logic.correction(node).result.session
    assert corrected.sum() > before.sum()
    node.CreateClosedSurfaceRepresentation()
    node.GetSegmentation().SetSourceRepresentationName("Closed surface")
    fix = r"make 'Binary labelmap' its source representation \(Segmentations module, Representations, Make source\)"
    grow = Prompt(points=[(16, 9, 6)], labels=[1])
    for job in (lambda: logic.undoJob(node, "ball"), lambda: logic.correctionJob(node, "ball", grow)):
        with pytest.raises(ValueError, match=r"'target segmentation' is edited as 'Closed surface', not as a labelmap(.|\n)*" + fix):
            job()
    assert logic.correction(node).result.session is session and session.can_undo("ball")
    assert np.array_equal(session.results["ball"].mask, corrected)
    node.GetSegmentation().CreateRepresentation("Binary labelmap", True)  # the Segmentations module's Make source
    node.GetSegmentation().SetSourceRepresentationName("Binary labelmap")
    surfaced = segment_mask(node, "ball", image)  # made from the surface: a few voxels differ, kept as a hand edit
    logic.undo(node, "ball")
    undone = segment_mask(node, "ball", image)
    assert np.array_equal(undone, undone_voxels(surfaced, corrected & ~before, before & ~corrected)) and not session.can_undo("ball")
    assert np.array_equal(undone, session.results["ball"].mask)


def test_a_target_whose_spacing_changed_after_run_is_refused_without_claiming_a_transform(disk_scene):
    """The target's spacing changed as Volumes > Volume Information changes it. The refusals were right but said
    "was moved (a transform changed or was hardened)", though no transform had changed."""
    _, _, logic, run, (reference, reference_segmentation, target), _ = disk_scene
    node = run()
    result = logic.runEngine("registration", {"deformable": False}, logic.request(reference, reference_segmentation, target, ["disk"]))
    target.SetSpacing(2.0, 2.0, 2.0)
    said = r"was moved or its geometry changed \(a transform, or its origin, spacing or directions\) after"
    with pytest.raises(ValueError, match=f"^'target' {said} it was read; press Run again$"):
        logic.writeResult(result, target)
    with pytest.raises(ValueError, match=f"^'target segmentation' or its target {said} Run; "):
        logic.correctionJob(node, "disk", Prompt(points=[(34, 30, 0)], labels=[0]))
