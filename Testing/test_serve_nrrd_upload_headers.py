"""NRRD uploads are checked as each of their readers reads them (a real ``rau serve`` on loopback): pynrrd, which reads
a .seg.nrrd for slicerio, drops bytes of the magic line that are no ASCII, skips lines and bytes, unpacks bzip2 and
reads a header ITK refuses; each let an upload name a file on the server's disk as its data, or unpack past what its
header promises (pynrrd unpacks it whole before it compares sizes)."""

from __future__ import annotations

import bz2
import gzip

import pytest
import requests
from test_serve import server, write_two_halves  # noqa: F401  (server: fixture)

from rau.io import read_segmentation
from rau.io.segmentations import write_seg_nrrd
from rau.serve.security import check_data_attached, check_unpacked_size

ZEROS = bytes(8 << 20)  # unpacks to 8 MiB where the header promises 64 bytes
BASE = (b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nspace: left-posterior-superior\n"
        b"space directions: (1,0,0) (0,1,0) (0,0,1)\n")
SECRET_HEADER = (b"\x80NRRD0004\ntype: uint8\ndimension: 3\nsizes: 64 64 1\nspace: left-posterior-superior\n"
                 b"space directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\nSegment0_ID:=Segment_1\n"
                 b"Segment0_Name:=blob\nSegment0_LabelValue:=1\nSegment0_Layer:=0\ndata file: {secret}\n\n")
SWAPPED = (b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n"
           b"space: left-posterior-superior\nencoding: gzip\n\n")


def post_labels(url, tmp_path, name: str, labels: bytes):
    """Submit a job of :func:`write_two_halves`'s files whose reference_labels upload is ``labels``, named ``name``
    (with the label table a label map needs; a segmentation names its own segments)."""
    (image, _, _), target, table = write_two_halves(tmp_path)
    tables = [] if name.endswith(".seg.nrrd") else [("label_table", (table.name, table.read_bytes()))]
    return requests.post(f"{url}/v1/jobs", data={"spec": '{"engine": "registration"}'}, timeout=60, files=[
        ("target", (target.name, target.read_bytes())), ("reference", (image.name, image.read_bytes())),
        ("reference_labels", (name, labels)), *tables])


@pytest.mark.parametrize("name", ["labels.seg.nrrd", "labels.nrrd", "labels.nhdr"])
def test_an_nrrd_upload_whose_magic_is_not_exactly_nrrd_is_refused_before_its_data_file_is_read(server, tmp_path, name):  # noqa: F811
    """Before: b"\\x80NRRD0004" passed every check (they looked only at headers beginning with NRRD), and pynrrd, which
    drops the byte, read the server's file named by ``data file`` as the labels: the job was done on the server's secret."""
    url, app = server
    secret = tmp_path / "secret64.raw"
    secret.write_bytes(b"\x01" * 4096)  # labels 1: the job would be done on them
    answer = post_labels(url, tmp_path, name, SECRET_HEADER.replace(b"{secret}", str(secret).encode()))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (f"upload reference_labels ('{name}') is not a NRRD file: it does not begin with NRRD; "
                                       "save it again from Slicer (a .seg.nrrd or .nrrd file)")
    assert app.state.server.jobs == {} and not any(app.state.server.jobs_dir.iterdir())


@pytest.mark.parametrize("labels, problem", [
    # before, each passed the checks while promising 64 bytes, and pynrrd unpacked all of it (a few hundred bytes of
    # bzip2 took 428 MiB)
    (BASE + b"encoding: gzip\nline skip: 1\n\njunk\n" + gzip.compress(ZEROS), "its header has line skip 1"),
    (BASE + b"encoding: gzip\nbyte skip: 3\n\n" + gzip.compress(ZEROS), "its header has byte skip 3"),
    (BASE + b"encoding: gzip\nbyteskip: -1\n\n" + gzip.compress(ZEROS), "its header has byte skip -1"),
    (BASE + b"encoding: bzip2\n\n" + bz2.compress(ZEROS), "its data is encoded bzip2, which the server does not take"),
    (BASE + b"encoding:=gzip\n\n" + gzip.compress(ZEROS), "its gzip data unpacks to more than the 64 bytes its header promises"),
    (SWAPPED + gzip.compress(ZEROS), "its gzip data unpacks to more than the 64 bytes its header promises"),
    (BASE + b"encoding: raw\ndata file:=" + b"{secret}\n\n", "its header names a separate data file"),
])
def test_a_seg_nrrd_upload_is_checked_as_pynrrd_reads_it(server, tmp_path, labels, problem):  # noqa: F811
    url, app = server
    secret = tmp_path / "secret64.raw"
    secret.write_bytes(bytes(64))
    answer = post_labels(url, tmp_path, "labels.seg.nrrd", labels.replace(b"{secret}", str(secret).encode()))
    assert answer.status_code == (413 if "unpacks to more" in problem else 422), answer.text  # too large, or bad input
    assert answer.json()["detail"].startswith(f"upload reference_labels ('labels.seg.nrrd'): {problem}")
    assert app.state.server.jobs == {} and not any(app.state.server.jobs_dir.iterdir())


def test_a_bigger_seg_nrrd_than_the_limit_is_refused_though_itk_cannot_read_its_header(tmp_path):
    """Before: ITK refuses "space directions" before "space", so nothing sized it; pynrrd reads it."""
    from rau.errors import InputError

    path = tmp_path / "big.seg.nrrd"
    path.write_bytes(SWAPPED.replace(b"4 4 4", b"1024 1024 1024") + gzip.compress(bytes(64)))
    with pytest.raises(InputError, match=r"its voxels take 1024.0 MiB once unpacked, more than the server's limit of 512.0 MiB"):
        check_unpacked_size(path, "upload reference_labels", 512 << 20)


@pytest.mark.parametrize("gzip_written", [False, True])
def test_a_seg_nrrd_as_rau_and_slicerio_write_it_passes_the_checks(tmp_path, gzip_written):
    (_, labels, _), _, table = write_two_halves(tmp_path)
    path = tmp_path / "labels.seg.nrrd"
    write_seg_nrrd(read_segmentation(labels, geometry=None, label_table=table), path)
    if not gzip_written:  # slicerio writes gzip: the same header and data, raw
        import nrrd

        data, header = nrrd.read(str(path))
        header["encoding"] = "raw"
        nrrd.write(str(path), data, header)
    assert (b"encoding: gzip" in path.read_bytes()[:4096]) == gzip_written
    check_data_attached(path, "upload reference_labels")
    check_unpacked_size(path, "upload reference_labels", 1 << 20)
