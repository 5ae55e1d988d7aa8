"""Registration engine timings on real data (CPU). Run: python benchmarks/bench_registration.py --json OUT

Measures, in one run on this machine:
* ``seconds_2d_pair``: median over 5 HC18 ultrasound pairs, registration + label transfer;
* ``seconds_3d_ct_slab``: TotalSegmentator CT A -> CT B (a 40 mm slab: affine, no deformable stage), whole engine;
* ``seconds_3d_ct_deformable``: CT A -> a rotated, shifted full copy of itself (affine + displacement field), whole engine;
* ``seconds_register_only_*``: the registration part of the two 3D runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.engines import EngineOptions, Request, create_engine
from rau.image import Image
from rau.references import load_reference
from figures import json_file, write_json

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HC18 = DATA / "hc18_fetal_head_us"


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def hc18_reference(name: str):
    spacing = {line.split(",")[0][:-4]: float(line.split(",")[1]) for line in (HC18 / "pixel_size_and_HC.csv").read_text().splitlines()[1:]}
    return load_reference(HC18 / f"images/{name}_HC.png", HC18 / f"masks/{name}_HC_mask.png", spacing[f"{name}_HC"])


def moved_copy(reference):
    """The reference volume rotated 5 degrees and shifted (12, -8, 6) mm: a full-coverage 3D target."""
    source = reference.image.to_sitk()
    centre = source.TransformContinuousIndexToPhysicalPoint([s / 2 for s in source.GetSize()])
    rigid = sitk.Euler3DTransform(centre, 0.0, 0.0, np.deg2rad(5), (12.0, -8.0, 6.0))
    return Image.from_sitk(sitk.Resample(source, source, rigid, sitk.sitkLinear, float(reference.image.array.min())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=json_file, help="write the figures here")
    args = parser.parse_args()
    engine = create_engine("registration", EngineOptions())
    pairs = [("000", "001"), ("002", "003"), ("004", "005"), ("006", "007"), ("008", "009")]
    loaded = [(hc18_reference(r), hc18_reference(t)) for r, t in pairs]
    seconds_2d = [timed(lambda: engine.run(Request([reference], target.image)))[0] for reference, target in loaded]
    ct = DATA / "totalseg_test_fixtures"
    a = load_reference(ct / "subjA_ct/image.nii.gz", ct / "subjA_ct/labels_totalseg.nii.gz")
    b = load_reference(ct / "subjB_ct/image.nii.gz", ct / "subjB_ct/labels_totalseg.nii.gz")
    slab_seconds, slab = timed(lambda: engine.run(Request([a], b.image)))
    full_seconds, full = timed(lambda: engine.run(Request([a], moved_copy(a))))
    figures = {
        "seconds_2d_pair": round(statistics.median(seconds_2d), 3),
        "seconds_3d_ct_slab": round(slab_seconds, 2),
        "seconds_3d_ct_deformable": round(full_seconds, 2),
        "seconds_register_only_ct_slab": slab.details["ranking"][0]["seconds"],
        "seconds_register_only_ct_deformable": full.details["ranking"][0]["seconds"],
        "structures_ct": len(slab.structures),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
