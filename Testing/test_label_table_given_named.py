"""A label table given for a label map that names a value otherwise than the map's own sidecar is refused by its
file's name, whichever way it was given (``rau evaluate``'s manifest has no ``--label-table``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import SimpleITK as sitk

from rau.errors import InputError
from rau.io.segmentations import read_segmentation


def test_the_refusal_names_the_table_given(tmp_path):
    """Before: '... but the label table given for it (--label-table, a manifest's label_table, a server job's uploaded
    table) names it ...': every way of giving one, not the file."""
    sitk.WriteImage(sitk.GetImageFromArray(np.array([[[0, 1], [2, 0]]], dtype=np.uint8)), str(tmp_path / "truth.nii.gz"))
    (tmp_path / "truth.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    table = tmp_path / "ts.labels.csv"
    table.write_text("value,name\n1,spleen\n2,liver\n")
    with pytest.raises(InputError) as refused:
        read_segmentation(tmp_path / "truth.nii.gz", label_table=table)
    message = str(refused.value)
    assert re.search(rf"names value 1 'liver', but the label table given for it \({re.escape(str(table))}\) names it 'spleen'", message)
    assert "--label-table" not in message
