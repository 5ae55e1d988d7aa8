"""One inside and one outside click in one weight-free correction: mean Dice before and after, in both orders.

Run: PYTHONPATH=RAUSlicer/Logic python benchmarks/bench_mixed_clicks.py [--json OUT]

Cases: every structure of 2000 voxels or more of the TotalSegmentator fixtures (CT A, CT B, MR C), and the first 20
HC18 heads, each shifted two ways (a misplaced answer, as a registration may give). Per case the inside click lies at
the deepest voxel of the missed part, the outside click at the deepest voxel of the wrong part, both given in one
correction (:func:`rau.correction.grow.correct_mask`), inside first and outside first. Prints, per group, the mean Dice
before and after and whether the two orders gave the same masks.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage

from correction_cases import needed_files, structures
from figures import json_file, write_json
from shared_data import require_shared_data
from rau.correction.grow import Seeds, correct_mask
from rau.fusion import dice

SHIFTS = {"volumes": ((1, 4, 4), (0, -5, 3)), "HC18": ((0, 25, 15), (0, -30, 20))}


def deepest(mask: np.ndarray) -> tuple[int, int, int]:
    """The voxel of ``mask`` farthest from its edge (the first such in array order)."""
    depth = ndimage.distance_transform_edt(mask)
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(depth)), mask.shape))


def cases():
    """(group, name, image, truth mask, shift) for every case."""
    for group, name, image, truth in structures():
        for shift in SHIFTS[group]:
            yield group, f"{name}:{shift}", image, truth, shift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_file, help="write the per-case rows here")
    args = parser.parse_args()
    require_shared_data(parser, needed_files())
    rows = []
    for group, name, image, truth, shift in cases():
        answer = np.roll(truth, shift, axis=(0, 1, 2))
        missed, wrong = truth & ~answer, answer & ~truth
        if missed.sum() < 20 or wrong.sum() < 20:
            continue
        inside, outside = deepest(missed), deepest(wrong)
        first = Seeds([inside, outside], [1, 0])
        second = Seeds([outside, inside], [0, 1])
        corrected = correct_mask(image, answer, first, first)
        same = bool(np.array_equal(corrected, correct_mask(image, answer, second, second)))
        rows.append({"group": group, "case": name, "before": dice(answer, truth), "after": dice(corrected, truth), "same_in_both_orders": same})
    for group in ("volumes", "HC18"):
        chosen = [row for row in rows if row["group"] == group]
        print(f"{group}: {len(chosen)} cases, mean Dice before {np.mean([r['before'] for r in chosen]):.4f}, after "
              f"{np.mean([r['after'] for r in chosen]):.4f}; both orders alike in {sum(r['same_in_both_orders'] for r in chosen)}")
    if args.json:
        write_json(args.json, rows, indent=1)


if __name__ == "__main__":
    main()
