"""Putting structures into a .seg.nrrd's layers: slicerio.add_segment per structure (what write_seg_nrrd did) against
rau.io.segment_layers.add_segment (what it does), on the same random balls.

Run: PYTHONPATH=RAUSlicer/Logic python benchmarks/bench_seg_nrrd_writer.py [--structures 100] [--size 256] [--aal]

Each structure is a ball (radius 4 to 30 voxels, so ``--size`` is 61 to 512, some overlapping: several layers) on a size^3 uint16 grid, made
before its timed call. Prints each path's seconds, their ratio, the layer count, and whether the two gave the same
voxels and segments (they must). ``--aal`` instead times ``write_seg_nrrd`` writing the AAL atlas (116 regions) on
Colin27's 0.5 mm brain (``colin27_mni_atlases`` of the shared data: ``aal.nii.gz`` moved onto ``ch2better.nii.gz``'s
grid by nearest neighbour in physical space; 35 M voxels).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import slicerio

from rau.io.segment_layers import add_segment
from rau.validation import argument, positive_integer, whole_number
from make_brain_mr_sets import aal_names
from shared_data import require_shared_data

ATLAS = "colin27_mni_atlases"
AAL_FILES = [f"{ATLAS}/{name}" for name in ("aal.nii.gz", "aal.nii.txt", "ch2better.nii.gz")]
"""The files ``--aal`` reads in the shared data folder."""
RADII = (4, 30)
"""The balls' smallest and largest radius in voxels."""
MAX_SIZE = 512
"""The largest ``--size``: each ball is drawn on a size^3 grid (512^3: 128 MiB)."""


def ball(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ball on a size^3 (i, j, k) grid, drawn within its own box."""
    radius = int(rng.integers(RADII[0], RADII[1] + 1))
    centre = rng.integers(radius, size - radius, 3)
    mask = np.zeros((size,) * 3, bool)
    low = centre - radius
    offsets = np.indices((2 * radius + 1,) * 3) - radius
    mask[tuple(slice(a, a + 2 * radius + 1) for a in low)] = (offsets**2).sum(axis=0) <= radius**2
    return mask


def placed(add, structures: int, size: int) -> tuple[dict, float]:
    """The segmentation ``add`` fills with the benchmark's balls, and the seconds its calls took."""
    rng = np.random.default_rng(0)
    data = slicerio.create_segmentation((size,) * 3, np.eye(4), dtype="uint16")
    seconds = 0.0
    for index in range(structures):
        mask = ball(size, rng)
        started = time.perf_counter()
        add(data, mask, {"id": f"Segment_{index + 1}", "name": f"s{index + 1}"})
        seconds += time.perf_counter() - started
    return data, seconds


def aal_seconds(data: Path) -> tuple[int, tuple[int, ...], float]:
    """(structures, grid shape, seconds of ``write_seg_nrrd``) for the AAL atlas on Colin27's 0.5 mm brain."""
    from rau.io import read_image
    from rau.io.segmentations import read_segmentation, resample_segmentation, write_seg_nrrd
    from rau.labels import LabelSet

    names = aal_names(data / ATLAS)
    brain = read_image(data / ATLAS / "ch2better.nii.gz")
    atlas = resample_segmentation(read_segmentation(data / ATLAS / "aal.nii.gz", label_table=LabelSet.from_values(names, names)), brain)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_seg_nrrd(atlas, Path(folder) / "aal.seg.nrrd")
        return len(atlas.labels), brain.shape, time.perf_counter() - started


def grid_size(value, option: str) -> int:
    """``value`` as a grid size that holds the largest ball (``2 * RADII[1] + 1``) and is at most :data:`MAX_SIZE`."""
    return whole_number(value, option, minimum=2 * RADII[1] + 1, maximum=MAX_SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structures", type=argument(positive_integer, "--structures"), default=100, help="balls to place (default: %(default)s)")
    parser.add_argument("--size", type=argument(grid_size, "--size"), default=256, help="the grid's side in voxels (default: %(default)s)")
    parser.add_argument("--aal", action="store_true", help="time writing the AAL atlas on Colin27's 0.5 mm brain instead (shared data)")
    args = parser.parse_args()
    if args.aal:
        structures, shape, seconds = aal_seconds(require_shared_data(parser, AAL_FILES))
        print(f"AAL atlas: {structures} structures on Colin27's {'x'.join(map(str, shape))} grid; write_seg_nrrd: {seconds:.2f} s")
        return
    theirs, old = placed(slicerio.add_segment, args.structures, args.size)
    ours, new = placed(add_segment, args.structures, args.size)
    same = np.array_equal(ours["voxels"], theirs["voxels"]) and ours["segments"] == theirs["segments"]
    layers = ours["voxels"].shape[0] if ours["voxels"].ndim == 4 else 1
    print(f"{args.structures} structures on a {args.size}^3 grid, {layers} layer(s)")
    print(f"slicerio.add_segment: {old:.2f} s; rau add_segment: {new:.2f} s; {old / new:.1f}x faster; same result: {same}")


if __name__ == "__main__":
    main()
