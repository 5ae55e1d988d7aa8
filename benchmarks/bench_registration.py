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

import numpy as np
import SimpleITK as sitk

from rau.engines import EngineOptions, Request, create_engine
from rau.image import Image
from rau.references import load_reference
from figures import json_file, write_json
from shared_data import SHARED_DATA, require_shared_data

HC18 = SHARED_DATA / "hc18_fetal_head_us"
CT = SHARED_DATA / "totalseg_test_fixtures"
PAIRS = [("000", "001"), ("002", "003"), ("004", "005"), ("006", "007"), ("008", "009")]
NEEDED = ["hc18_fetal_head_us/pixel_size_and_HC.csv",
          *(f"hc18_fetal_head_us/images/{name}_HC.png" for pair in PAIRS for name in pair),
          *(f"hc18_fetal_head_us/masks/{name}_HC_mask.png" for pair in PAIRS for name in pair),
          *(f"totalseg_test_fixtures/subj{s}_ct/{name}" for s in "AB" for name in ("image.nii.gz", "labels_totalseg.nii.gz"))]
"""The files this benchmark reads in the shared data folder."""


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def hc18_reference(name: str):
    spacing = {line.split(",")[0][:-4]: float(line.split(",")[1]) for line in (HC18 / "pixel_size_and_HC.csv").read_text(encoding="utf-8").splitlines()[1:]}
    return load_reference(HC18 / f"images/{name}_HC.png", HC18 / f"masks/{name}_HC_mask.png", spacing[f"{name}_HC"])


def moved_copy(reference):
    """The reference volume rotated 5 degrees and shifted (12, -8, 6) mm: a full-coverage 3D target."""
    source = reference.image.to_sitk()
    centre = source.TransformContinuousIndexToPhysicalPoint([s / 2 for s in source.GetSize()])
    rigid = sitk.Euler3DTransform(centre, 0.0, 0.0, np.deg2rad(5), (12.0, -8.0, 6.0))
    return Image.from_sitk(sitk.Resample(source, source, rigid, sitk.sitkLinear, float(reference.image.array.min())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=json_file, help="write the figures here")
    args = parser.parse_args()
    require_shared_data(parser, NEEDED)
    engine = create_engine("registration", EngineOptions())
    loaded = [(hc18_reference(r), hc18_reference(t)) for r, t in PAIRS]
    seconds_2d = [timed(lambda: engine.run(Request([reference], target.image)))[0] for reference, target in loaded]
    a = load_reference(CT / "subjA_ct/image.nii.gz", CT / "subjA_ct/labels_totalseg.nii.gz")
    b = load_reference(CT / "subjB_ct/image.nii.gz", CT / "subjB_ct/labels_totalseg.nii.gz")
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
