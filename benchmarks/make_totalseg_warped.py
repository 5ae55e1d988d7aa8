"""3D CT/MR sets onto TotalSegmentator subject A: A under three random deformations, and two other
subjects onto A. Run: python benchmarks/make_totalseg_warped.py OUT_DIR [--data SHARED_DATA]
(default $RAU_SHARED_DATA, else ../shared/data beside the repository; the subjects are ``totalseg_test_fixtures/subj*``).

``a_warp.csv``: A's CT as reference, and as targets three copies of it (seeds 1, 2, 3), each warped by
a rotation about z of U(-6, 6) degrees through the centre and a shift of U(-8, 8) mm per axis, then a
cubic B-spline on a 3 x 3 x 2 mesh with displacements N(0, 5 mm), with intensities 0.9 x HU + 40 plus
Gaussian noise of 20 HU (same seed); the labels go through the same deformation (nearest neighbour).
Writes ``A_warpN.nii.gz`` and ``A_warpN_labels.nii.gz`` (TotalSegmentator ids).

``onto_a.csv``: the unchanged subject A as target, with C's MR (its labels renumbered to the CT ids:
protocols/totalseg_mr_labels.nii.gz) and B's CT as references, one row each.

Label names for both: protocols/totalseg_total.labels.csv. The manifests name the files written here
relative to themselves, and the shared data and protocol files by absolute path.
"""

from __future__ import annotations

import argparse

import numpy as np
import SimpleITK as sitk

from rau.evaluation.manifest import write_manifest
from rau.image import Image
from rau.io import read_image
from rau.io.images import write_image
from figures import add_out_argument
from shared_data import PROTOCOLS, TOTALSEG_LABEL_TABLE, add_data_argument, check_data
from synthetic import centre, deformation, rescanned_ct

SEEDS = (1, 2, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    add_data_argument(parser)
    arguments = parser.parse_args()
    check_data(parser, arguments.data, [f"totalseg_test_fixtures/{name}" for name in ("subjA_ct/image.nii.gz", "subjA_ct/labels_totalseg.nii.gz",
                                                                                        "subjB_ct/image.nii.gz", "subjB_ct/labels_totalseg.nii.gz", "subjC_mr/image.nii.gz")])
    out, fixtures = arguments.out, (arguments.data / "totalseg_test_fixtures").resolve()
    out.mkdir(parents=True, exist_ok=True)
    a_image, a_labels = fixtures / "subjA_ct" / "image.nii.gz", fixtures / "subjA_ct" / "labels_totalseg.nii.gz"
    table = TOTALSEG_LABEL_TABLE
    source = sitk.Cast(read_image(a_image).to_sitk(), sitk.sitkFloat32)
    labels = sitk.ReadImage(str(a_labels))
    rows = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        rigid = sitk.Euler3DTransform(centre(source), 0.0, 0.0, np.deg2rad(rng.uniform(-6, 6)), tuple(rng.uniform(-8, 8, 3)))
        transform = deformation(source, rigid, [3, 3, 2], 5.0, rng)
        moved = sitk.Resample(source, source, transform, sitk.sitkLinear, -1024.0)
        changed = rescanned_ct(sitk.GetArrayFromImage(moved), rng)
        write_image(Image.from_sitk(moved).with_array(changed.astype(np.int16)), out / f"A_warp{seed}.nii.gz", overwrite=True)
        sitk.WriteImage(sitk.Resample(labels, source, transform, sitk.sitkNearestNeighbor, 0), str(out / f"A_warp{seed}_labels.nii.gz"))
        rows.append({"reference_image": a_image, "reference_labels": a_labels, "target_image": f"A_warp{seed}.nii.gz",
                     "target_labels": f"A_warp{seed}_labels.nii.gz", "label_table": table})
    write_manifest(out / "a_warp.csv", rows)
    references = [(fixtures / "subjC_mr" / "image.nii.gz", PROTOCOLS / "totalseg_mr_labels.nii.gz"),
                  (fixtures / "subjB_ct" / "image.nii.gz", fixtures / "subjB_ct" / "labels_totalseg.nii.gz")]
    write_manifest(out / "onto_a.csv", [{"reference_image": image, "reference_labels": reference_labels, "target_image": a_image,
                                         "target_labels": a_labels, "label_table": table} for image, reference_labels in references])
    print(f"wrote {out / 'a_warp.csv'} and {out / 'onto_a.csv'}")


if __name__ == "__main__":
    main()
