"""The SAM2 feature cache keeps frames within a byte budget and one copy of the shared positional encodings."""

import torch

from rau.sam2.cache import FeatureCache


def features(value: int, positions: float = 0.5) -> dict:
    """Features shaped like one SAM2 frame's (three levels), 4 KB of features and 12 KB of encodings."""
    return {
        "vision_feats": [torch.full((256, 1, 2), float(value)), torch.full((64, 1, 4), float(value)), torch.full((16, 1, 16), float(value))],
        "vision_pos_embeds": [torch.full((256, 1, 4), positions), torch.full((64, 1, 16), positions), torch.full((16, 1, 64), positions)],
    }


FRAME, POSITIONS = 4096, 3 * 4096  # bytes


def test_frames_share_equal_positional_encodings_and_stay_within_the_budget():
    cache = FeatureCache(POSITIONS + 3 * FRAME)
    for frame in range(5):
        cache.cache_vision_features(frame, features(frame))
    assert list(cache._features) == [2, 3, 4] and cache.nbytes == POSITIONS + 3 * FRAME
    shared = cache.get_vision_features(2)["vision_pos_embeds"]
    assert all(cache.get_vision_features(f)["vision_pos_embeds"] is shared for f in (3, 4))
    assert torch.equal(cache.get_vision_features(3)["vision_feats"][0], torch.full((256, 1, 2), 3.0))
    assert cache.encoded == 5


def test_least_recently_used_frames_go_first_and_different_encodings_count_in_full():
    cache = FeatureCache(POSITIONS + 3 * FRAME)
    for frame in range(3):
        cache.cache_vision_features(frame, features(frame))
    cache.get_vision_features(0)  # frame 0 is now the most recently used
    cache.cache_vision_features(3, features(3))
    assert list(cache._features) == [2, 0, 3]
    cache.cache_vision_features(4, features(4, positions=0.25))  # its own encodings: 4 frames' worth more
    assert list(cache._features) == [4] and cache.nbytes == POSITIONS + FRAME + POSITIONS


def test_a_zero_budget_keeps_the_last_frame():
    cache = FeatureCache(0)
    for frame in range(3):
        cache.cache_vision_features(frame, features(frame))
    assert list(cache._features) == [2] and cache.get_vision_features(1) is None
