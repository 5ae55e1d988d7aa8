"""The committed evaluation protocols in protocols/ read, and the cross-modality one names both sides alike."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from conftest import REPO
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import load_case

PROTOCOLS = REPO / "protocols"


def test_ct_mr_protocol_shares_organs_between_ct_and_mr(shared_data):
    cases = read_manifest(PROTOCOLS / "totalseg_ct_mr.csv")
    assert len(cases) == 1 and len(cases[0].references) == 2  # one MR target; bench_accuracy.py --pairs splits it
    references, target, truth = load_case(cases[0])
    shared = {mine.name for mine, _ in references[0].segmentation.labels.match(truth.labels)}
    assert {"liver", "spleen", "aorta", "kidney_left", "colon"} <= shared


def test_mr_labels_are_renumbered_by_name(shared_data):
    source = sitk.GetArrayFromImage(sitk.ReadImage(str(shared_data / "totalseg_test_fixtures" / "subjC_mr" / "labels_totalseg_mr.nii.gz")))
    renumbered = sitk.GetArrayFromImage(sitk.ReadImage(str(PROTOCOLS / "totalseg_mr_labels.nii.gz")))
    for mr_id, ct_id in ((5, 5), (15, 20), (23, 52)):  # liver, colon, aorta
        assert (source == mr_id).any()
        assert np.array_equal(renumbered == ct_id, source == mr_id)
    assert not (renumbered == 23).any()  # 23 (aorta in total_mr) is another structure in total
