"""A label map's structures are listed in label-value order, whatever the row order of its label table, as Slicer
imports a label map with a colour table: which structure keeps a contested voxel, and the order of a run's
structures and written tables, do not change when a table's rows are reordered."""

from __future__ import annotations

import json

import numpy as np
import SimpleITK as sitk

from rau.cli import main
from rau.io.segmentations import read_segmentation

SIZE = 48
HEAD_FIRST = "LabelValue,Name\n300,head\n7,rim\n"
RIM_FIRST = "LabelValue,Name\n7,rim\n300,head\n"


def write_case(folder, table: str) -> list[str]:
    """Three references (a head inside a rim, of three sizes) and a target, each label map with ``table`` beside it;
    the ``rau segment`` arguments that name them."""
    folder.mkdir()
    y, x = np.mgrid[:SIZE, :SIZE]
    radius = np.hypot(y - SIZE / 2, x - SIZE / 2)
    image = (100 + 80 * np.cos(radius / 3) + 20 * np.sin(x / 4)).astype(np.float32)

    def save(array, name):
        written = sitk.GetImageFromArray(array)
        written.SetSpacing((0.5, 0.5))
        sitk.WriteImage(written, str(folder / name))
        return str(folder / name)

    arguments = ["--target", save(image, "target.nrrd")]
    for index, head in enumerate((7, 10, 13)):
        labels = np.zeros((SIZE, SIZE), np.uint16)
        labels[radius < head + 5] = 7
        labels[radius < head] = 300
        (folder / f"labels{index}.labels.csv").write_text(table)
        arguments += ["--reference", save(image, f"image{index}.nrrd"), "--reference-labels", save(labels, f"labels{index}.nrrd")]
    return arguments


def test_a_label_maps_structures_are_in_label_value_order_whatever_its_tables_row_order(tmp_path):
    """Before: read in the table's row order (head, rim), while Slicer makes the segments rim, head."""
    write_case(tmp_path / "case", HEAD_FIRST)
    assert read_segmentation(tmp_path / "case/labels0.nrrd").labels.names == ["rim", "head"]


def test_staple_over_references_gives_one_result_whatever_their_tables_row_order(tmp_path):
    """Before: the run's structures, result JSON and written label table followed the references' row order."""
    outputs = []
    for name, table in (("head_first", HEAD_FIRST), ("rim_first", RIM_FIRST)):
        arguments = write_case(tmp_path / name, table)
        out = tmp_path / name / "out/t.nrrd"
        assert main(["segment", *arguments, "--top-k", "3", "--fusion", "staple", "--out", str(out)]) == 0
        result = json.loads(out.with_name("t.result.json").read_text())
        outputs.append((sitk.GetArrayFromImage(sitk.ReadImage(str(out))).tobytes(), out.with_name("t.labels.csv").read_text(),
                        [(structure["name"], structure["value"]) for structure in result["structures"]]))
    assert outputs[0] == outputs[1]
    assert outputs[0][2] == [("rim", 7), ("head", 300)]
