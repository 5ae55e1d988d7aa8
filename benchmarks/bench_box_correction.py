"""A box around a structure the engine missed: mean Dice of the weight-free correction against filling the box.

Run: PYTHONPATH=RAUSlicer/Logic python benchmarks/bench_box_correction.py [--json OUT]

Cases (:mod:`correction_cases`, every group): the structures of 2000 voxels or more of the TotalSegmentator
fixtures (CT A, CT B, MR C), the first 20 HC18 heads, the named segments of the first 20 ARCADE angiograms and the 7
segments of slicerio's chest CT, each missed (an empty mask) and corrected by one box
(:func:`rau.correction.grow.correct_mask`): a tight box (the truth's bounding box, as a localizer gives it) and a
loose one (LOOSE of its size wider on every side, within the image; a 2D image keeps its one slice); in a volume
also a box one slice thick, the structure's on its largest slice along k (a box drawn on a slice view), scored on
that slice. Plain baselines in the same run: the box filled, and the ellipse (ellipsoid) inscribed in it. Prints, per
group and box, the mean Dice of each and the median seconds of a correction.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from correction_cases import GROUPS, needed_files, structures
from figures import json_file, write_json
from shared_data import require_shared_data
from rau.boxes import Box
from rau.correction.grow import Seeds, correct_mask
from rau.fusion import dice

LOOSE = 0.15


def loose_box(box: Box, shape, planar: bool) -> Box:
    """``box`` LOOSE of its size wider on every side (at least one voxel), within ``shape`` ((k, j, i))."""
    margins = [max(1, round(LOOSE * (u - l))) for l, u in zip(box.lower, box.upper)]
    if planar:
        margins[2] = 0
    lower = tuple(max(l - m, 0) for l, m in zip(box.lower, margins))
    upper = tuple(min(u + m, n) for u, m, n in zip(box.upper, margins, shape[::-1]))
    return Box(lower, upper)


def slice_box(truth: np.ndarray) -> tuple[Box, int]:
    """The tight box of ``truth`` ((k, j, i)) on its largest slice along k, one slice thick, and that slice."""
    k = int(np.argmax(truth.sum(axis=(1, 2))))
    on_slice = Box.from_mask(truth[k : k + 1])
    return Box((*on_slice.lower[:2], k), (*on_slice.upper[:2], k + 1)), k


def inscribed(box: Box, shape, planar: bool) -> np.ndarray:
    """The ellipse (a 2D image) or ellipsoid inscribed in ``box``, as a (k, j, i) mask of ``shape``."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    axes = [1, 2] if planar else [0, 1, 2]
    lower, upper = box.lower[::-1], box.upper[::-1]
    inside = sum(((grids[a] + 0.5 - (lower[a] + upper[a]) / 2) / ((upper[a] - lower[a]) / 2)) ** 2 for a in axes) <= 1
    return inside & box.mask(shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_file, help="write the per-case rows here")
    args = parser.parse_args()
    require_shared_data(parser, needed_files(GROUPS))
    rows = []
    for group, name, image, truth in structures(GROUPS):
        planar = image.ndim == 2
        tight = Box.from_mask(truth)
        boxes = [("tight", tight, slice(None)), ("loose", loose_box(tight, truth.shape, planar), slice(None))]
        if not planar:
            flat, k = slice_box(truth)
            boxes.append(("slice", flat, slice(k, k + 1)))
        for kind, box, scored in boxes:
            started = time.perf_counter()
            corrected = correct_mask(image, np.zeros_like(truth), Seeds([], []), Seeds([], []), box)
            seconds = time.perf_counter() - started
            rows.append({"group": group, "case": name, "box": kind, "corrected": dice(corrected[scored], truth[scored]),
                         "box_filled": dice(box.mask(truth.shape)[scored], truth[scored]),
                         "inscribed": dice(inscribed(box, truth.shape, planar or kind == "slice")[scored], truth[scored]), "seconds": seconds})
    for group in GROUPS:
        for kind in ("tight", "loose", "slice"):
            chosen = [row for row in rows if row["group"] == group and row["box"] == kind]
            if not chosen:
                continue
            means = {key: np.mean([row[key] for row in chosen]) for key in ("corrected", "box_filled", "inscribed")}
            print(f"{group}, {kind} box: {len(chosen)} cases, mean Dice corrected {means['corrected']:.4f}, box filled "
                  f"{means['box_filled']:.4f}, inscribed {means['inscribed']:.4f}; "
                  f"median {statistics.median(row['seconds'] for row in chosen):.3f} s")
    if args.json:
        write_json(args.json, rows, indent=1)


if __name__ == "__main__":
    main()
