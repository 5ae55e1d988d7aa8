"""The vessels engine's answer for a segment it traced but could not draw: not found, confidence 0 and the real reason."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rau.engines.vessels import fuse
from rau.labels import LabelSet, Structure
from rau.vessels.grid import WorkingGrid
from rau.vessels.naming import Naming


def test_a_traced_segment_without_a_pixel_in_the_answer_is_not_found_with_confidence_0_and_says_why():
    """Before, such a segment kept the confidence of its path (1.0, over the 0.5 a not-found one stays under) and was said
    to have "no support along the target's vessels", though its path ran on them all along. On a 40 x 40 working grid
    drawn back on a 5 x 5 picture (sampled at rows and columns 4, 12, 20, 28, 36): S1 lies between the samples;
    S2's path lies under S3's, painted after it."""
    vessels = np.zeros((40, 40), bool)
    vessels[8, 6:11] = vessels[20, :] = True
    paths = {1: np.array([[8, c] for c in range(7, 10)]), 2: np.array([[20, c] for c in range(10, 20)]),
             3: np.array([[20, c] for c in range(40)])}
    naming = Naming(paths, {value: 1.0 for value in paths}, np.zeros((40, 40), np.int32))
    chosen = [SimpleNamespace(reference=SimpleNamespace(name="reference"), alignment=SimpleNamespace(score=0.5), naming=naming)]
    structures = LabelSet(tuple(Structure(f"S{value}", value) for value in paths))
    results, centrelines = fuse(chosen, structures, {f"S{value}": value for value in paths}, vessels, "vessels",
                                WorkingGrid((5, 5), (40, 40)), top_k=1, lacking={})
    thin, under, kept = results
    assert not thin.found and thin.confidence == 0.0
    assert thin.message == "its traced pieces vanish when drawn back on the target's grid (5 x 5 pixels, traced at 40 x 40)"
    assert not under.found and under.confidence == 0.0
    assert under.message == "its traced path lies under other segments, which name those vessel pixels"
    assert kept.found and kept.confidence == 1.0 and kept.message == "" and list(centrelines) == [3]  # a not-found segment has no centreline
