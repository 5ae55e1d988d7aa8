"""A ``.seg.nrrd`` rau writes (``rau segment --seg-nrrd``, ``rau correct``), loaded and saved again with Slicer's own
storage node (slicer-core) as File > Save does: no error logged, and the reference geometry Slicer reads from it is the
target's grid."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import loaded_by_slicer, vtk_errors  # noqa: F401  (fixture)
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.cli import main  # noqa: E402
from rau.io import read_image, read_segmentation, write_seg_nrrd  # noqa: E402
from slicer.util import arrayFromVTKMatrix  # noqa: E402


def _volume_grid(scene, path) -> tuple[np.ndarray, tuple]:
    """The IJK-to-RAS matrix and extent of the volume ``path`` as Slicer's volume reader loads it."""
    volume = loaded_by_slicer(scene, "vtkMRMLScalarVolumeNode", slicer.vtkMRMLVolumeArchetypeStorageNode(), path)
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    return arrayFromVTKMatrix(matrix), volume.GetImageData().GetExtent()


def _saved_again(scene, path) -> tuple[np.ndarray, tuple]:
    """Load the segmentation ``path`` in Slicer, save it again cropped to its segments (as Slicer's Save does), and
    give the IJK-to-RAS matrix and extent of the reference geometry it read."""
    node = loaded_by_slicer(scene, "vtkMRMLSegmentationNode", slicer.vtkMRMLSegmentationStorageNode(), path)
    writer = slicer.vtkMRMLSegmentationStorageNode()
    scene.AddNode(writer)
    writer.SetCropToMinimumExtent(True)
    writer.SetFileName(str(path).replace(".seg.nrrd", ".saved.seg.nrrd"))
    assert writer.WriteData(node)
    grid = slicer.vtkOrientedImageData()
    slicer.vtkSegmentationConverter.DeserializeImageGeometry(node.GetSegmentation().GetConversionParameter("Reference image geometry"), grid)
    matrix = vtk.vtkMatrix4x4()
    grid.GetImageToWorldMatrix(matrix)
    return arrayFromVTKMatrix(matrix), grid.GetExtent()


def test_the_seg_nrrd_of_rau_segment_saves_again_in_slicer_without_an_error_on_the_target_s_grid(hc18_case, vtk_errors):  # noqa: F811
    """Before, the file held no ``Reference image geometry``: Slicer logged "GetConversionParameter: Conversion
    parameter 'Reference image geometry' is not found" saving it again."""
    out = hc18_case / "out" / "target.nii.gz"
    assert main(segment_args(hc18_case, out, "--seg-nrrd")) == 0
    scene = slicer.vtkMRMLScene()
    matrix, extent = _saved_again(scene, hc18_case / "out" / "target.seg.nrrd")
    target_matrix, target_extent = _volume_grid(scene, out)  # the label map lies on the target's grid
    np.testing.assert_allclose(matrix, target_matrix, atol=1e-9)
    assert extent == target_extent


def test_a_written_seg_nrrd_of_a_ct_gives_slicer_the_ct_s_grid_and_reads_back_as_it_was(slicerio_data, tmp_path, vtk_errors):  # noqa: F811
    import slicerio

    ct = read_image(slicerio_data / "CTChest4.nrrd")
    segmentation = read_segmentation(slicerio_data / "Segmentation.seg.nrrd", ct)
    written = write_seg_nrrd(segmentation, tmp_path / "chest.seg.nrrd")
    scene = slicer.vtkMRMLScene()
    matrix, extent = _saved_again(scene, written)
    ct_matrix, ct_extent = _volume_grid(scene, slicerio_data / "CTChest4.nrrd")
    np.testing.assert_allclose(matrix, ct_matrix, atol=1e-9)
    assert extent == ct_extent
    again = read_segmentation(written)  # rau reads what it wrote as before: names, colours, values, grid, voxels
    assert again.labels == segmentation.labels and again.geometry.same_grid(ct)
    for name in segmentation.labels.names:
        np.testing.assert_array_equal(again.masks[name], segmentation.masks[name])
    read_by_slicerio = slicerio.read_segmentation(str(written))
    assert [s["name"] for s in read_by_slicerio["segments"]] == segmentation.labels.names
    assert [s["labelValue"] for s in read_by_slicerio["segments"]] == [s.value for s in segmentation.labels]
    assert read_by_slicerio["containedRepresentationNames"] == ["Binary labelmap"]
