"""Segmentation nodes <-> rau segmentations on real slicer-core MRML, and writing results into them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import InputError  # noqa: E402
from rau.image import GeometryError, Image  # noqa: E402
from rau.io import read_image, read_segmentation, write_seg_nrrd  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure  # noqa: E402
from rau.mrml import (  # noqa: E402
    add_result_node,
    add_segmentation_node,
    add_volume_node,
    image_from_volume_node,
    read_rau_tag,
    request_from_nodes,
    segmentation_from_node,
    write_segment_mask,
    write_structure_result,
)
from rau.result import Result, StructureResult  # noqa: E402
from test_mrml_geometry import rotation  # noqa: E402

Logic = slicer.vtkSlicerSegmentationsModuleLogic
LIVER_TERMINOLOGY = {
    "contextName": "Segmentation category and type - 3D Slicer General Anatomy list",
    "category": ["SCT", "123037004", "Anatomical Structure"],
    "type": ["SCT", "10200004", "Liver"],
}


@pytest.fixture
def grid():
    """An oblique, anisotropic empty grid."""
    return Image(np.zeros((8, 10, 12), np.int16), spacing=(0.8, 1.1, 2.5), origin=(3.0, -4.0, 5.0),
                 direction=rotation((2, -1, 1), 35))


def box_mask(grid, k, j, i):
    mask = np.zeros(grid.shape, bool)
    mask[k[0]:k[1], j[0]:j[1], i[0]:i[1]] = True
    return mask


@pytest.fixture
def labels(grid):
    """Three structures; ``b`` overlaps ``a``."""
    structures = (
        Structure("liver", 1, (0.9, 0.5, 0.3), LIVER_TERMINOLOGY),
        Structure("spleen", 2, (0.2, 0.6, 0.9)),
        Structure("kidney", 3, (0.1, 0.8, 0.1)),
    )
    masks = {
        "liver": box_mask(grid, (1, 5), (2, 7), (3, 9)),
        "spleen": box_mask(grid, (3, 7), (5, 9), (6, 11)),
        "kidney": box_mask(grid, (0, 2), (0, 2), (0, 2)),
    }
    return Segmentation(grid.with_array(np.zeros(grid.shape, np.uint8)), LabelSet(structures), masks)


def segment(node, name):
    segmentation = node.GetSegmentation()
    return segmentation.GetSegment(segmentation.GetSegmentIdBySegmentName(name))


def test_round_trip_keeps_masks_names_colors_terminology(mrml_scene, labels):
    node = add_segmentation_node(labels, "reference", mrml_scene)
    assert node.GetSegmentation().GetNumberOfSegments() == 3
    back = segmentation_from_node(node, labels.geometry)
    assert back.labels.names == ["liver", "spleen", "kidney"]
    for structure in labels.labels:
        mine = back.labels.get(structure.name)
        assert np.allclose(mine.color, structure.color, atol=1e-6)
        assert np.array_equal(back.masks[structure.name], labels.masks[structure.name]), structure.name
    assert back.labels.get("liver").terminology["type"] == LIVER_TERMINOLOGY["type"]
    assert "Liver" in segment(node, "liver").GetTerminology()


def test_a_segmentation_added_to_the_scene_keeps_its_label_values(mrml_scene, labels, grid, tmp_path):
    """Before, Slicer numbered the segments 1, 2, 3: a run on such a reference exported other values than rau segment
    writes (Slicer's own label map import keeps them)."""
    from rau.mrml import export_label_map

    renumbered = {"liver": 52, "spleen": 1, "kidney": 5}  # spleen overlaps liver: Slicer puts it in a layer of its own
    structures = LabelSet(tuple(replace(s, value=renumbered[s.name]) for s in labels.labels))
    node = add_segmentation_node(Segmentation(labels.geometry, structures, labels.masks), "reference", mrml_scene)
    back = segmentation_from_node(node, grid)
    assert [(s.name, s.value) for s in back.labels] == [("liver", 52), ("spleen", 1), ("kidney", 5)]
    assert all(np.array_equal(back.masks[name], labels.masks[name]) for name in renumbered)
    volume, patient = add_volume_node(grid, "reference", mrml_scene), add_volume_node(grid, "patient", mrml_scene)
    request = request_from_nodes(volume, node, patient, ["kidney"])
    result = add_result_node(Result(grid, [StructureResult(request.labels().get("kidney"), labels.masks["kidney"], 1.0, "test")], "test"), patient)
    nifti, _ = export_label_map(result, grid, tmp_path / "result.nii.gz")
    assert [(s.name, s.value) for s in read_segmentation(nifti).labels] == [("kidney", 5)]


def _storage_node(path):
    """Slicer's reader and writer of a ``.seg.nrrd`` (teem, through ITK and Slicer's own writer)."""
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    return storage


def test_backslashes_in_names_terminology_and_tags_pass_between_rau_and_slicer_files(mrml_scene, labels, grid, tmp_path):
    r"""A .seg.nrrd header holds a backslash as \\ and a line break as \n (NRRD, so Slicer). Before, rau wrote and read
    fields as they stood: Slicer showed rau's 'a\nb' on two lines and 'L1\\L2' as 'L1\L2'; rau read Slicer's 'C:\dir'
    as 'C:\\dir' and, its tag's JSON broken by the quotes, lost the result's label value (30)."""
    names = {"liver": "a\\nb", "spleen": "L1\\\\L2", "kidney": 'C:\\dir "x"'}
    terminology = {**LIVER_TERMINOLOGY, "type": ["SCT", "10200004", "Liver\\Hepar"]}
    structures = LabelSet(tuple(replace(s, name=names[s.name], value=10 * s.value, terminology=s.terminology and terminology)
                                for s in labels.labels))
    named = Segmentation(labels.geometry, structures, {names[name]: mask for name, mask in labels.masks.items()})
    node = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "read by Slicer")
    assert _storage_node(write_seg_nrrd(named, tmp_path / "rau.seg.nrrd")).ReadData(node)
    read = node.GetSegmentation()
    assert [read.GetNthSegment(n).GetName() for n in range(3)] == list(names.values())
    assert "~SCT^10200004^Liver\\Hepar~" in read.GetNthSegment(0).GetTerminology()

    items = [StructureResult(structure, named.masks[structure.name], 1.0, "test") for structure in structures]
    result = add_result_node(Result(grid, items, "test"), add_volume_node(grid, "patient", mrml_scene))
    assert _storage_node(tmp_path / "slicer.seg.nrrd").WriteData(result)
    back = read_segmentation(tmp_path / "slicer.seg.nrrd")
    assert [(s.name, s.value) for s in back.labels] == [(s.name, s.value) for s in structures]
    assert back.labels.get(names["liver"]).terminology["type"][2] == "Liver\\Hepar"


def test_masks_follow_physical_space_onto_another_grid(mrml_scene, labels, grid):
    node = add_segmentation_node(labels, "reference", mrml_scene)
    # a grid with half the spacing along i, same physical extent start
    finer = Image(np.zeros((8, 10, 24), np.int16), spacing=(0.4, 1.1, 2.5), origin=grid.to_world((-0.25, 0, 0)),
                  direction=grid.direction)
    resampled = segmentation_from_node(node, finer)
    liver = resampled.masks["liver"]
    assert liver.sum() == 2 * labels.masks["liver"].sum()
    assert np.array_equal(liver[:, :, 0::2], labels.masks["liver"])


def test_chest_ct_segmentation_matches_slicerio(mrml_scene, slicerio_data):
    ct = slicer.modules.volumes.logic().AddArchetypeVolume(str(slicerio_data / "CTChest4.nrrd"), "CT")
    node = slicer.modules.segmentations.logic().LoadSegmentationFromFile(str(slicerio_data / "Segmentation.seg.nrrd"))
    assert node is not None
    mine = segmentation_from_node(node, image_from_volume_node(ct))
    theirs = read_segmentation(slicerio_data / "Segmentation.seg.nrrd", geometry=read_image(slicerio_data / "CTChest4.nrrd"))
    assert mine.labels.names == theirs.labels.names == [
        "ribs", "cervical vertebral column", "thoracic vertebral column", "lumbar vertebral column",
        "right lung", "left lung", "tissue",
    ]
    for name in mine.labels.names:
        assert np.array_equal(mine.masks[name], theirs.masks[name]), name
        assert mine.masks[name].any(), name
        assert np.allclose(mine.labels.get(name).color, theirs.labels.get(name).color, atol=1e-4)
        assert mine.labels.get(name).terminology == theirs.labels.get(name).terminology
    assert theirs.labels.get("tissue").terminology is None  # Slicer's default, Tissue / Tissue: none chosen
    assert theirs.labels.get("right lung").terminology["type"][2] == "Lung"


def test_writing_one_segment_keeps_the_others(mrml_scene, labels, grid):
    node = add_segmentation_node(labels, "work", mrml_scene)
    tumour = box_mask(grid, (2, 6), (4, 8), (5, 10))  # overlaps liver and spleen
    assert (tumour & labels.masks["liver"]).any() and (tumour & labels.masks["spleen"]).any()
    write_segment_mask(node, "tumour", tumour, grid, Structure("tumour", 4, (1.0, 1.0, 0.0)))
    after = segmentation_from_node(node, grid)
    assert np.array_equal(after.masks["tumour"], tumour)
    for name in ("liver", "spleen", "kidney"):
        assert np.array_equal(after.masks[name], labels.masks[name]), name
    assert np.allclose(after.labels.get("tumour").color, (1.0, 1.0, 0.0))


def test_rewriting_a_segment_replaces_it_and_overwrite_clears_others_only_under_it(mrml_scene, labels, grid):
    node = add_segmentation_node(labels, "work", mrml_scene)
    smaller = box_mask(grid, (2, 3), (3, 4), (4, 5))
    write_segment_mask(node, "liver", smaller, grid)
    assert np.array_equal(segmentation_from_node(node, grid).masks["liver"], smaller)

    grown = box_mask(grid, (2, 6), (3, 9), (4, 11))
    write_segment_mask(node, "liver", grown, grid, overwrite=True)
    after = segmentation_from_node(node, grid)
    assert np.array_equal(after.masks["liver"], grown)
    assert np.array_equal(after.masks["spleen"], labels.masks["spleen"] & ~grown)
    assert after.masks["spleen"].sum() < labels.masks["spleen"].sum()
    assert np.array_equal(after.masks["kidney"], labels.masks["kidney"])


def result_for(grid, labels):
    items = [
        StructureResult(labels.labels.get("liver"), labels.masks["liver"], 0.93, "test-engine",
                        prompts={"points": [[4, 5, 2]], "labels": [1]}),
        StructureResult(labels.labels.get("spleen"), labels.masks["spleen"], np.float32(0.21), "test-engine"),
        StructureResult(labels.labels.get("kidney"), None, 0.0, "test-engine", message="not found in the target"),
    ]
    return Result(grid, items, "test-engine")


def test_result_node_has_names_colors_terminology_tags_and_status(mrml_scene, labels, grid):
    target = add_volume_node(grid, "patient 7", mrml_scene)
    node = add_result_node(result_for(grid, labels), target)
    assert node.GetName() == "patient 7 segmentation"
    assert node.GetNodeReference(node.GetReferenceImageGeometryReferenceRole()) is target
    assert [node.GetSegmentation().GetNthSegment(n).GetName() for n in range(3)] == ["liver", "spleen", "kidney"]
    assert np.allclose(segment(node, "spleen").GetColor(), (0.2, 0.6, 0.9))
    assert "Liver" in segment(node, "liver").GetTerminology()

    statuses = {name: Logic.GetSegmentStatus(segment(node, name)) for name in ("liver", "spleen", "kidney")}
    assert statuses == {"liver": Logic.InProgress, "spleen": Logic.Flagged, "kidney": Logic.Flagged}

    tag = read_rau_tag(node, "liver")
    assert tag["engine"] == "test-engine" and tag["confidence"] == 0.93 and tag["found"]
    assert tag["box"]["lower_ijk"] == [3, 2, 1] and tag["box"]["upper_ijk"] == [9, 7, 5]
    assert tag["prompts"] == {"points": [[4, 5, 2]], "labels": [1]}
    assert read_rau_tag(node, "kidney")["message"] == "not found in the target"
    assert read_rau_tag(node, "spleen")["confidence"] == pytest.approx(0.21)

    written = segmentation_from_node(node, grid)
    assert np.array_equal(written.masks["liver"], labels.masks["liver"])
    assert not written.masks["kidney"].any()


def test_result_for_a_new_node_does_not_touch_the_reference(mrml_scene, labels, grid):
    reference = add_segmentation_node(labels, "reference", mrml_scene)
    before = segmentation_from_node(reference, grid)
    target = add_volume_node(grid, "target", mrml_scene)
    node = add_result_node(result_for(grid, labels), target)
    write_structure_result(node, StructureResult(labels.labels.get("liver"), None, 0.0, "x"), grid)
    after = segmentation_from_node(reference, grid)
    for name in before.labels.names:
        assert np.array_equal(before.masks[name], after.masks[name])
    assert not segmentation_from_node(node, grid).masks["liver"].any()


def test_segment_names_rau_cannot_tell_apart_are_named_with_their_node(mrml_scene, labels, grid):
    node = add_segmentation_node(labels, "my segmentation", mrml_scene)
    segmentation = node.GetSegmentation()
    segmentation.GetSegment(segmentation.GetSegmentIdBySegmentName("spleen")).SetName("Liver ")
    with pytest.raises(InputError, match="segmentation 'my segmentation': structure names 'liver' and 'Liver' are one name"):
        segmentation_from_node(node, grid)
    for index, name in enumerate(["?", "!", "--"]):  # punctuation-only names are distinct names
        segmentation.GetNthSegment(index).SetName(name)
    assert segmentation_from_node(node, grid).labels.names == ["?", "!", "--"]
    segmentation.GetNthSegment(1).SetName(" ")  # before: ran, and the result segment got a random id and another name
    with pytest.raises(InputError, match="segmentation 'my segmentation': segment 2 has no name"):
        segmentation_from_node(node, grid)
    segmentation.GetNthSegment(1).SetName("line\nbreak")  # before: the node went unnamed
    with pytest.raises(InputError, match=r"segmentation 'my segmentation': structure 'line\\nbreak': a name must not hold control characters"):
        segmentation_from_node(node, grid)


def test_unticked_segment_names_rau_cannot_tell_apart_are_refused_as_the_command_line_refuses_them(mrml_scene, labels, grid, tmp_path):
    """Before: an unticked 'Liver' beside a ticked 'liver' was left out of the reference without a word, while
    ``rau segment`` on the exported file refused it."""
    from rau.mrml import export_seg_nrrd

    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    segment(node, "kidney").SetName("Liver")
    volume, patient = add_volume_node(grid, "reference", mrml_scene), add_volume_node(grid, "patient", mrml_scene)
    clash = "structure names 'liver' and 'Liver' are one name to RAUSlicer"
    with pytest.raises(InputError, match=clash):
        read_segmentation(export_seg_nrrd(node, tmp_path / "reference.seg.nrrd"))
    for ticked in (["liver"], ["spleen"], ["Liver"]):
        with pytest.raises(InputError, match=f"segmentation 'reference labels': {clash}"):
            request_from_nodes(volume, node, patient, ticked)


def test_a_request_names_the_node_the_user_did_not_pick(mrml_scene, labels, grid):
    volume = add_volume_node(grid, "target", mrml_scene)
    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    for missing, given in (("reference volume", (None, node, volume)), ("reference segmentation", (volume, None, volume)),
                           ("target volume", (volume, node, None))):
        with pytest.raises(InputError, match=f"no {missing} selected"):
            request_from_nodes(*given)
    patient = add_volume_node(grid, "patient", mrml_scene)
    assert request_from_nodes(volume, node, patient, ["spleen"]).structures == ["spleen"]
    with pytest.raises(InputError, match="no structures selected"):  # before: "reference has no labelled voxels"
        request_from_nodes(volume, node, patient, [])
    label_map = add_volume_node(grid.with_array(labels.masks["liver"].astype(np.uint8)), "liver label", mrml_scene, "vtkMRMLLabelMapVolumeNode")
    with pytest.raises(GeometryError, match="'liver label' is a label map volume, not a segmentation: convert it first"):
        request_from_nodes(volume, label_map, patient)
    for given, role in (((label_map, node, patient), "reference volume"), ((volume, node, label_map), "target volume")):
        with pytest.raises(InputError, match=f"the {role} 'liver label' is a label map volume"):  # before: ran on its labels
            request_from_nodes(*given)


def test_a_segmentation_picked_as_the_target_or_a_reference_without_voxels_is_refused_by_name(mrml_scene, labels, grid):
    """Before: "expected a scalar volume, got vtkMRMLSegmentationNode", and an engine's "reference 'reference' has no
    labelled voxels" about the volume, not the empty segmentation node."""
    from rau.engines.base import ReferenceInputError

    volume, patient = add_volume_node(grid, "reference", mrml_scene), add_volume_node(grid, "patient", mrml_scene)
    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    with pytest.raises(InputError, match="the target volume 'reference labels' is a vtkMRMLSegmentationNode, not an image volume"):
        request_from_nodes(volume, node, node)
    empty = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "new segmentation")
    with pytest.raises(ReferenceInputError, match="the reference segmentation 'new segmentation' has no labelled voxels"):
        request_from_nodes(volume, empty, patient)
    empty.GetSegmentation().AddEmptySegment("", "tumour", [1.0, 1.0, 0.0])  # added, never painted
    for structures in (None, ["tumour"]):
        with pytest.raises(ReferenceInputError, match="the reference segmentation 'new segmentation' has no labelled voxels"):
            request_from_nodes(volume, empty, patient, structures)


def test_segment_names_lose_leading_and_trailing_spaces_as_label_table_names_do(mrml_scene, labels, grid, tmp_path):
    """Before: a segment ' spleen ' gave a result segment ' spleen ', whose label-map export read back as 'spleen'."""
    from rau.mrml import export_label_map

    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    segment(node, "spleen").SetName(" spleen  ")
    assert segmentation_from_node(node, grid).labels.names == ["liver", "spleen", "kidney"]
    segment(node, "kidney").SetName("spleen")  # before, the message did not say why the two names were one
    with pytest.raises(InputError, match=r"segmentation 'reference labels': the structure name 'spleen' appears twice "
                                         r"\(segment names are read without their leading and trailing spaces\)"):
        segmentation_from_node(node, grid)
    segment(node, "spleen").SetName("kidney")
    volume, patient = add_volume_node(grid, "reference", mrml_scene), add_volume_node(grid, "patient", mrml_scene)
    request = request_from_nodes(volume, node, patient, [" spleen  "])  # the name as the Structures list ticks it
    assert request.labels().names == ["spleen"]
    result = add_result_node(Result(grid, [StructureResult(request.labels().get("spleen"), labels.masks["spleen"], 1.0, "test")], "test"), patient)
    assert result.GetSegmentation().GetNthSegment(0).GetName() == "spleen"
    nifti, _ = export_label_map(result, grid, tmp_path / "result.nii.gz")
    assert read_segmentation(nifti).labels.names == ["spleen"]


def test_a_structure_asked_for_twice_is_refused_as_the_request_s_not_the_segmentation_s(mrml_scene, labels, grid):
    """Before: "segmentation 'reference labels': the structure name 'spleen' appears twice", blaming the node."""
    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    with pytest.raises(InputError, match=r"^the structures asked for name 'spleen' twice \('spleen' and 'spleen'\); ask for it once$"):
        segmentation_from_node(node, grid, ["spleen", "spleen"])


def test_a_reference_segment_reaching_outside_the_reference_volume_is_refused_not_cut(mrml_scene, labels, grid):
    """Before: a segmentation drawn over another volume, or left out of the volume's transform, was resampled
    onto the reference and lost the voxels outside it (a structure wholly outside vanished) without a word."""
    from slicer.util import vtkMatrixFromArray

    from rau.mrml.geometry import lps_to_ras

    reference = add_volume_node(grid, "reference", mrml_scene)
    node = add_segmentation_node(labels, "reference labels", mrml_scene, reference)
    target = add_volume_node(grid, "target", mrml_scene)
    assert request_from_nodes(reference, node, target).references[0].segmentation.masks["kidney"].any()
    moved = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "moved")
    shift = np.eye(4)
    shift[:3, 3] = lps_to_ras(2.0 * grid.direction[:, 0])  # 2 mm along the grid's i axis
    moved.SetMatrixTransformToParent(vtkMatrixFromArray(shift))
    reference.SetAndObserveTransformNodeID(moved.GetID())  # the volume moved 2 mm, its segmentation left behind
    with pytest.raises(InputError, match=r"segment 'kidney' of 'reference labels' reaches 2\.\d mm outside the reference volume 'reference'"):
        request_from_nodes(reference, node, target)
    node.SetAndObserveTransformNodeID(moved.GetID())  # moved together: the segments lie inside again
    assert request_from_nodes(reference, node, target).references[0].segmentation.masks["kidney"].sum() == labels.masks["kidney"].sum()


def test_a_volume_the_command_line_would_refuse_is_refused_naming_the_node_and_its_transform(mrml_scene, labels, grid):
    """Before: a NaN band ran and gave wrong masks; a sheared target ran and only its NIfTI export failed."""
    from slicer.util import arrayFromVolume, arrayFromVolumeModified, vtkMatrixFromArray

    node = add_segmentation_node(labels, "reference labels", mrml_scene)
    reference = add_volume_node(grid, "reference", mrml_scene)
    masked = add_volume_node(grid.with_array(grid.array.astype(np.float32)), "masked target", mrml_scene)
    arrayFromVolume(masked)[:, :, :4] = np.nan
    arrayFromVolumeModified(masked)
    with pytest.raises(InputError, match="volume 'masked target': image holds NaN"):
        request_from_nodes(reference, node, masked)
    sheared = add_volume_node(grid, "sheared target", mrml_scene)
    affine = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "affine registration")
    affine.SetMatrixTransformToParent(vtkMatrixFromArray(np.diag([1.5, 1.0, 0.7, 1.0]) @ np.block([[rotation((0, 0, 1), 30), np.zeros((3, 1))], [np.zeros((1, 3)), 1]])))
    sheared.SetAndObserveTransformNodeID(affine.GetID())
    with pytest.raises(InputError, match=r"volume 'sheared target' \(under the transform 'affine registration'\): direction matrix .* is not orthonormal"):
        request_from_nodes(reference, node, sheared)
    typed = add_volume_node(grid, "typed in", mrml_scene)
    shear = np.diag([0.8, 0.8, 0.8, 1.0])
    shear[0, 1] = 0.4
    typed.SetIJKToRASMatrix(vtkMatrixFromArray(shear))  # the directions as the Volumes module shows them (RAS)
    with pytest.raises(InputError, match=r"volume 'typed in': direction matrix \[\[1\.0, 0\.4472, 0\.0\], \[0\.0, 0\.8944, 0\.0\], "
                                         r"\[0\.0, 0\.0, 1\.0\]\] is not orthonormal"):  # before: in LPS, two rows negated
        request_from_nodes(reference, node, typed)


def test_a_mid_grey_segment_keeps_its_colour_and_a_vector_volume_is_refused_by_name(mrml_scene, grid):
    from slicer.util import updateVolumeFromArray

    mask = box_mask(grid, (1, 3), (1, 3), (1, 3))
    grey = Segmentation(grid.with_array(np.zeros(grid.shape, np.uint8)), LabelSet((Structure("bone", 1, (0.5, 0.5, 0.5)),)), {"bone": mask})
    node = add_segmentation_node(grey, "grey", mrml_scene)
    assert node.GetSegmentation().GetSegment("bone").GetColor() == (0.5, 0.5, 0.5)  # before: Slicer picked another colour
    vectors = mrml_scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "flow field")
    updateVolumeFromArray(vectors, np.zeros((2, 3, 4, 3), np.float32))
    with pytest.raises(GeometryError, match="volume 'flow field': expected a scalar image or 8- or 16-bit colour"):
        image_from_volume_node(vectors)


def test_a_picked_name_that_two_segments_share_or_none_has_is_refused(mrml_scene, labels, grid):
    node = add_segmentation_node(labels, "reference", mrml_scene)
    volume, target = add_volume_node(grid, "reference volume", mrml_scene), add_volume_node(grid, "target", mrml_scene)
    with pytest.raises(InputError, match="segmentation 'reference' has no segment 'lung'; it has: 'liver', 'spleen' and 'kidney'"):
        request_from_nodes(volume, node, target, ["lung"])  # before: a bare KeyError
    kidney = segment(node, "kidney")
    kidney.SetName("liver")
    with pytest.raises(InputError, match="'reference': the structure name 'liver' appears twice"):  # before: either one, by random id
        request_from_nodes(volume, node, target, ["liver"])
    kidney.SetName("LIVER")  # one name to RAUSlicer: said as the command line says it of a file
    with pytest.raises(InputError, match="'reference': structure names 'liver' and 'LIVER' are one name to RAUSlicer"):
        request_from_nodes(volume, node, target, ["Liver"])


def test_result_segments_have_the_structure_names_as_ids_so_the_same_run_writes_the_same_file(mrml_scene, labels, grid):
    target = add_volume_node(grid, "target", mrml_scene)
    node = add_result_node(result_for(grid, labels), target)
    segmentation = node.GetSegmentation()
    assert [segmentation.GetNthSegmentID(n) for n in range(3)] == ["liver", "spleen", "kidney"]  # before: random S_... ids


def test_a_closed_surface_reference_is_read_from_a_converted_copy_and_left_as_it_was(mrml_scene, grid):
    vtk = pytest.importorskip("vtk")
    node = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "model")
    segmentation = node.GetSegmentation()
    surface = slicer.vtkSegmentationConverter.GetClosedSurfaceRepresentationName()
    segmentation.SetSourceRepresentationName(surface)
    centres = {"a": (6, 5, 4), "b": (3, 2, 3)}  # voxels (i, j, k); each surface has label value 1 until converted
    for name, voxel in centres.items():
        centre = grid.index_to_world[:3] @ np.array([*voxel, 1.0])  # LPS
        sphere = vtk.vtkSphereSource()
        sphere.SetCenter(-centre[0], -centre[1], centre[2])  # RAS
        sphere.SetRadius(2.0)
        sphere.SetThetaResolution(32)
        sphere.SetPhiResolution(32)
        sphere.Update()
        ball = slicer.vtkSegment()
        ball.SetName(name)
        ball.AddRepresentation(surface, sphere.GetOutput())
        segmentation.AddSegment(ball)
    transform = mrml_scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(np.array(
        [[1, 0, 0, 0.0], [0, 1, 0, 0], [0, 0, 1, 2.5], [0, 0, 0, 1]])))  # 2.5 mm up (superior)
    node.SetAndObserveTransformNodeID(transform.GetID())
    masks = segmentation_from_node(node, grid).masks
    binary = slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName()
    assert not segmentation.ContainsRepresentation(binary)  # before: Run added a labelmap to the user's node
    for name, voxel in centres.items():
        centre = grid.index_to_world[:3] @ np.array([*voxel, 1.0])
        moved = np.linalg.inv(grid.index_to_world) @ np.array([*centre[:2], centre[2] + 2.5, 1.0])
        assert masks[name].sum() > 10, name
        assert np.allclose(np.argwhere(masks[name]).mean(axis=0), moved[2::-1], atol=0.6), name  # placed with the transform
    segmentation.CreateRepresentation(binary)  # what Run did before, in the node itself
    again = segmentation_from_node(node, grid).masks
    assert all(np.array_equal(again[name], masks[name]) for name in centres)


@pytest.mark.parametrize("values", [(1000,), (300, 2), (1000, 70000, 16777215)])
def test_label_values_above_255_keep_their_voxels(mrml_scene, grid, values):
    # the first write into the node's empty shared labelmap sets its scalar type: a uint8 mask wrapped 1000 to 232
    structures = tuple(Structure(f"s{value}", value, (0.2, 0.4, 0.6)) for value in values)
    masks = {f"s{value}": box_mask(grid, (n, n + 1), (2, 5), (2, 6)) for n, value in enumerate(values)}
    labels = Segmentation(grid.with_array(np.zeros(grid.shape, np.uint32)), LabelSet(structures), masks)
    back = segmentation_from_node(add_segmentation_node(labels, "reference", mrml_scene), grid)
    assert [back.labels.get(name).value for name in masks] == list(values)
    for name, mask in masks.items():
        assert np.array_equal(back.masks[name], mask), name
