"""A bounded cache of SAM2 image features shared by every structure of a session."""

from __future__ import annotations

from collections import OrderedDict


class FeatureCache:
    """Frame index -> vision features; least recently used dropped first, ``pinned`` frames kept.

    Has the interface of transformers' ``Sam2VideoInferenceCache`` so one instance can be shared by
    several inference sessions. ``encoded`` counts the frames the image encoder had to run on.
    """

    def __init__(self, capacity: int, pinned=()):
        self.capacity = max(1, int(capacity))
        self.pinned = set(pinned)
        self.encoded = 0
        self._features: OrderedDict[int, dict] = OrderedDict()

    def cache_vision_features(self, frame_idx: int, features: dict) -> None:
        self.encoded += 1
        self._features[frame_idx] = features
        self._features.move_to_end(frame_idx)
        unpinned = [f for f in self._features if f not in self.pinned]
        for frame in unpinned[: max(0, len(unpinned) - self.capacity)]:
            del self._features[frame]

    def get_vision_features(self, frame_idx: int) -> dict | None:
        features = self._features.get(frame_idx)
        if features is not None:
            self._features.move_to_end(frame_idx)
        return features

    def clear_all(self) -> None:
        self._features.clear()
