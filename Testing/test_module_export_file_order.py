"""The module's label-map export of a target loaded from a left-handed NIfTI (LAS, the layout FSL writes) on real
slicer-core MRML: Slicer holds such a volume with its slices reversed, and the export must still pair with the target
file array for array, as ``rau segment``'s does (before, its slices ran the other way: a 3 mm slice axis of -3)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
nibabel = pytest.importorskip("nibabel")

from rau.image import RAS_FROM_LPS  # noqa: E402
from rau.engines.base import Prompt  # noqa: E402
from rau.io import read_image, read_segmentation  # noqa: E402
from rau.mrml import add_segmentation_node, image_from_volume_node  # noqa: E402
from slicer.util import vtkMatrixFromArray  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

SLICES = slice(12, 18)
"""The few slices of the TotalSegmentator fixture CT the tests keep (liver and spleen in each)."""
LIVER_AND_SPLEEN = (5, 1)


def nifti_copy(source, path, slices=SLICES, keep=None, left_handed=True):
    """``source`` (an RAS NIfTI) cropped to ``slices`` and, ``left_handed``, written as FSL writes it: its i axis
    reversed and the affine's x column negated (LAS), the same anatomy in the same place; ``keep``: the label values left."""
    stored = nibabel.load(source)
    array = np.asanyarray(stored.dataobj)[:, :, slices]
    if keep is not None:
        array = np.where(np.isin(array, keep), array, 0).astype(np.uint8)
    affine = stored.affine.copy()
    affine[:3, 3] += affine[:3, 2] * slices.start
    if left_handed:
        affine[:3, 3] += affine[:3, 0] * (array.shape[0] - 1)
        affine[:3, 0] *= -1
        array = array[::-1]
    return save_nifti(array, affine, path)


def save_nifti(array, affine, path):
    image = nibabel.Nifti1Image(np.ascontiguousarray(array), affine)
    image.set_sform(affine, 1)
    image.set_qform(affine, 1)
    nibabel.save(image, path)
    return path


@pytest.fixture
def las_target(shared_data, tmp_path):
    """A few slices of the fixture CT and its liver and spleen labels, both as LAS NIfTI files."""
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    return (nifti_copy(folder / "image.nii.gz", tmp_path / "target_LAS.nii.gz"),
            nifti_copy(folder / "labels_totalseg.nii.gz", tmp_path / "labels_LAS.nii.gz", keep=LIVER_AND_SPLEEN))


def export_of_file_labels(scene, target_path, labels_path, out):
    """The module's export of the labels file's segments, shown on the target volume loaded as Slicer loads it."""
    target = slicer.modules.volumes.logic().AddArchetypeVolume(str(target_path), "target")
    labels = read_segmentation(labels_path, geometry=read_image(target_path))
    node = add_segmentation_node(labels, "labels", scene, reference_volume_node=target)
    nifti, _ = load_rauslicer().RAUSlicerLogic().exportLabelMap(node, target, out)
    return nibabel.load(nifti)


def test_export_of_a_left_handed_nifti_target_keeps_the_file_voxel_order(mrml_scene, las_target, tmp_path):
    target_path, labels_path = las_target
    exported = export_of_file_labels(mrml_scene, target_path, labels_path, tmp_path / "export.nii.gz")
    target, labels = nibabel.load(target_path), nibabel.load(labels_path)
    assert np.allclose(exported.affine, target.affine, atol=1e-4), exported.affine  # before: (0, 0, -3, 145.3) as its third row
    assert exported.shape == target.shape
    assert np.array_equal(np.asanyarray(exported.dataobj), np.asanyarray(labels.dataobj))  # slice for slice


def test_export_of_a_left_handed_1_slice_nifti_target_keeps_its_slice_axis(mrml_scene, shared_data, tmp_path):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    one = slice(15, 16)
    target_path = nifti_copy(folder / "image.nii.gz", tmp_path / "slice_LAS.nii.gz", one)
    labels_path = nifti_copy(folder / "labels_totalseg.nii.gz", tmp_path / "slice_labels_LAS.nii.gz", one, keep=LIVER_AND_SPLEEN)
    exported = export_of_file_labels(mrml_scene, target_path, labels_path, tmp_path / "export.nii.gz")
    target = nibabel.load(target_path)
    assert np.allclose(exported.affine, target.affine, atol=1e-4), exported.affine  # before: a slice axis of -3
    assert np.array_equal(np.asanyarray(exported.dataobj), np.asanyarray(nibabel.load(labels_path).dataobj))


def test_module_export_equals_the_command_line_export_for_a_left_handed_target(mrml_scene, shared_data, las_target, tmp_path):
    folder = shared_data / "totalseg_test_fixtures/subjA_ct"
    reference_path = nifti_copy(folder / "image.nii.gz", tmp_path / "reference.nii.gz", left_handed=False)
    reference_labels = nifti_copy(folder / "labels_totalseg.nii.gz", tmp_path / "reference_labels.nii.gz", keep=LIVER_AND_SPLEEN,
                                  left_handed=False)
    target_path, _ = las_target
    structures = [f"label_{value}" for value in LIVER_AND_SPLEEN]

    module, cli, _, _ = module_and_cli_results(mrml_scene, reference_path, reference_labels, target_path, structures, tmp_path,
                                               {"deformable": False}, ["--no-deformable"])
    module, cli = nibabel.load(module), nibabel.load(cli)
    assert np.allclose(module.affine, cli.affine, atol=1e-4), module.affine
    assert np.asanyarray(cli.dataobj).any()
    assert np.array_equal(np.asanyarray(module.dataobj), np.asanyarray(cli.dataobj))


def module_and_cli_results(scene, reference_path, reference_labels, target_path, structures, folder, options, cli_options):
    """The module's segmentation of the target file (exported to ``module.nii.gz``) and ``rau segment``'s
    (``cli.nii.gz``), and the module's logic and result node for corrections."""
    volumes = slicer.modules.volumes.logic()
    reference_volume = volumes.AddArchetypeVolume(str(reference_path), "reference")
    target = volumes.AddArchetypeVolume(str(target_path), "target")
    reference_node = add_segmentation_node(read_segmentation(reference_labels, geometry=read_image(reference_path)), "reference labels",
                                           scene, reference_volume_node=reference_volume)
    logic = load_rauslicer().RAUSlicerLogic()
    result = logic.process(reference_volume, reference_node, target, structures, "registration", options)
    module, _ = logic.exportLabelMap(result, target, folder / "module.nii.gz")
    subprocess.run([sys.executable, "-m", "rau.cli", "segment", "--reference", str(reference_path), "--reference-labels", str(reference_labels),
                    "--target", str(target_path), "--structures", *structures, *cli_options, "--out", str(folder / "cli.nii.gz")],
                   check=True, capture_output=True)
    return module, folder / "cli.nii.gz", logic, result


def test_a_target_moved_in_slicer_is_exported_on_the_grid_slicer_holds(mrml_scene, las_target, tmp_path):
    """Its file no longer holds its voxels where they are: the export keeps Slicer's grid, in the world."""
    target_path, labels_path = las_target
    target = slicer.modules.volumes.logic().AddArchetypeVolume(str(target_path), "target")
    node = add_segmentation_node(read_segmentation(labels_path, geometry=read_image(target_path)), "labels", mrml_scene,
                                 reference_volume_node=target)
    moved = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "moved")
    moved.SetMatrixTransformToParent(vtkMatrixFromArray(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 9.0], [0, 0, 0, 1]])))
    for moving in (target, node):
        moving.SetAndObserveTransformNodeID(moved.GetID())
    nifti, _ = load_rauslicer().RAUSlicerLogic().exportLabelMap(node, target, tmp_path / "export.nii.gz")
    held = RAS_FROM_LPS @ image_from_volume_node(target).index_to_world  # Slicer's grid, slices reversed, 9 mm up
    assert np.allclose(nibabel.load(nifti).affine, held, atol=1e-4)
    assert np.array_equal(np.asanyarray(nibabel.load(nifti).dataobj), np.asanyarray(nibabel.load(labels_path).dataobj)[:, :, ::-1])


def test_the_module_segments_and_corrects_a_left_handed_j_stored_slice_as_the_command_line_does(mrml_scene, shared_data, tmp_path):
    """A 2D target as a left-handed 1-slice NIfTI with its slice along j: Slicer holds its k axis reversed, and k is one
    of the picture's axes (before, the module segmented the picture with its rows flipped: another answer)."""
    ct = shared_data / "totalseg_test_fixtures/subjA_ct"
    picture = {name: np.asanyarray(nibabel.load(ct / f"{name}.nii.gz").dataobj)[:, :, 15:17] for name in ("image", "labels_totalseg")}
    right = np.diag([3.0, 3.0, 3.0, 1.0])
    left = np.array([[3.0, 0, 0, 0], [0, 0, 3.0, 0], [0, 3.0, 0, 0], [0, 0, 0, 1]])  # i: x, j: the slice normal, k: y
    reference_path = save_nifti(picture["image"][:, :, :1], right, tmp_path / "reference.nii.gz")
    liver = np.where(picture["labels_totalseg"][:, :, :1] == LIVER_AND_SPLEEN[0], LIVER_AND_SPLEEN[0], 0).astype(np.uint8)
    labels_path = save_nifti(liver, right, tmp_path / "reference_labels.nii.gz")
    target_path = save_nifti(picture["image"][:, None, :, 1], left, tmp_path / "target_j_left.nii.gz")
    structures = [f"label_{LIVER_AND_SPLEEN[0]}"]

    module, cli, logic, result = module_and_cli_results(mrml_scene, reference_path, labels_path, target_path, structures, tmp_path, {}, [])
    file_array = lambda path: np.asanyarray(nibabel.load(path).dataobj)  # noqa: E731
    assert np.allclose(nibabel.load(module).affine, nibabel.load(cli).affine, atol=1e-4)
    assert file_array(cli).any()
    assert np.array_equal(file_array(module), file_array(cli))  # before: the answer for the picture with its rows flipped

    inside = np.argwhere(file_array(cli)[:, 0, :])  # (i, k): the picture's (x, y)
    x, y = (int(v) for v in inside[len(inside) // 2])
    logic.correct(result, structures[0], Prompt(points=[(float(x), float(y), 0.0)], labels=[0]))
    corrected, _ = logic.exportLabelMap(result, slicer.util.getNode("target"), tmp_path / "module_corrected.nii.gz")
    subprocess.run([sys.executable, "-m", "rau.cli", "correct", str(tmp_path / "cli.result.json"), "--structure", structures[0],
                    "--outside", f"{x},{y}", "--out", str(tmp_path / "cli_corrected.nii.gz")], check=True, capture_output=True)
    assert not np.array_equal(file_array(corrected), file_array(cli))  # the click changed something
    assert np.array_equal(file_array(corrected), file_array(tmp_path / "cli_corrected.nii.gz"))
