"""The panel's segment lists follow their segmentation nodes (``RAUSlicerLib.segment_lists``), on ``slicer-core``'s real MRML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "RAUSlicer"))  # RAUSlicerLib, as Slicer puts it on the path

from RAUSlicerLib.segment_lists import FollowedSegments, is_unchecked, segments_of, still_unchecked  # noqa: E402


def add_segment(node, name: str, segment_id: str) -> None:
    segment = slicer.vtkSegment()
    segment.SetName(name)
    node.GetSegmentation().AddSegment(segment, segment_id)


def test_a_followed_node_reports_segments_added_renamed_and_removed_and_an_unfollowed_one_does_not(mrml_scene):
    reference = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "reference")
    other = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "other")
    add_segment(reference, "liver", "a")
    seen = []
    followed = FollowedSegments(seen.append)
    followed.follow(reference)
    add_segment(reference, "spleen", "b")
    reference.GetSegmentation().GetSegment("a").SetName("left liver")
    reference.GetSegmentation().RemoveSegment("b")
    assert seen == [[("a", "liver")], [("a", "liver"), ("b", "spleen")], [("a", "left liver"), ("b", "spleen")], [("a", "left liver")]]  # a renamed segment keeps its id
    followed.follow(other)
    add_segment(reference, "kidney", "c")  # no longer followed
    add_segment(other, "heart", "d")
    assert seen[-2:] == [[], [("d", "heart")]]
    followed.follow(None)
    assert seen[-1] == [] and segments_of(other) == [("d", "heart")]


def test_a_structure_unchecked_in_one_reference_stays_unchecked_after_another_reference_was_shown():
    """Before, the saved list was replaced by the names unchecked in the list shown: "spleen", unchecked in
    reference A, came back checked after the user unchecked "kidney" in reference B (the README says it stays)."""
    saved = still_unchecked([], ["liver", "spleen"], ["spleen"])  # reference A
    saved = still_unchecked(saved, ["liver", "kidney"], ["kidney"])  # reference B
    assert saved == ["spleen", "kidney"]
    assert still_unchecked(saved, ["liver", "spleen"], []) == ["kidney"]  # back in A, spleen ticked again


def test_unticked_structures_are_matched_as_names_are_everywhere():
    """Before: matched by exact text, so a reference whose segment reads "Fetal Head" ticked the saved "fetal head"
    again, and ticking the list dropped it from the saved names as one no longer shown."""
    assert is_unchecked("Fetal Head", ["fetal head"]) and is_unchecked("fetal-head", ["Fetal Head"])
    assert not is_unchecked("fetal abdomen", ["fetal head"])
    assert still_unchecked(["fetal head", "kidney"], ["Fetal Head", "liver"], ["Fetal Head"]) == ["kidney", "Fetal Head"]
