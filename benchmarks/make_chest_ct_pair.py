"""A development pair from slicerio's chest CT (the only chest CT that ships): the CT as reference,
a deformed, re-contrasted copy as target. Run: python benchmarks/make_chest_ct_pair.py OUT_DIR

The target is the reference warped by a smooth random deformation (cubic B-spline on a 4 x 4 x 4
mesh, displacements N(0, 6 mm), seed 7) after a 6-degree rotation about z through the centre and a
(10, -5, 0) mm shift, with intensities changed as another scanner/protocol might (0.9 x HU + 40,
Gaussian noise of 20 HU, seed 7). The labels go through the same deformation (nearest neighbour).
Writes ``reference.nrrd``, ``reference_labels.nii.gz``, ``target.nrrd``, ``target_labels.nii.gz`` (label
tables beside them) and ``manifest.csv`` for bench_accuracy.py / rau evaluate.
"""

from __future__ import annotations

import argparse

import numpy as np
import SimpleITK as sitk

from rau.image import Image
from rau.io.images import write_image
from rau.io.segmentations import write_label_map
from figures import add_out_argument
from synthetic import centre, deformation, rescanned_ct, slicerio_chest_ct

SEED = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    reference, labels = slicerio_chest_ct()
    source = sitk.Cast(reference.to_sitk(), sitk.sitkFloat32)
    rigid = sitk.Euler3DTransform(centre(source), 0.0, 0.0, np.deg2rad(6.0), (10.0, -5.0, 0.0))
    transform = deformation(source, rigid, [4, 4, 4], 6.0, np.random.default_rng(SEED))
    moved = sitk.Resample(source, source, transform, sitk.sitkLinear, -1024.0)
    changed = rescanned_ct(sitk.GetArrayFromImage(moved), np.random.default_rng(SEED))
    target = Image.from_sitk(moved).with_array(changed.astype(np.int16))
    moved_labels = Image.from_sitk(sitk.Resample(labels.to_label_map().to_sitk(), source, transform, sitk.sitkNearestNeighbor, 0))
    write_image(reference, out / "reference.nrrd", overwrite=True)
    write_label_map(labels, out / "reference_labels.nii.gz", overwrite=True)
    write_image(target, out / "target.nrrd", overwrite=True)
    write_label_map(type(labels).from_label_map(moved_labels, labels.labels), out / "target_labels.nii.gz", overwrite=True)
    (out / "manifest.csv").write_text("reference_image,reference_labels,target_image,target_labels\nreference.nrrd,reference_labels.nii.gz,target.nrrd,target_labels.nii.gz\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
