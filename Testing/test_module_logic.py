"""The module's GUI-free logic on real slicer-core MRML: run the registration engine, write, export.

The widget needs Qt and the Slicer application; it is covered by the self-test in
RAUSlicer.py (see the README) and by the static checks. Its job running (``JobPanel``) is
driven here over stand-ins of Qt's timer and the application's dialogs.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from slicer_scene import mrml_scene, store_from, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.image import Image  # noqa: E402
from rau.io import read_image, read_segmentation  # noqa: E402
from rau.labels import Segmentation  # noqa: E402
from rau.mrml import (  # noqa: E402
    add_segmentation_node,
    add_volume_node,
    image_from_volume_node,
    read_rau_tag,
    segmentation_from_node,
)
from rau.mrml.geometry import image_ijk_to_ras  # noqa: E402
from light_registration import make_registration_light  # noqa: E402
from slicer_module import MODULE_FILE, load_rauslicer  # noqa: E402

STRUCTURES = ["right lung", "left lung", "tissue"]


@pytest.fixture(autouse=True)
def registration_on_light_settings(monkeypatch):
    """The logic's registration runs on the light settings (:func:`light_registration.make_registration_light`): these
    tests check what the logic does with a run; where they check its answer, the target is the reference's own voxels
    (moved, or stored from another index) and both the default and the light settings find them with Dice 1.0."""
    make_registration_light(monkeypatch)


def test_importing_the_module_pulls_in_nothing_heavy():
    imported = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("slicer_module.py"))], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = {"torch", "transformers", "SimpleITK", "rau", "slicerio", "scipy", "PIL"} & set(imported)
    assert not heavy, f"importing {MODULE_FILE.name} imported {sorted(heavy)}"


@pytest.fixture
def small_chest(slicerio_data):
    """slicerio's chest CT and segmentation at half resolution in-plane (keeps the run short on CPU)."""
    ct = read_image(slicerio_data / "CTChest4.nrrd")
    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd", geometry=ct)
    image = Image(ct.array[:, ::2, ::2], (ct.spacing[0] * 2, ct.spacing[1] * 2, ct.spacing[2]), ct.origin, ct.direction)
    masks = {name: mask[:, ::2, ::2] for name, mask in segmentation.masks.items()}
    return image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), segmentation.labels, masks)


def test_engine_options_from_the_panel():
    from rau.options import DEFAULTS, EngineOptions

    logic_class = load_rauslicer().RAUSlicerLogic
    panel = types.SimpleNamespace(device="", sam2Model=" tiny ", vlmModel="/models/qwen", vlmServer="", vlmAdapter="", engineServer="")
    options = logic_class.engineOptions(panel)
    assert isinstance(options, EngineOptions)
    assert options == DEFAULTS.replace(sam2_model="tiny", vlm_model="/models/qwen")  # empty fields: the CLI's defaults
    panel.device, panel.vlmServer, panel.vlmAdapter = "cuda", "http://gpu-box:8000/v1", " /adapters/ct "
    options = logic_class.engineOptions(panel)
    assert (options.device, options.vlm_server, options.vlm_adapter) == ("cuda", "http://gpu-box:8000/v1", "/adapters/ct")


def test_process_finds_structures_in_a_moved_target_and_exports(mrml_scene, small_chest, tmp_path):
    image, segmentation = small_chest
    reference = add_volume_node(image, "reference CT", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    target = add_volume_node(image, "patient CT", mrml_scene)
    moved = vtk_transform(translate=(8.0, -6.0, 4.0), rotate_z=5.0)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "patient position")
    transform.SetMatrixTransformToParent(moved)
    target.SetAndObserveTransformNodeID(transform.GetID())  # not hardened: the bridge applies it

    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, STRUCTURES, "registration", {"deformable": False})

    assert node.GetName() == "patient CT segmentation"
    assert node.GetTransformNodeID() == transform.GetID()
    target_image = image_from_volume_node(target)
    found = segmentation_from_node(node, target_image)
    assert found.labels.names == STRUCTURES
    for name in STRUCTURES:  # the target's voxels are the reference's, so its masks are the truth
        truth, mask = segmentation.masks[name], found.masks[name]
        dice = 2 * (truth & mask).sum() / (truth.sum() + mask.sum())
        assert dice > 0.95, (name, dice)
        assert read_rau_tag(node, name)["engine"] == "registration"
    check_corrections(logic, node, target_image)

    untouched = segmentation_from_node(reference_segmentation, image)
    for name in segmentation.labels.names:
        assert np.array_equal(untouched.masks[name], segmentation.masks[name]), name

    nifti, table = logic.exportLabelMap(node, target, tmp_path / "patient.nii.gz")
    exported = sitk.ReadImage(str(nifti))
    assert np.allclose(exported.GetOrigin(), target_image.origin, atol=1e-3)
    assert np.allclose(np.reshape(exported.GetDirection(), (3, 3)), target_image.direction, atol=1e-5)
    assert np.array_equal(sitk.GetArrayFromImage(exported) == 5, found.masks["right lung"])  # its reference value, as rau segment writes it
    assert "left lung" in table.read_text()


def test_ticking_only_a_segment_with_no_voxels_reports_it_not_found_like_the_command_line(mrml_scene, small_chest):
    """``rau segment --structures gallbladder`` on a reference whose gallbladder has no voxels runs and reports it
    not found; before, the module refused the run: "reference 'reference CT' has no labelled voxels"."""
    image, segmentation = small_chest
    reference = add_volume_node(image, "reference CT", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    reference_segmentation.GetSegmentation().AddEmptySegment("", "gallbladder", [0.2, 0.8, 0.2])  # added, not painted yet
    target = add_volume_node(image, "patient CT", mrml_scene)
    node = load_rauslicer().RAUSlicerLogic().process(reference, reference_segmentation, target, ["gallbladder"],
                                                     "registration", {"deformable": False})
    tag = read_rau_tag(node, "gallbladder")
    assert not tag["found"] and tag["message"] == "has no voxels in the reference"


def test_volumes_whose_voxels_are_stored_from_a_non_zero_index_are_read_where_slicer_shows_them(mrml_scene, small_chest, tmp_path):
    """A volume's voxels may be stored from an index other than 0 (a crop by vtkExtractVOI left in place); before, they
    were read as if stored from index 0, so a result, a click and an export landed that many voxels off the anatomy."""
    from rau.mrml import prompt_from_markups

    image, segmentation = small_chest
    reference = add_volume_node(image, "reference CT", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    store_from(reference, (-3, 5, 2))
    target = add_volume_node(image, "patient CT", mrml_scene)
    store_from(target, (6, 4, 1))  # the same voxels in the same place: the reference's labels are the truth
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(reference, reference_segmentation, target, STRUCTURES, "registration", {"deformable": False})
    found = segmentation_from_node(node, image)
    for name in STRUCTURES:
        truth, mask = segmentation.masks[name], found.masks[name]
        assert 2 * (truth & mask).sum() / (truth.sum() + mask.sum()) > 0.95, name

    k, j, i = (int(v) for v in np.argwhere(found.masks["right lung"])[0])
    click = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "inside points")
    click.AddControlPointWorld((image_ijk_to_ras(image)[:3] @ [i, j, k, 1.0]).tolist())
    assert prompt_from_markups(image_from_volume_node(target), click).points == [(i, j, k)]

    nifti, _table = logic.exportLabelMap(node, target, tmp_path / "patient.nii.gz")
    exported = read_image(nifti)
    assert exported.same_grid(image, tolerance=1e-4)
    assert np.array_equal(exported.array == 5, found.masks["right lung"])


def check_corrections(logic, node, target_image):
    """Through the logic: a cancelled correction leaves the scene as it was; one that finishes changes
    only its segment, and undo restores it."""
    from rau.engines.base import Cancelled, Progress, Prompt

    before = segmentation_from_node(node, target_image)
    lung = before.masks["right lung"]
    k, j, i = (int(v) for v in np.argwhere(lung)[0])  # an outside click on the lung's first voxel
    prompt = Prompt([(i, j, k)], [0])
    steps = []
    cancel_at_the_end = Progress(lambda step, fraction: steps.append(fraction), lambda: len(steps) >= 1)
    with pytest.raises(Cancelled):
        logic.correct(node, "right lung", prompt, cancel_at_the_end)
    unchanged = segmentation_from_node(node, target_image)
    for name in STRUCTURES:
        assert np.array_equal(unchanged.masks[name], before.masks[name]), name
    assert not logic.correction(node).can_undo("right lung")
    assert not logic.correction(node).result.session.can_undo("right lung")

    logic.correct(node, "right lung", prompt, Progress(lambda step, fraction: steps.append(fraction)))
    after = segmentation_from_node(node, target_image)
    assert steps[-2:] == [0.0, 1.0]
    assert not after.masks["right lung"][k, j, i] and after.masks["right lung"].sum() < lung.sum()
    for name in ("left lung", "tissue"):
        assert np.array_equal(after.masks[name], before.masks[name]), name
    logic.correction(node).undo("right lung")
    assert np.array_equal(segmentation_from_node(node, target_image).masks["right lung"], lung)


def vtk_transform(translate, rotate_z):
    import vtk

    transform = vtk.vtkTransform()
    transform.Translate(*translate)
    transform.RotateZ(rotate_z)
    return transform.GetMatrix()


def test_the_reference_keeps_all_its_anatomy_whichever_segments_are_ticked(mrml_scene, small_chest, monkeypatch):
    """The engines align on all of a reference's labelled anatomy, as the command line reads a reference file, so one
    ticked structure gets the answer it gets with all ticked (before: only the ticked segments were read; on
    TotalSegmentator's CTs A -> B, the liver alone differed from the command line's by 30 000 voxels). Every segment
    comes, as a file gives them (the vessels engine traces them all); a reference too large for all its masks gives
    the ticked ones and the union of all."""
    from rau.mrml import inputs, request_from_nodes

    image, segmentation = small_chest
    reference = add_volume_node(image, "reference CT", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    target = add_volume_node(image, "patient CT", mrml_scene)
    request = request_from_nodes(reference, reference_segmentation, target, ["right lung"])
    assert request.labels().names == ["right lung"]
    reference_read = request.references[0]
    assert reference_read.segmentation.labels.names == segmentation.labels.names  # in the node's order, as a file lists them
    assert all(np.array_equal(reference_read.segmentation.masks[name], mask) for name, mask in segmentation.masks.items())
    everything = np.zeros(image.shape, bool)
    for mask in segmentation.masks.values():
        everything |= mask
    assert np.array_equal(reference_read.labelled_anatomy(), everything)
    monkeypatch.setattr(inputs, "EVERY_SEGMENT_VOXELS", image.array.size)  # room for one segment's mask
    reference_read = request_from_nodes(reference, reference_segmentation, target, ["right lung"]).references[0]
    assert list(reference_read.segmentation.masks) == ["right lung"]  # the ticked segments' masks only: a reference may have 100+
    assert np.array_equal(reference_read.labelled_anatomy(), everything)
    with pytest.raises(ValueError, match="has no segment 'heart'; it has: "):
        request_from_nodes(reference, reference_segmentation, target, ["heart"])
    with pytest.raises(ValueError, match="the target volume 'reference CT' is the reference volume itself"):
        request_from_nodes(reference, reference_segmentation, reference, ["right lung"])  # before: its own labels as the answer


def test_what_a_run_said_reaches_the_user_with_the_error_when_its_result_cannot_be_written(mrml_scene, small_chest, monkeypatch):
    """Before, the panel showed the error of a result it could not write (here: the target removed from the scene while
    the engine ran) and dropped what the run had said (warnings the worker collected), so the user never saw them."""
    from rau.user_warnings import warn
    from test_module_jobs import Timer

    image, segmentation = small_chest
    reference = add_volume_node(image, "reference CT", mrml_scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    target = add_volume_node(image, "patient CT", mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()  # puts RAUSlicerLib on the path, as Slicer does
    request = logic.request(reference, reference_segmentation, target, ["right lung"])
    mrml_scene.RemoveNode(target)
    said = "the adapter /adapters/ct was trained on another model"

    def work(progress):
        warn(said)  # as an engine says it, on the worker thread
        return logic.runEngine("registration", {"deformable": False}, request, progress)

    shown = panel_dialogs(monkeypatch, Timer)
    panel = job_panel(logic)
    panel._startJob(work, lambda result: logic.writeResult(result, target) and "written", "Running", dropped=logic.dropResult)
    panel._job._thread.join(300)
    panel._job._timer.slot()  # the GUI thread's poll: the job's end
    assert panel.ui.statusLabel.text == "Failed."
    assert [kind for kind, _text in shown] == ["error", "warning"]
    assert "the target 'patient CT' was removed from the scene while RAUSlicer ran" in shown[0][1]
    assert shown[1][1] == said

    def failing(progress):  # the work itself fails: what it said before is shown with its error too
        warn(said)
        raise ValueError("the engine stopped")

    shown.clear()
    panel._startJob(failing, lambda result: "written", "Running")
    panel._job._thread.join(300)
    panel._job._timer.slot()
    assert shown == [("error", "Running failed: the engine stopped"), ("warning", said)]


def job_panel(logic, *panels):
    """The module widget's job running (``RAUSlicerLib.job_panel.JobPanel``), with the other ``panels`` mixed in as the
    widget mixes them, and the parts of the widget they use (the prompt place widgets too), no Qt."""
    from RAUSlicerLib.job_panel import JobPanel

    panel = type("Panel", (*panels, JobPanel), {"_updateButtons": lambda self: None})()
    widget, shows = types.SimpleNamespace, {"setCurrentNode": lambda _node: None}
    panel.ui = widget(progressBar=widget(show=lambda: None, hide=lambda: None), cancelButton=widget(show=lambda: None, hide=lambda: None),
                      statusLabel=widget(text=""), **{f"{kind}PlaceWidget": widget(**shows) for kind in ("positive", "negative", "box")})
    panel.logic, panel._job, panel._releaseWhenStopped = logic, None, False
    return panel


def panel_dialogs(monkeypatch, timer):
    """Stand-ins for Qt's timer and the application's cursor and dialogs; returns the dialogs shown, (kind, text)."""
    import qt

    shown = []
    monkeypatch.setattr(qt, "QTimer", timer, raising=False)
    monkeypatch.setattr(qt, "Qt", types.SimpleNamespace(WaitCursor=0), raising=False)
    cursor = types.SimpleNamespace(setOverrideCursor=lambda _cursor: None, restoreOverrideCursor=lambda: None)
    monkeypatch.setattr(qt, "QApplication", cursor, raising=False)
    monkeypatch.setattr(slicer, "app", types.SimpleNamespace(**vars(cursor), processEvents=lambda: None, testingEnabled=lambda: False), raising=False)
    monkeypatch.setattr(slicer.util, "errorDisplay", lambda text, **_: shown.append(("error", text)))
    monkeypatch.setattr(slicer.util, "warningDisplay", lambda text, **_: shown.append(("warning", text)))
    return shown


@pytest.mark.parametrize("device", ["", "auto", "cpu", "cuda", "mps", "cuda:1", "cuda:12"])
def test_the_device_combo_can_show_every_device_a_parameter_node_holds(device):
    """Before, the combo listed auto, cpu, cuda and mps only: a parameter node's cuda:1 (a valid device) had no item, so
    the panel kept showing its previous device while Run used cuda:1. Each of its items is a device rau takes."""
    from rau.validation.options import device_name

    choices = load_rauslicer().deviceChoices(device)
    assert choices[:4] == ["auto", "cpu", "cuda", "mps"]
    assert (device or "auto") in choices
    assert len(choices) == (4 if device in ("", "auto", "cpu", "cuda", "mps") else 5)
    assert [device_name(choice) for choice in choices] == choices
