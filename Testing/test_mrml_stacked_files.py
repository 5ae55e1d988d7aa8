"""Pictures stacked into one volume by Slicer's reader, on real slicer-core MRML.

With "Single File" unticked (Add Data's default), Slicer's volume reader loads a numbered series of files as one
volume: picking HC18's ``001_HC.png`` beside ``000_HC.png`` and ``002_HC.png`` gives 3 slices of 3 patients. Reading
such a node as a reference or target warns, naming the node; one file, or a DICOM series, does not.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_files import write_series
from PIL import Image as Picture
from single_slice import hc18_picture, hc18_spacing, one_slice_volume
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node, image_from_volume_node  # noqa: E402
from rau.user_warnings import collected_warnings  # noqa: E402
from slicer.util import updateVolumeFromArray  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

HC18_NAMES = ("000", "001", "002")


@pytest.fixture
def reference(mrml_scene, shared_data):
    """A 2D reference (HC18 examination 001, half resolution) and its segmentation node."""
    picture = one_slice_volume(hc18_picture(shared_data, "001"), hc18_spacing("001"))
    volume = add_volume_node(Image.from_sitk(picture), "reference frame", mrml_scene)
    geometry = image_from_volume_node(volume)
    mask = hc18_picture(shared_data, "001", mask=True)[np.newaxis] > 0
    segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), LabelSet((Structure("fetal head", 1),)),
                                {"fetal head": mask})
    return volume, add_segmentation_node(segmentation, "reference head", mrml_scene, volume)


@pytest.fixture
def pictures(shared_data, tmp_path):
    """HC18 pictures ``000_HC.png`` ... ``002_HC.png`` copied into one folder, as they lie in the data set."""
    for name in HC18_NAMES:
        shutil.copy(shared_data / "hc18_fetal_head_us" / "images" / f"{name}_HC.png", tmp_path)
    return [tmp_path / f"{name}_HC.png" for name in HC18_NAMES]


def read_warnings(reference, target) -> list[str]:
    """What the module's logic says while reading the nodes into a request (as Run does before the engine runs)."""
    with collected_warnings() as said:
        load_rauslicer().RAUSlicerLogic().request(*reference, target, ["fetal head"])
    return said


def picked_picture(scene, paths, single_file: bool):
    """The volume node Slicer's reader makes of ``paths[1]`` with "Single File" ticked or not: the pictures' pixels
    as slices (one slice when ticked) and an archetype storage node listing the files it read (none when it read
    one). slicer-core's ITK has no PNG reader, so the voxels are put in as the reader would put them."""
    read = paths[1:2] if single_file else paths
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", paths[1].name.removesuffix(".png"))
    updateVolumeFromArray(node, np.stack([np.asarray(Picture.open(path).convert("L")) for path in read]))
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(paths[1]))
    storage.SetSingleFile(int(single_file))
    for path in read if len(read) > 1 else ():
        storage.AddFileName(str(path))
    node.SetAndObserveStorageNodeID(storage.GetID())
    return node


def test_a_target_of_pictures_stacked_by_the_reader_is_warned_naming_the_node_and_the_remedy(mrml_scene, reference, pictures):
    """Before, the 3 patients were run as one 3D target without a word."""
    target = picked_picture(mrml_scene, pictures, single_file=False)
    assert target.GetImageData().GetDimensions()[2] == 3

    said = read_warnings(reference, target)

    assert len(said) == 1
    assert said[0].startswith("volume '001_HC' is 3 files stacked as its slices (000_HC.png, 001_HC.png, ...)")
    assert "load 001_HC.png again with \"Single File\" ticked in Add Data's options (Show Options)" in said[0]


def test_a_reference_of_pictures_stacked_by_the_reader_is_warned(mrml_scene, reference, pictures):
    stacked = picked_picture(mrml_scene, pictures, single_file=False)
    segmentation = Segmentation(image_from_volume_node(stacked).with_array(np.zeros((3, 540, 800), np.uint8)),
                                LabelSet((Structure("fetal head", 1),)), {"fetal head": np.ones((3, 540, 800), bool)})
    stacked_reference = (stacked, add_segmentation_node(segmentation, "stacked head", mrml_scene, stacked))
    target = picked_picture(mrml_scene, pictures, single_file=True)

    assert [message.split(" is ")[0] for message in read_warnings(stacked_reference, target)] == ["volume '001_HC'"]


def test_one_picture_loaded_as_a_single_file_is_not_warned(mrml_scene, reference, pictures):
    assert read_warnings(reference, picked_picture(mrml_scene, pictures, single_file=True)) == []


@pytest.mark.parametrize("single_file", [False, True])
def test_one_slice_nifti_files_stacked_by_slicers_reader_are_warned_unless_single_file(mrml_scene, reference, shared_data, tmp_path, single_file):
    """Slicer's own reader (slicer-core's) on ``hc001.nii.gz`` beside ``hc002.nii.gz``, each one HC18 picture."""
    for name in ("001", "002"):
        sitk.WriteImage(one_slice_volume(hc18_picture(shared_data, name), hc18_spacing("001")), str(tmp_path / f"hc{name}.nii.gz"))
    target = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "hc001")
    storage = mrml_scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(tmp_path / "hc001.nii.gz"))
    storage.SetSingleFile(int(single_file))
    assert storage.ReadData(target)
    target.SetAndObserveStorageNodeID(storage.GetID())
    assert target.GetImageData().GetDimensions()[2] == (1 if single_file else 2)

    said = read_warnings(reference, target)

    assert said == ([] if single_file else [said[0]])
    assert single_file or said[0].startswith("volume 'hc001' is 2 files stacked as its slices (hc001.nii.gz, hc002.nii.gz): ")


def test_a_dicom_series_is_not_warned(mrml_scene, reference, tmp_path):
    """A DICOM series is one scan's slices: Slicer's DICOM plugin loads it with an archetype storage node listing
    every file too (``AddArchetypeScalarVolume`` with the series' files)."""
    folder = write_series(tmp_path / "series", [(0.0, 0.0, float(z)) for z in range(4)])
    files = vtk_string_array(sorted(str(path) for path in folder.iterdir()))
    target = slicer.modules.volumes.logic().AddArchetypeScalarVolume(files.GetValue(0), "CT series", 0, files)
    assert target.GetImageData().GetDimensions()[2] == 4
    assert target.GetStorageNode().GetNumberOfFileNames() == 4

    assert read_warnings(reference, target) == []


def vtk_string_array(values):
    """A ``vtkStringArray`` of ``values`` (the file list Slicer's loaders take)."""
    array = vtk.vtkStringArray()
    for value in values:
        array.InsertNextValue(value)
    return array


def test_the_panel_shows_the_warning_read_from_the_inputs_with_the_runs(mrml_scene, reference, pictures, monkeypatch):
    """Run reads the nodes on the GUI thread, before the job whose warnings the panel shows: before, what reading them
    said went to the Python console only."""
    from test_module_jobs import Timer
    from test_module_logic import job_panel, panel_dialogs

    read = read_warnings(reference, picked_picture(mrml_scene, pictures, single_file=False))
    shown = panel_dialogs(monkeypatch, Timer)
    panel = job_panel(load_rauslicer().RAUSlicerLogic())
    panel._startJob(lambda progress: None, lambda _value: "written", "Running", inputWarnings=read)
    panel._job._thread.join(60)
    panel._job._timer.slot()  # the GUI thread's poll: the job's end

    assert panel.ui.statusLabel.text == "written"
    assert shown == [("warning", read[0])] and read[0].startswith("volume '001_HC' is 3 files stacked")


@pytest.mark.parametrize("header, data", [("CT.nhdr", "CT.raw.gz"), ("CT.mhd", "CT.zraw")])
def test_a_volume_saved_as_a_header_with_its_data_file_is_not_warned(mrml_scene, reference, tmp_path, header, data):
    """Before, a volume Slicer saved as .nhdr (or .mhd) was said to be "2 files stacked as its slices": its storage node
    lists the header and the data file."""
    target = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CT")
    updateVolumeFromArray(target, np.random.default_rng(0).integers(0, 100, (4, 60, 50)).astype(np.int16))
    storage = mrml_scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(tmp_path / header))
    target.SetAndObserveStorageNodeID(storage.GetID())
    assert storage.WriteData(target)
    assert sorted(storage.GetNthFileName(i).split("/")[-1] for i in range(storage.GetNumberOfFileNames())) == sorted([header, data])
    assert not [w for w in read_warnings(reference, target) if "stacked" in w]
