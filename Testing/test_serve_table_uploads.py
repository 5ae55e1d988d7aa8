"""A job's reference_table uploads are the client's explicit word that a file names a label map's values: one that is
no label table, or one sent with a Slicer segmentation that names its own segments, is refused at submission naming
the upload, never set aside unsaid (a real ``rau serve`` on loopback)."""

from __future__ import annotations

from pathlib import Path

import requests
from test_serve import server  # noqa: F401  (fixture)
from test_serve_reference_names import write_reference

from rau.io import read_segmentation
from rau.io.segmentations import write_seg_nrrd


def submit(url: str, files: list[tuple[str, Path | tuple[str, bytes]]]) -> requests.Response:
    """POST a job of ``files`` (field, path or (client's name, content)) with a default spec."""
    sent = [(field, file if isinstance(file, tuple) else (file.name, file.read_bytes())) for field, file in files]
    return requests.post(f"{url}/v1/jobs", data={"spec": '{"engine": "registration"}'}, files=sent, timeout=60)


def test_a_reference_table_that_is_no_label_table_is_refused_naming_the_upload_and_why(server, tmp_path):  # noqa: F811
    """Before: the upload was set aside as "no label table" unsaid and the job refused telling the client to send "a
    reference_table upload after its reference_labels", the very upload it sent."""
    target, _ = write_reference(tmp_path, "target", 9, False, table=False)
    first, second = write_reference(tmp_path, "ref", 0, False, table=False), write_reference(tmp_path, "ref2", 1, False)
    answer = submit(server[0], [("target", target), ("reference", first[0]), ("reference_labels", first[1]),
                                ("reference_table", ("ref_labels0.json", b'{"Description": "head"}')),
                                ("reference", second[0]), ("reference_labels", second[1]),
                                ("reference_table", second[1].with_name(second[1].name.replace(".mha", ".labels.csv")))])
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "'ref_labels0.json'" in detail and "no label table" in detail and "its keys are not label values" in detail, detail
    assert "a reference_table upload after its reference_labels" not in detail, detail
    assert server[1].state.server.jobs == {}


def test_a_reference_table_sent_with_a_segmentation_naming_its_segments_is_refused_as_a_label_table_is(server, tmp_path):  # noqa: F811
    """Before: the table was saved beside the .seg.nrrd and ignored without a word (the segment kept its own name),
    where a label_table upload with it is refused."""
    target, _ = write_reference(tmp_path, "target", 9, False, table=False)
    image, labels = write_reference(tmp_path, "ref", 0, False)
    segmentation = tmp_path / "ref.seg.nrrd"
    write_seg_nrrd(read_segmentation(labels, geometry=None), segmentation)
    table = ("ref.seg.labels.csv", b"value,name\n1,skull\n")
    refusals = []
    for field in ("reference_table", "label_table"):
        answer = submit(server[0], [("target", target), ("reference", image), ("reference_labels", segmentation), (field, table)])
        assert answer.status_code == 422, answer.text
        refusals.append(answer.json()["detail"])
    assert refusals[0] == refusals[1], refusals
    assert "carries its own segment names" in refusals[0] and "'ref.seg.labels.csv'" in refusals[0], refusals[0]
    assert server[1].state.server.jobs == {}
