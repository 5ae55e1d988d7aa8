"""Exporting segmentation nodes: NIfTI label map + label table, and .seg.nrrd, re-read independently."""

from __future__ import annotations

import csv
import dataclasses
import re

import numpy as np
import pytest
import SimpleITK as sitk
from slicer_scene import mrml_scene, vtk_errors, warp  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
vtk = pytest.importorskip("vtk")

from rau.image import GeometryError  # noqa: E402
from rau.io import OutputExistsError, read_segmentation  # noqa: E402
from rau.labels import LabelSet, Segmentation  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node, export_label_map, export_seg_nrrd, image_from_volume_node  # noqa: E402
from slicer.util import arrayFromVTKMatrix  # noqa: E402
from test_mrml_segments import grid, labels  # noqa: E402,F401  (fixtures)


def test_nifti_export_lies_in_the_right_physical_place(mrml_scene, labels, grid, tmp_path, capsys):
    volume = add_volume_node(grid, "target", mrml_scene)
    node = add_segmentation_node(labels, "result", mrml_scene, reference_volume_node=volume)
    nifti, table = export_label_map(node, grid, tmp_path / "result.nii.gz")
    assert table.name == "result.labels.csv"
    hidden = int((labels.masks["liver"] & labels.masks["spleen"]).sum())
    assert f"later structures cover 'liver' {hidden} voxels; a .seg.nrrd export keeps them whole" in capsys.readouterr().err  # before: silent

    image = sitk.ReadImage(str(nifti))
    array = sitk.GetArrayFromImage(image)
    assert set(np.unique(array)) == {0, 1, 2, 3}
    # a liver-only voxel: its world position from SimpleITK (LPS) must be the RAS position Slicer gives it
    k, j, i = np.argwhere(labels.masks["liver"] & ~labels.masks["spleen"])[0]
    lps = np.array(image.TransformIndexToPhysicalPoint((int(i), int(j), int(k))))
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    ras = arrayFromVTKMatrix(matrix) @ np.array([i, j, k, 1.0])
    assert np.allclose(lps, [-ras[0], -ras[1], ras[2]], atol=1e-4)
    assert array[k, j, i] == 1

    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["LabelValue"], row["Name"]) for row in rows] == [("1", "liver"), ("2", "spleen"), ("3", "kidney")]
    assert rows[0]["Type_CodeMeaning"] == "Liver"


def test_label_values_a_slicer_file_keeps_reach_the_result_and_its_label_map_export(mrml_scene, labels, grid, tmp_path):
    """Before, a reference loaded from a .seg.nrrd with values 5, 52, 7 gave a result (tags) and a label map export
    numbered 1, 2, 3, where ``rau segment`` keeps the reference's values."""
    from rau.io import write_seg_nrrd
    from rau.mrml import add_result_node, request_from_nodes, segmentation_from_node
    from rau.result import Result, StructureResult

    values = {"liver": 5, "spleen": 52, "kidney": 7}
    renumbered = LabelSet(tuple(dataclasses.replace(s, value=values[s.name]) for s in labels.labels))
    write_seg_nrrd(Segmentation(labels.geometry, renumbered, labels.masks), tmp_path / "reference.seg.nrrd")
    volume = add_volume_node(grid, "reference", mrml_scene)
    node = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "reference segmentation")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(tmp_path / "reference.seg.nrrd"))
    assert storage.ReadData(node)  # as Slicer loads a .seg.nrrd
    assert {s.name: s.value for s in segmentation_from_node(node, grid).labels} == values
    request = request_from_nodes(volume, node, add_volume_node(grid, "patient", mrml_scene))
    assert {s.name: s.value for s in request.labels()} == values
    found = Result(grid, [StructureResult(s, labels.masks[s.name], 1.0, "test") for s in request.labels()], "test", 0.0)
    result_node = add_result_node(found, volume)
    nifti, _ = export_label_map(result_node, grid, tmp_path / "result.nii.gz")
    assert {s.name: s.value for s in read_segmentation(nifti).labels} == values
    assert {s.name: s.value for s in segmentation_from_node(result_node, grid).labels} == values  # the result as the next reference


def test_a_segment_added_to_a_result_takes_a_free_value_and_the_structures_keep_theirs(mrml_scene, labels, grid, tmp_path):
    """Before, a segment added in the Segment Editor that took Slicer's value 1 (a structure's value) renumbered
    every structure 1, 2, ... in the NIfTI export."""
    from rau.mrml import add_result_node, write_segment_mask
    from rau.result import Result, StructureResult

    values = {"liver": 1, "spleen": 52, "kidney": 7}
    structures = [dataclasses.replace(s, value=values[s.name]) for s in labels.labels]
    found = Result(grid, [StructureResult(s, labels.masks[s.name], 1.0, "test") for s in structures], "test", 0.0)
    node = add_result_node(found, add_volume_node(grid, "patient", mrml_scene))
    node.GetSegmentation().AddEmptySegment("", "Tumour", [1.0, 1.0, 0.0])  # as the Segment Editor's Add button
    write_segment_mask(node, "Tumour", np.pad(np.ones((1, 1, 1), bool), [(0, n - 1) for n in grid.shape]), grid)
    added = node.GetSegmentation().GetSegment(node.GetSegmentation().GetSegmentIdBySegmentName("Tumour"))
    assert added.GetLabelValue() in values.values()  # Slicer's own number collides with a structure's value
    _, table = export_label_map(node, grid, tmp_path / "edited.nii.gz")
    rows = [(int(row["LabelValue"]), row["Name"]) for row in csv.DictReader(open(table, encoding="utf-8"))]
    assert rows == [(1, "liver"), (52, "spleen"), (7, "kidney"), (2, "Tumour")]


def test_a_structure_keeps_its_value_whichever_structures_are_picked(mrml_scene, labels, grid):
    """Segments in separate layers share Slicer's value 1, so values follow segment order over the whole node;
    before, a picked subset was numbered by itself (or took stored values that were another structure's)."""
    from rau.mrml import segmentation_from_node

    node = add_segmentation_node(labels, "reference", mrml_scene)  # spleen overlaps liver: its own layer
    whole = {s.name: s.value for s in segmentation_from_node(node, grid).labels}
    for names in (["spleen", "kidney"], ["kidney"], ["liver", "kidney"]):
        assert {s.name: s.value for s in segmentation_from_node(node, grid, names).labels} == {n: whole[n] for n in names}


def test_export_refuses_to_overwrite_unless_asked(mrml_scene, labels, grid, tmp_path):
    node = add_segmentation_node(labels, "result", mrml_scene)
    path = tmp_path / "result.nii.gz"
    export_label_map(node, grid, path)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        export_label_map(node, grid, path)
    assert path.read_bytes() == before
    export_label_map(node, grid, path, overwrite=True)


@pytest.mark.parametrize("name, problem", [
    ("result.txt", "name it"), ("result", "name it"), ("result.nii.gz.bak", "name it"), ("result.seg.nrrd", "name it"),
    ("result.mha", "name it with one of .nii.gz, .nii, .nrrd, .png"),  # before: it offered .seg.nrrd, which it refuses
    ("result.png", "a .png file holds a 2D picture, but the target is 3D; use .nii.gz or .nrrd"),  # the one check of rau segment --out too
])
def test_a_label_map_export_needs_a_label_map_name(mrml_scene, labels, grid, tmp_path, name, problem):
    """Not SimpleITK's "unable to determine ImageIO writer" about a hidden temporary file: the name the user gave."""
    node = add_segmentation_node(labels, "result", mrml_scene)
    with pytest.raises(ValueError, match=re.escape(f"export file {tmp_path / name}: {problem}")):
        export_label_map(node, grid, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_seg_nrrd_export_round_trips_through_slicerio(mrml_scene, labels, grid, tmp_path):
    node = add_segmentation_node(labels, "result", mrml_scene)
    node.GetSegmentation().GetSegment(node.GetSegmentation().GetSegmentIdBySegmentName("spleen")).SetTag("RAUSlicer", "{}")
    path = export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    back = read_segmentation(path, geometry=grid)
    assert back.labels.names == ["liver", "spleen", "kidney"]
    for name in back.labels.names:
        assert np.array_equal(back.masks[name], labels.masks[name]), name
    assert back.labels.get("liver").terminology["type"][2] == "Liver"
    assert "RAUSlicer" in path.read_bytes()[:4096].decode("latin-1")
    with pytest.raises(OutputExistsError):
        export_seg_nrrd(node, path)
    with pytest.raises(ValueError, match="seg.nrrd"):
        export_seg_nrrd(node, tmp_path / "result.nrrd")


def test_both_exports_of_a_result_read_back_with_the_reference_s_values(mrml_scene, grid, tmp_path):
    """Before: Slicer stores a result segment alone in its layer (it overlaps another) with the value 1, and the
    .seg.nrrd export read back with 5, 1, 9 (liver, spleen, kidney) where the NIfTI export and the node say 5, 2, 9."""
    from rau.labels import Structure
    from rau.mrml import add_result_node
    from rau.result import Result, StructureResult

    masks = np.zeros((3, *grid.shape), bool)
    masks[0, 1:3, 2:8, 2:8] = masks[1, 1:3, 6:12, 6:12] = masks[2, 3:4, 1:4, 1:4] = True  # liver and spleen overlap
    structures = [Structure("liver", 5, (1.0, 0.0, 0.0)), Structure("spleen", 2, (0.0, 1.0, 0.0)), Structure("kidney", 9, (0.0, 0.0, 1.0))]
    result = Result(grid, [StructureResult(s, m, 0.9, "registration") for s, m in zip(structures, masks)], "registration")
    node = add_result_node(result, add_volume_node(grid, "target", mrml_scene))
    nifti, _ = export_label_map(node, grid, tmp_path / "result.nii.gz")
    seg_nrrd = export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    expected = [("liver", 5), ("spleen", 2), ("kidney", 9)]
    by_value = sorted(expected, key=lambda pair: pair[1])  # a label map is read in label-value order, a .seg.nrrd in the node's
    assert [(s.name, s.value) for s in read_segmentation(nifti).labels] == by_value
    back = read_segmentation(seg_nrrd, geometry=grid)
    assert [(s.name, s.value) for s in back.labels] == expected
    assert all(np.array_equal(back.masks[s.name], mask) for s, mask in zip(structures, masks))


def test_both_exports_of_a_result_under_a_transform_lie_in_world_coordinates(mrml_scene, labels, grid, tmp_path):
    """The result node takes the target's transform before its reference geometry (before that, Slicer took the
    geometry relative to no transform and the export was resampled onto a rotated, larger grid). Both exports
    apply the transform: before, the .seg.nrrd lay in the node's own frame, the label map in world coordinates."""
    volume = add_volume_node(grid, "target", mrml_scene)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "tilt")
    rotation = vtk.vtkTransform()
    rotation.RotateZ(30)
    rotation.Translate(12, -7, 3)
    transform.SetMatrixTransformToParent(rotation.GetMatrix())
    volume.SetAndObserveTransformNodeID(transform.GetID())
    world = image_from_volume_node(volume)  # the target as the engines see it: its transform hardened
    result = Segmentation(world.with_array(np.zeros(world.shape, np.uint8)), labels.labels, labels.masks)
    node = add_segmentation_node(result, "result", mrml_scene, reference_volume_node=volume)
    seg_nrrd = export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    label_map, _ = export_label_map(node, world, tmp_path / "result.nii.gz")
    for path in (seg_nrrd, label_map):
        written = sitk.ReadImage(str(path))
        assert written.GetSize()[:3] == grid.size, path  # the target's grid, not resampled
        assert np.allclose(written.GetOrigin(), world.origin, atol=1e-3), path
        assert np.allclose(np.reshape(written.GetDirection(), (3, 3)), world.direction, atol=1e-5), path
        back = read_segmentation(path, geometry=world)
        for name in ("spleen", "kidney"):  # in the label map, spleen covers part of liver
            assert np.array_equal(back.masks[name], labels.masks[name]), (path, name)
    assert np.array_equal(read_segmentation(seg_nrrd, geometry=world).masks["liver"], labels.masks["liver"])
    assert node.GetTransformNodeID() == transform.GetID()  # the user's node is left as it was: a second export is the same
    again = export_seg_nrrd(node, tmp_path / "again.seg.nrrd")
    assert sitk.ReadImage(str(again)).GetOrigin() == sitk.ReadImage(str(seg_nrrd)).GetOrigin()
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1


def test_a_result_under_a_non_linear_transform_is_refused_for_the_export(mrml_scene, labels, grid, tmp_path):
    """Before, both exports said to harden the transform "before running RAUSlicer": the user was exporting."""
    node = add_segmentation_node(labels, "result", mrml_scene, add_volume_node(grid, "target", mrml_scene))
    node.SetAndObserveTransformNodeID(warp(mrml_scene).GetID())
    said = "'result' is under the non-linear transform 'warp'; harden it .* before exporting it$"
    with pytest.raises(GeometryError, match=said):
        export_label_map(node, grid, tmp_path / "result.nii.gz")
    with pytest.raises(GeometryError, match=said):
        export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    assert not list(tmp_path.iterdir())


def test_a_provenance_tag_naming_a_pipe_survives_a_seg_nrrd_save_and_a_damaged_one_is_named(mrml_scene, labels, grid, tmp_path):
    """Before: a "|" in a structure or reference volume name cut the JSON tag when Slicer's storage node wrote
    it ("key:value|key:value"), and reading it back raised a bare JSONDecodeError."""
    from rau.errors import InputError
    from rau.mrml import read_rau_tag, write_structure_result
    from rau.result import StructureResult

    target = add_volume_node(grid, "target", mrml_scene)
    node = add_segmentation_node(labels, "result", mrml_scene, target)
    pipe = labels.labels.get("liver").__class__("Leber | hepar", 7, (0.9, 0.5, 0.3))
    write_structure_result(node, StructureResult(pipe, labels.masks["liver"], 0.9, "registration", prompts={"references": ["CT | arterial"]}), grid)
    path = export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    mrml_scene.AddNode(storage)
    reloaded = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "reloaded")
    storage.SetFileName(str(path))
    assert storage.ReadData(reloaded)
    tag = read_rau_tag(reloaded, "Leber | hepar")
    assert tag["structure"] == "Leber | hepar" and tag["prompts"] == {"references": ["CT | arterial"]}

    segment = reloaded.GetSegmentation().GetSegment(reloaded.GetSegmentation().GetSegmentIdBySegmentName("spleen"))
    segment.SetTag("RAUSlicer", '{"structure": "spl')
    with pytest.raises(InputError, match="segment 'spleen' of 'reloaded' has a damaged RAUSlicer tag"):
        read_rau_tag(reloaded, "spleen")


def test_a_seg_nrrd_export_with_only_empty_segments_reads_back_on_the_target_grid(mrml_scene, labels, grid, tmp_path):
    """Slicer writes such a file on a 1x1x1 grid at the origin; before, rau refused it ("labels are 2D but the
    image is 3D")."""
    from rau.mrml import add_result_node
    from rau.result import Result, StructureResult

    nothing = [StructureResult(structure, None, 0.0, "registration", message="not found") for structure in labels.labels]
    node = add_result_node(Result(grid, nothing, "registration"), add_volume_node(grid, "target", mrml_scene))
    back = read_segmentation(export_seg_nrrd(node, tmp_path / "nothing.seg.nrrd"), geometry=grid)
    assert back.labels.names == ["liver", "spleen", "kidney"] and back.geometry.same_grid(grid)
    assert all(mask.shape == grid.shape and not mask.any() for mask in back.masks.values())


def test_result_segments_keep_the_reference_s_names_and_colors_as_chosen_in_the_node_and_its_seg_nrrd(mrml_scene, labels, grid, tmp_path):
    """Before, a result's segments (and those the bridge adds for a reference) were saved NameAutoGenerated=1 and
    ColorAutoGenerated=1, so picking a terminology entry in the Segment Editor replaced the reference's name and color."""
    from rau.mrml import add_result_node
    from test_mrml_segments import result_for

    node = add_result_node(result_for(grid, labels), add_volume_node(grid, "target", mrml_scene))
    reference = add_segmentation_node(labels, "reference segmentation", mrml_scene)
    path = export_seg_nrrd(node, tmp_path / "result.seg.nrrd")
    header = path.read_bytes()[:8192].decode("latin-1")
    assert re.findall(r"Segment\d_(?:Name|Color)AutoGenerated:=(\d)", header) == ["0"] * 6
    reloaded = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "reloaded")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(reloaded)  # as Slicer loads it
    for segmentation in (node, reference, reloaded):
        segments = [segmentation.GetSegmentation().GetNthSegment(n) for n in range(3)]
        assert [s.GetName() for s in segments] == ["liver", "spleen", "kidney"]
        assert [(s.GetNameAutoGenerated(), s.GetColorAutoGenerated()) for s in segments] == [(False, False)] * 3, segmentation.GetName()
