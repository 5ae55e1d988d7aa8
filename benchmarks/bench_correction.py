"""Cost of one weight-free correction vs the engine's first run, in one run on this machine (CPU).

Run: python benchmarks/bench_correction.py --json OUT

* 2D: an ARCADE angiogram pair (512 x 512): the registration engine's first run, then 5 simulated
  clicks (each at the centre of the largest error, :mod:`rau.evaluation.clicks`), median per click.
* 3D: TotalSegmentator CT A resampled to 256^3 as reference, a rotated and shifted copy as target:
  the registration engine's first run, then 5 simulated clicks on the liver, median per click.

Goal (issue 11): a correction costs <= 0.1 x the first run, and < 1 s in 2D.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import SimpleITK as sitk

from rau.engines import Reference, Request, create_engine
from rau.engines.base import Prompt
from rau.evaluation.clicks import next_click
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import load_case
from rau.image import Image
from rau.labels import Segmentation
from rau.references import load_reference
from figures import json_file, write_json
from shared_data import SHARED_DATA, TOTALSEG_LABEL_TABLE, require_shared_data

NEEDED = ["arcade_syntax_dev/manifest.csv", "totalseg_test_fixtures/subjA_ct/image.nii.gz", "totalseg_test_fixtures/subjA_ct/labels_totalseg.nii.gz"]
"""The files this benchmark reads in the shared data folder (and the first case the manifest names)."""
CLICKS = 5


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def click_seconds(result, name: str, truth: np.ndarray) -> list[float]:
    """Seconds of each of CLICKS simulated corrections of ``name`` (the click placement is not timed)."""
    seconds = []
    for _ in range(CLICKS):
        item = result.session.results[name]
        click = next_click(item.mask if item.found else np.zeros(truth.shape, bool), truth, result.target)
        if click is None:
            break
        spent, _ = timed(lambda: result.session.reprompt(name, Prompt(points=[click[0]], labels=[click[1]])))
        seconds.append(spent)
    return seconds


def bench_2d(engine) -> dict:
    case = read_manifest(SHARED_DATA / "arcade_syntax_dev" / "manifest.csv")[0]
    references, target, truth = load_case(case)
    first, result = timed(lambda: engine.run(Request(references, target, case.structures)))
    name = next(item.structure.name for item in result.structures if item.found)
    seconds = click_seconds(result, name, truth.masks[name])
    return {"shape": list(target.shape), "first_run_s": round(first, 3), "correction_s": round(statistics.median(seconds), 4), "clicks": len(seconds)}


def grid_256(image: Image) -> sitk.Image:
    """A 256^3 grid over the image's extent."""
    source = image.to_sitk()
    extent = [n * s for n, s in zip(source.GetSize(), source.GetSpacing())]
    reference = sitk.Image([256, 256, 256], sitk.sitkUInt8)
    reference.SetSpacing([e / 256 for e in extent])
    reference.SetOrigin(source.GetOrigin())
    reference.SetDirection(source.GetDirection())
    return reference


def resampled(reference: Reference, grid: sitk.Image, transform: sitk.Transform) -> tuple[Image, dict]:
    image = sitk.Resample(reference.image.to_sitk(), grid, transform, sitk.sitkLinear, float(reference.image.array.min()), sitk.sitkFloat32)
    masks = {}
    for name, mask in reference.segmentation.masks.items():
        labels = reference.image.with_array(mask.astype(np.uint8)).to_sitk()
        masks[name] = sitk.GetArrayFromImage(sitk.Resample(labels, grid, transform, sitk.sitkNearestNeighbor, 0)) > 0
    return Image.from_sitk(image), masks


def bench_3d(engine) -> dict:
    ct = SHARED_DATA / "totalseg_test_fixtures" / "subjA_ct"
    a = load_reference(ct / "image.nii.gz", ct / "labels_totalseg.nii.gz", label_table=TOTALSEG_LABEL_TABLE)  # the largest: liver
    grid = grid_256(a.image)
    image, masks = resampled(a, grid, sitk.Transform())
    reference = Reference(image, Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), a.segmentation.labels, masks), "CT A 256^3")
    centre = grid.TransformContinuousIndexToPhysicalPoint([128.0, 128.0, 128.0])
    moved = sitk.Euler3DTransform(centre, 0.0, 0.0, np.deg2rad(5), (6.0, -4.0, 3.0))
    target, truth = resampled(a, grid, moved)
    name = max(truth, key=lambda n: truth[n].sum())
    first, result = timed(lambda: engine.run(Request([reference], target, [name])))
    seconds = click_seconds(result, name, truth[name])
    return {"shape": list(target.shape), "structure": name, "first_run_s": round(first, 2), "correction_s": round(statistics.median(seconds), 4), "clicks": len(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=json_file, help="write the figures here")
    args = parser.parse_args()
    require_shared_data(parser, NEEDED)
    engine = create_engine("registration", {})
    figures = {"2d": bench_2d(engine), "3d": bench_3d(engine)}
    for numbers in figures.values():
        numbers["ratio"] = round(numbers["correction_s"] / numbers["first_run_s"], 4)
    print(json.dumps(figures, indent=2))
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
