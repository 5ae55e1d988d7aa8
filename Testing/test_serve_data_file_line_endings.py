"""An upload's header that names a separate data file is refused however its lines end: ITK's NRRD reader ends a
line at "\\r\\n", "\\r" or "\\n", pynrrd (a .seg.nrrd's reader) at "\\n" alone, so a check that sees only one of them
lets the server read any file on its disk into a job's result (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import pytest
import requests
from test_serve import server, write_two_halves  # noqa: F401  (server: fixture)

from rau.io import read_image, read_segmentation, write_image
from rau.io.segmentations import write_seg_nrrd
from rau.serve.client import Client

SECRET = b"the server's secret, not the client's" * 111  # 4107 bytes: more than the 64 x 64 labels need
NRRD_FIELDS = ["NRRD0004", "type: uchar", "dimension: 2", "sizes: 64 64", "encoding: raw"]


def nrrd_header(data_file: str, line_end: str, before_data_file: str | None = None) -> bytes:
    """A 64 x 64 NRRD header naming ``data_file``, its lines ended by ``line_end`` (the line before the data-file
    field by ``before_data_file``, where given), then its blank line."""
    fields = line_end.join(NRRD_FIELDS) + (before_data_file or line_end)
    return f"{fields}data file: {data_file}{line_end}{line_end}".encode()


@pytest.mark.parametrize("name, header", [
    # before, each of these was taken: ITK read the named file as the labels, and the job's label map held its bytes
    ("labels.nrrd", nrrd_header("{secret}", "\r")),
    ("labels.nrrd", nrrd_header("{secret}", "\n", before_data_file="\r")),
    ("labels.nrrd", nrrd_header("./secret.raw", "\r")),  # beside the upload's copy: another upload of the job
    ("labels.seg.nrrd", nrrd_header("{secret}", "\r")),
    ("labels.nrrd", nrrd_header("LIST", "\r").replace(b"LIST\r", b"LIST\r{secret}\r")),
    ("labels.nrrd", nrrd_header("secret%d.raw 1 1 1", "\r")),
    ("labels.mha", b"ObjectType = Image\rNDims = 2\rDimSize = 64 64\rElementType = MET_UCHAR\rElementDataFile = {secret}\r"),
    # refused before too: the header ends for ITK at "\r\r\n", and pynrrd, which reads a .seg.nrrd, reads on to the field
    ("labels.seg.nrrd", nrrd_header("{secret}", "\n", before_data_file="\r\r\n")),
])
def test_a_header_naming_a_data_file_is_refused_however_its_lines_end(server, tmp_path, name, header):  # noqa: F811
    url, app = server
    (tmp_path / "secret.raw").write_bytes(SECRET)
    (image, _, _), target, table = write_two_halves(tmp_path)
    labels = header.replace(b"{secret}", str(tmp_path / "secret.raw").encode())
    answer = requests.post(f"{url}/v1/jobs", data={"spec": '{"engine": "registration"}'}, timeout=60, files=[
        ("target", (target.name, target.read_bytes())), ("reference", (image.name, image.read_bytes())),
        ("reference_labels", (name, labels)), ("label_table", (table.name, table.read_bytes()))])
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"upload reference_labels ('{name}'): its header names a separate data file")
    assert app.state.server.jobs == {} and not any(app.state.server.jobs_dir.iterdir())


@pytest.mark.parametrize("name", ["labels.nrrd", "labels.seg.nrrd"])
def test_an_nrrd_holding_its_data_with_crlf_line_ends_is_still_taken(server, tmp_path, name):  # noqa: F811
    (image, labels, _), target, table = write_two_halves(tmp_path)
    sent = tmp_path / "sent" / name
    sent.parent.mkdir()
    if name.endswith(".seg.nrrd"):
        write_seg_nrrd(read_segmentation(labels, geometry=None, label_table=table), sent)
    else:
        write_image(read_image(labels), sent)
    header, data = sent.read_bytes().split(b"\n\n", 1)
    sent.write_bytes(header.replace(b"\n", b"\r\n") + b"\r\n\r\n" + data)
    client = Client(server[0])
    job = client.submit(target, [(image, sent, None)], "registration", options={"deformable": False},
                        label_table=None if name.endswith(".seg.nrrd") else table)
    assert client.wait(job)["state"] == "done"


@pytest.mark.parametrize("line_end", ["\n", "\r", "\r\n"])
def test_gzip_data_past_its_header_is_refused_however_the_header_lines_end(tmp_path, line_end):
    """Before: with "\\r" line ends the header's end and its encoding were not found, and the gzip data went unchecked
    (ITK unpacked it all)."""
    import gzip

    from rau.errors import InputError
    from rau.serve.security import check_unpacked_size

    header = line_end.join(["NRRD0004", "type: uint8", "dimension: 3", "sizes: 4 4 2", "encoding: gzip", "", ""]).encode()
    (tmp_path / "bomb.nrrd").write_bytes(header + gzip.compress(bytes(16 << 20), compresslevel=1))
    with pytest.raises(InputError, match="its gzip data unpacks to more than the 32 bytes its header promises"):
        check_unpacked_size(tmp_path / "bomb.nrrd", "upload reference_labels", 2**30)
