"""``Client.download`` writes each output only into a file named as what it is (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import json

import pytest
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.errors import InputError
from rau.io import read_image
from rau.io.label_tables import read_label_table
from rau.io.segmentations import read_segmentation
from rau.serve.client import Client


@pytest.mark.parametrize("kind, name, needed", [
    ("label_map", "dl.png", "is a NIfTI label map; name it with .nii.gz"), ("label_map", "dl.nii", "is a NIfTI label map; name it with .nii.gz"),
    ("label_map", ".nii.gz", "is a NIfTI label map; name it with .nii.gz"), ("label_table", "dl.json", "is a CSV label table; name it with .csv"),
    ("result", "dl.csv", "is a JSON result; name it with .json"), ("seg_nrrd", "dl.nrrd", "is a Slicer segmentation; name it with .seg.nrrd"),
    ("seg_nrrd", "dl.nii.gz", "is a Slicer segmentation; name it with .seg.nrrd")])
def test_a_download_named_with_another_suffix_is_refused_naming_the_one_it_needs_and_writes_nothing(server, tmp_path, kind, name, needed):
    """Before: the label map's gzip NIfTI bytes went into ``dl.png``, which the project's own readers then refused."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    job = client.submit(target, [reference], label_table=table, options={"deformable": False}, seg_nrrd=True)
    client.wait(job)
    destination = tmp_path / "downloads" / name
    with pytest.raises(InputError) as refused:
        client.download(job, kind, destination)
    assert str(refused.value) == f"{destination}: the {kind} download {needed}"
    assert not (tmp_path / "downloads").exists()


def test_each_download_is_what_its_suffix_says(server, tmp_path):
    """The served files end with the suffixes the client asks for, and the project's readers read each download."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    job = client.submit(target, [reference], label_table=table, options={"deformable": False}, seg_nrrd=True)
    client.wait(job)
    for kind, suffix in (("label_map", ".nii.gz"), ("label_table", ".csv"), ("result", ".json"), ("seg_nrrd", ".seg.nrrd")):
        served = client._call("GET", f"/v1/jobs/{job}/files/{kind}").headers["Content-Disposition"]
        assert served.endswith(f'{suffix}"'), served
    assert read_image(client.download(job, "label_map", tmp_path / "s.NII.GZ")).shape == (1, 64, 64)
    assert [s.name for s in read_label_table(client.download(job, "label_table", tmp_path / "s.labels.csv"))] == ["left", "right"]
    assert [row["name"] for row in json.loads(client.download(job, "result", tmp_path / "s.result.json").read_text())["structures"]] == ["left", "right"]
    assert set(read_segmentation(client.download(job, "seg_nrrd", tmp_path / "s.seg.nrrd")).masks) == {"left", "right"}
