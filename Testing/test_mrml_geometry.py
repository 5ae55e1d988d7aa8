"""Volume nodes <-> rau images on the real slicer-core MRML: oblique, anisotropic, transformed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from slicer_scene import mrml_scene, store_from, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.image import GeometryError, Image  # noqa: E402
from rau.io import read_image  # noqa: E402
from rau.mrml import add_volume_node, check_volume_in_place, image_from_volume_node  # noqa: E402
from slicer.util import arrayFromVTKMatrix, vtkMatrixFromArray  # noqa: E402


def rotation(axis, degrees):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


@pytest.fixture
def oblique():
    """An oblique, anisotropic int16 image with distinct voxel values."""
    array = np.arange(7 * 9 * 11, dtype=np.int16).reshape(7, 9, 11)
    return Image(array, spacing=(0.7, 1.3, 2.9), origin=(10.0, -20.0, 35.0), direction=rotation((1, 2, 3), 27))


def test_round_trip_keeps_voxels_and_geometry(mrml_scene, oblique):
    node = add_volume_node(oblique, "oblique", mrml_scene)
    back = image_from_volume_node(node)
    assert np.array_equal(back.array, oblique.array) and back.array.dtype == np.int16
    assert back.same_grid(oblique, tolerance=1e-6)
    assert back.ndim == 3


def test_node_geometry_is_ras_and_agrees_with_simpleitk(mrml_scene, oblique, tmp_path):
    node = add_volume_node(oblique, "oblique", mrml_scene)
    assert np.allclose(node.GetOrigin(), [-10.0, 20.0, 35.0])  # LPS (10, -20, 35) is RAS (-10, 20, 35)
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(tmp_path / "oblique.nrrd"))
    assert storage.WriteData(node)
    written = read_image(tmp_path / "oblique.nrrd")  # SimpleITK, independent of the bridge
    assert written.same_grid(oblique, tolerance=1e-5)
    assert np.array_equal(written.array, oblique.array)


def test_loaded_ct_matches_simpleitk(mrml_scene, slicerio_data):
    node = slicer.modules.volumes.logic().AddArchetypeVolume(str(slicerio_data / "CTChest4.nrrd"), "CT")
    assert node is not None
    image = image_from_volume_node(node)
    expected = read_image(slicerio_data / "CTChest4.nrrd")
    assert image.same_grid(expected, tolerance=1e-4)
    assert np.array_equal(image.array, expected.array)


def test_nifti_loaded_by_slicer_is_the_image_the_command_line_reads(mrml_scene, shared_data):
    """Slicer's reader gives this CT's geometry a step or two off its single-precision values; the bridge
    gives the command line's numbers, bit for bit, so both register the same image."""
    path = shared_data / "totalseg_test_fixtures" / "subjB_ct" / "labels_totalseg.nii.gz"
    node = slicer.modules.volumes.logic().AddArchetypeVolume(str(path), "labels")
    assert node.GetSpacing()[0] != 0.9765625  # Slicer's own value, as its reader computes it
    from_slicer, from_file = image_from_volume_node(node), read_image(path)
    assert from_slicer.spacing == from_file.spacing
    assert from_slicer.origin == from_file.origin
    assert np.array_equal(from_slicer.direction, from_file.direction)
    assert np.array_equal(from_slicer.array, from_file.array)


@pytest.mark.parametrize("subject", ["subjA_ct", "subjB_ct"])
@pytest.mark.parametrize(("axis", "degrees"), [((0, 0, 1), 20), ((1, 0, 0), 35)])
def test_oblique_nifti_loaded_by_slicer_is_the_image_the_command_line_reads(mrml_scene, shared_data, tmp_path, subject, axis, degrees):
    """Slicer computes an oblique file's directions and origin again through its IJK-to-RAS matrix, a few steps
    off the command line's; the bridge gives the command line's numbers, bit for bit."""
    import SimpleITK as sitk

    stored = sitk.ReadImage(str(shared_data / "totalseg_test_fixtures" / subject / "labels_totalseg.nii.gz"))
    stored.SetDirection(tuple((rotation(axis, degrees) @ np.reshape(stored.GetDirection(), (3, 3))).ravel()))
    path = tmp_path / "oblique.nii.gz"
    sitk.WriteImage(stored, str(path))
    node = slicer.modules.volumes.logic().AddArchetypeVolume(str(path), "oblique labels")
    from_slicer, from_file = image_from_volume_node(node), read_image(path)
    assert from_slicer.spacing == from_file.spacing
    assert from_slicer.origin == from_file.origin
    assert np.array_equal(from_slicer.direction, from_file.direction)
    assert np.array_equal(from_slicer.array, from_file.array)


def test_voxels_stored_from_a_non_zero_index_are_read_where_they_lie(mrml_scene, oblique):
    """Before, a volume whose voxels are stored from index (2, 3, 1) on was read as if stored from 0: 2, 3 and 1 voxels off."""
    node = add_volume_node(oblique, "cropped", mrml_scene)
    store_from(node, (2, 3, 1))
    back = image_from_volume_node(node)
    assert back.same_grid(oblique, tolerance=1e-6) and np.array_equal(back.array, oblique.array)
    check_volume_in_place(node, back)  # the check after a run measures it as it was read


def test_linear_parent_transform_is_applied_like_hardening(mrml_scene, oblique):
    node = add_volume_node(oblique, "moved", mrml_scene)
    to_parent = np.eye(4)
    to_parent[:3, :3] = rotation((0, 0, 1), 30)
    to_parent[:3, 3] = (5.0, -7.0, 12.0)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "T")
    transform.SetMatrixTransformToParent(vtkMatrixFromArray(to_parent))
    node.SetAndObserveTransformNodeID(transform.GetID())
    under_transform = image_from_volume_node(node)

    assert slicer.vtkSlicerTransformLogic.hardenTransform(node)
    assert node.GetParentTransformNode() is None
    hardened = image_from_volume_node(node)
    assert under_transform.same_grid(hardened, tolerance=1e-5)
    assert not under_transform.same_grid(oblique, tolerance=1e-3)


def test_non_linear_parent_transform_is_refused(mrml_scene, oblique):
    node = add_volume_node(oblique, "warped", mrml_scene)
    import vtk

    source, target = vtk.vtkPoints(), vtk.vtkPoints()
    for point in [(0, 0, 0), (50, 0, 0), (0, 50, 0), (0, 0, 50)]:
        source.InsertNextPoint(point)
        target.InsertNextPoint(point[0] + 1, point[1] + point[0] * 0.1, point[2])
    spline = vtk.vtkThinPlateSplineTransform()
    spline.SetSourceLandmarks(source)
    spline.SetTargetLandmarks(target)
    spline.SetBasisToR()
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLTransformNode", "warp")
    transform.SetAndObserveTransformToParent(spline)
    node.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(GeometryError, match="harden"):
        image_from_volume_node(node)


def test_single_slice_volume_is_2d(mrml_scene):
    picture = Image(np.arange(12, dtype=np.uint8).reshape(1, 3, 4), spacing=(0.2, 0.2, 1.0), ndim=2)
    image = image_from_volume_node(add_volume_node(picture, "picture", mrml_scene))
    assert image.ndim == 2 and image.to_sitk().GetDimension() == 2
    assert np.array_equal(image.array, picture.array)


def test_bad_nodes_give_clear_errors(mrml_scene):
    with pytest.raises(GeometryError, match="scalar volume"):
        image_from_volume_node(mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode"))
    with pytest.raises(GeometryError, match="no voxels"):
        image_from_volume_node(mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "empty"))
    assert arrayFromVTKMatrix(vtkMatrixFromArray(np.eye(4))).shape == (4, 4)


def test_a_volume_with_empty_image_data_is_refused_by_name(mrml_scene):
    """Before: AttributeError "'NoneType' object has no attribute 'GetDataType'" from arrayFromVolume."""
    node = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "blank CT")
    node.SetAndObserveImageData(vtk.vtkImageData())
    with pytest.raises(GeometryError, match="volume 'blank CT' holds no voxels"):
        image_from_volume_node(node)


def test_a_volume_with_zero_spacing_or_a_segmentation_given_as_a_volume_is_refused_by_name(mrml_scene, oblique):
    """Before: "spacing must be positive and finite, got (...)" after a divide-by-zero warning, and "expected a scalar
    volume, got vtkMRMLSegmentationNode": neither named the node."""
    flat = add_volume_node(oblique, "flat CT", mrml_scene)
    flat.SetSpacing(0.7, 0.0, 2.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GeometryError, match=r"volume 'flat CT' has voxel spacing \(0\.7\d*, 0\.0, 2\.9\d*\) mm; spacing must be positive"):
            image_from_volume_node(flat)
    with pytest.raises(GeometryError, match="'liver labels' is a vtkMRMLSegmentationNode, not a scalar volume"):
        image_from_volume_node(mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "liver labels"))


def test_a_diffusion_tensor_volume_is_refused_by_name(mrml_scene):
    """A diffusion tensor volume node is a scalar volume node to MRML; before, it was refused with "image array must be
    3D (k, j, i), got shape (2, 3, 4, 3, 3)", naming neither the node nor what is wrong with it."""
    node = mrml_scene.AddNewNodeByClass("vtkMRMLDiffusionTensorVolumeNode", "DTI")
    data = vtk.vtkImageData()
    data.SetDimensions(4, 3, 2)
    data.AllocateScalars(vtk.VTK_FLOAT, 1)
    tensors = vtk.vtkFloatArray()
    tensors.SetNumberOfComponents(9)
    tensors.SetNumberOfTuples(4 * 3 * 2)
    tensors.Fill(1.0)
    data.GetPointData().SetTensors(tensors)
    node.SetAndObserveImageData(data)
    with pytest.raises(GeometryError, match="volume 'DTI': expected a scalar image or 8- or 16-bit colour, got 9 components per voxel of float32"):
        image_from_volume_node(node)


def oblique_nrrd(path, size=(7, 6, 5)):
    """An NRRD turned 20 degrees about x and 10 about z whose origin has double-precision digits, as a resampled CT's
    has: Slicer's IJK-to-RAS gives that origin back a step off."""
    import SimpleITK as sitk

    stored = sitk.GetImageFromArray(np.arange(int(np.prod(size)), dtype=np.int16).reshape(tuple(reversed(size))))
    stored.SetSpacing((3.0468759536743164, 3.0468759536743164, 10.0))
    stored.SetDirection(tuple((rotation((0, 0, 1), 10) @ rotation((1, 0, 0), 20) @ np.diag([-1.0, -1.0, 1.0])).ravel()))
    stored.SetOrigin((163.21769163080967, 282.97372467459633, -246.30379670984604))
    sitk.WriteImage(stored, str(path))
    return path


@pytest.mark.parametrize("size", [(7, 6, 5), (7, 6, 1)], ids=["volume", "one slice"])
def test_oblique_nrrd_loaded_by_slicer_is_the_image_the_command_line_reads(mrml_scene, tmp_path, size):
    """Before, Slicer's origin (163.21769163080972 for the file's 163.21769163080967) reached the engine, and a chest CT
    so turned got 6 voxels of another segmentation than `rau segment`'s; now the node on its file's grid takes the
    file's geometry, bit for bit."""
    path = oblique_nrrd(tmp_path / "oblique.nrrd", size)
    node = slicer.modules.volumes.logic().AddArchetypeVolume(str(path), "oblique")
    from_slicer, from_file = image_from_volume_node(node), read_image(path)
    assert from_slicer.ndim == from_file.ndim == (2 if size[2] == 1 else 3)
    assert from_slicer.spacing == from_file.spacing
    assert from_slicer.origin == from_file.origin
    assert np.array_equal(from_slicer.direction, from_file.direction)
    assert from_slicer.stored == from_file.stored
    assert np.array_equal(from_slicer.array, from_file.array)


def test_a_loaded_node_under_a_transform_or_moved_takes_its_own_geometry(mrml_scene, tmp_path):
    """The file's geometry is taken only while the node's voxels lie where the file has them."""
    path = oblique_nrrd(tmp_path / "oblique.nrrd")
    node = slicer.modules.volumes.logic().AddArchetypeVolume(str(path), "oblique")
    to_parent = np.eye(4)
    to_parent[:3, 3] = (5.0, -7.0, 12.0)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "T")
    transform.SetMatrixTransformToParent(vtkMatrixFromArray(to_parent))
    node.SetAndObserveTransformNodeID(transform.GetID())
    under_transform, from_file = image_from_volume_node(node), read_image(path)
    assert np.allclose(np.subtract(under_transform.origin, from_file.origin), (-5.0, 7.0, 12.0))  # RAS (5, -7, 12) in LPS
    check_volume_in_place(node, under_transform)

    node.SetAndObserveTransformNodeID(None)
    node.SetOrigin(*np.add(node.GetOrigin(), (0.5, 0.0, 0.0)))
    moved = image_from_volume_node(node)
    assert np.allclose(np.subtract(moved.origin, from_file.origin), (-0.5, 0.0, 0.0))
    check_volume_in_place(node, moved)
