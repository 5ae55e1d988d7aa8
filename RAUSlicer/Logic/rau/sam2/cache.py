"""A memory-bounded cache of SAM2 image features shared by every structure of a session."""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_BUDGET = 1 << 30  # bytes of cached features: 1 GiB


class FeatureCache:
    """Frame index -> vision features; least recently used frames dropped first once they pass ``budget`` bytes.

    The number of frames kept follows from the budget and the frame size: one frame's features are
    about 16 MB at 1024 px in float32 (32, 64 and 256 channels at 1/4, 1/8 and 1/16 of the frame), so
    the default 1 GiB keeps about 64 frames at 1024 px and every slice of a typical CT at 256 px or less.
    The most recent frame always stays, so a budget of 0 keeps one frame. The positional encodings
    depend only on the feature-map shapes: frames whose encodings are equal share one copy, counted once
    (at 1024 px it is larger than a frame's features, about 88 MB).

    Has the interface of transformers' ``Sam2VideoInferenceCache`` so one instance can be shared by
    several inference sessions. ``encoded`` counts the frames the image encoder had to run on.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = max(0, int(budget))
        self.encoded = 0
        self.nbytes = 0
        self._features: OrderedDict[int, dict] = OrderedDict()
        self._sizes: dict[int, int] = {}
        self._positions: list | None = None

    def cache_vision_features(self, frame_idx: int, features: dict) -> None:
        self.encoded += 1
        features = dict(features, vision_pos_embeds=self._shared(features["vision_pos_embeds"]))
        if frame_idx in self._features:
            self._drop(frame_idx)
        self._features[frame_idx] = features
        self._sizes[frame_idx] = _bytes(features["vision_feats"])
        if features["vision_pos_embeds"] is not self._positions:
            self._sizes[frame_idx] += _bytes(features["vision_pos_embeds"])
        self.nbytes += self._sizes[frame_idx]
        while self.nbytes > self.budget and len(self._features) > 1:
            self._drop(next(iter(self._features)))

    def get_vision_features(self, frame_idx: int) -> dict | None:
        features = self._features.get(frame_idx)
        if features is not None:
            self._features.move_to_end(frame_idx)
        return features

    def clear_all(self) -> None:
        self._features.clear()
        self._sizes.clear()
        self._positions, self.nbytes = None, 0

    def _shared(self, positions: list) -> list:
        """The one stored copy when ``positions`` equal it (the first frame's encodings become that copy)."""
        import torch

        if self._positions is None:
            self._positions = positions
            self.nbytes += _bytes(positions)
        stored = self._positions
        same = len(stored) == len(positions) and all(
            a.shape == b.shape and a.dtype == b.dtype and a.device == b.device and torch.equal(a, b) for a, b in zip(stored, positions)
        )
        return stored if same else positions

    def _drop(self, frame_idx: int) -> None:
        del self._features[frame_idx]
        self.nbytes -= self._sizes.pop(frame_idx)


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)
