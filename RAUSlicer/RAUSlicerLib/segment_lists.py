"""The panel's lists of segments (the reference's structures, the result's segment picker), kept in step
with their segmentation nodes.

A segmentation node sends ``vtkSegmentation.SegmentAdded``, ``SegmentRemoved`` and ``SegmentModified``
(a rename, a colour) for its segments, never ``ModifiedEvent``, so those are what is observed.
"""

import slicer
from slicer.util import VTKObservationMixin

SEGMENT_EVENTS = ("SegmentAdded", "SegmentRemoved", "SegmentModified")


def segments_of(node) -> list:
    """``(segment id, name)`` of each of ``node``'s segments in their order ([] for no node). A result's segment
    ids are its structures' names and survive a rename."""
    if node is None:
        return []
    segmentation = node.GetSegmentation()
    return [(segmentation.GetNthSegmentID(index), segmentation.GetNthSegment(index).GetName())
            for index in range(segmentation.GetNumberOfSegments())]


def is_unchecked(name: str, unchecked: list) -> bool:
    """Whether the listed structure ``name`` is one of the ``unchecked`` names, matched as names are everywhere
    (``rau.labels.normalize_name``: case, spaces and punctuation aside)."""
    from rau.labels import name_keys, normalize_name  # the panel's set-up made the bundled rau importable

    return normalize_name(name) in set(name_keys(list(unchecked)) or [])


def still_unchecked(saved: list, shown: list, unchecked: list) -> list:
    """The structure names to keep unchecked once the user ticked the list ``shown`` (leaving ``unchecked``): the
    ``saved`` names not shown now (another reference's structures, a segment removed for now) stay unchecked."""
    return [name for name in saved if not is_unchecked(name, shown)] + list(unchecked)


class FollowedSegments(VTKObservationMixin):
    """Calls ``callback(segments)`` with the followed node's :func:`segments_of` at once and whenever they change."""

    def __init__(self, callback):
        VTKObservationMixin.__init__(self)
        self.node = None
        self._callback = callback

    def follow(self, node) -> None:
        """Follow ``node`` (a segmentation node, or None for nothing) instead of the node followed so far."""
        events = [getattr(slicer.vtkSegmentation, name) for name in SEGMENT_EVENTS]
        for event in events if self.node is not None else ():
            self.removeObserver(self.node, event, self._changed)
        for event in events if node is not None else ():
            self.addObserver(node, event, self._changed)
        self.node = node
        self._changed()

    def _changed(self, *_):
        self._callback(segments_of(self.node))
