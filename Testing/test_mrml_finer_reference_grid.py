"""A reference ``.seg.nrrd`` on a grid finer than its volume (Segment Editor's "Specify geometry", oversampling 2: each
volume voxel centre lies midway between voxel centres of the segmentation) is read onto the volume with the same
voxels by the Slicer module (the node Slicer's own storage node loads, slicer-core) as by the command line."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import loaded_by_slicer, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.io import read_image, read_segmentation  # noqa: E402
from rau.mrml import image_from_volume_node, segmentation_from_node  # noqa: E402
from slicer.util import arrayFromVTKMatrix, vtkMatrixFromArray  # noqa: E402


def _oversampled(scene, volume, segmentation, path):
    """Save ``segmentation`` as Slicer makes it on ``volume``'s grid oversampled twice (half the spacing, same bounds),
    kept to the middle of the volume, from its closed surfaces, with Slicer's storage node (small: three segments;
    the tissue's large surface alone takes over a minute)."""
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    coarse = arrayFromVTKMatrix(matrix)
    fine = coarse.copy()
    fine[:3, :3] = coarse[:3, :3] / 2
    fine[:3, 3] = (coarse @ [-0.25, -0.25, -0.25, 1])[:3]  # the first fine centre a quarter voxel inside the first coarse one
    grid = slicer.vtkOrientedImageData()
    grid.SetExtent(64, 191, 64, 191, 24, 43)  # of 256 x 256 x 68 fine voxels
    grid.SetImageToWorldMatrix(vtkMatrixFromArray(fine))
    segments = segmentation.GetSegmentation()
    for name in ("cervical vertebral column", "lumbar vertebral column", "left lung", "tissue"):
        segments.RemoveSegment(segments.GetSegmentIdBySegmentName(name))
    segmentation.CreateClosedSurfaceRepresentation()
    segments.SetSourceRepresentationName("Closed surface")
    segments.RemoveRepresentation("Binary labelmap")
    segments.SetConversionParameter("Reference image geometry", slicer.vtkSegmentationConverter.SerializeImageGeometry(grid))
    assert segments.CreateRepresentation("Binary labelmap")
    segments.SetSourceRepresentationName("Binary labelmap")
    writer = slicer.vtkMRMLSegmentationStorageNode()
    scene.AddNode(writer)
    writer.SetFileName(str(path))
    assert writer.WriteData(segmentation)


def test_a_seg_nrrd_on_a_twice_finer_grid_gives_the_module_and_the_command_line_the_same_voxels(mrml_scene, slicerio_data, tmp_path):
    ct_path = slicerio_data / "CTChest4.nrrd"
    ct = loaded_by_slicer(mrml_scene, "vtkMRMLScalarVolumeNode", slicer.vtkMRMLVolumeArchetypeStorageNode(), ct_path)
    drawn = loaded_by_slicer(mrml_scene, "vtkMRMLSegmentationNode", slicer.vtkMRMLSegmentationStorageNode(), slicerio_data / "Segmentation.seg.nrrd")
    path = tmp_path / "oversampled.seg.nrrd"
    _oversampled(mrml_scene, ct, drawn, path)
    loaded = loaded_by_slicer(mrml_scene, "vtkMRMLSegmentationNode", slicer.vtkMRMLSegmentationStorageNode(), path)

    module = segmentation_from_node(loaded, image_from_volume_node(ct))
    command_line = read_segmentation(path, geometry=read_image(ct_path))

    assert module.labels.names == command_line.labels.names == ["ribs", "thoracic vertebral column", "right lung"]
    assert all(mask.sum() > 100 for mask in command_line.masks.values())  # the slab crosses them
    differ = {name: int((module.masks[name] != command_line.masks[name]).sum()) for name in module.labels.names}
    assert differ == dict.fromkeys(module.labels.names, 0)
