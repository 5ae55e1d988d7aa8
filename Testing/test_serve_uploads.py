"""What a job uploads (real HTTP on loopback): each reference's own label table, the form cut short, too many references,
the spec's checks, and the warnings reading and writing them give (said in the job, naming the client's files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests

from rau.cli import main as rau_main
from rau.image import Image
from rau.io import read_image, write_image
from rau.io.label_tables import label_tables_beside, write_label_table
from rau.labels import LabelSet, Segmentation, Structure
from rau.serve.app import ServerConfig
from rau.serve.client import Client, ServerError, sidecar_tables
from rau.serve.uploads import MAX_REFERENCES
from serve_helpers import running_server
from test_serve import hc18_pair, outputs, server, write_two_halves  # noqa: F401  (server: fixture)

HALVES_TABLE = LabelSet((Structure("left", 1), Structure("right", 2)))


def test_a_reference_s_own_label_table_names_its_structures_as_rau_segment_does(server, tmp_path):
    """Before: the client sent a label map without the table beside it, so the server named "left" and "right"
    label_1 and label_2 where rau segment named them from the table."""
    url, _ = server
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    write_label_table(HALVES_TABLE, tmp_path / "ref_labels.labels.csv")
    client = Client(url)
    job = client.submit(target, [(image, labels, None)], options={"deformable": False})
    assert [row["name"] for row in client.wait(job)["structures"]] == ["left", "right"]
    for kind, name in (("label_map", "s.nii.gz"), ("label_table", "s.labels.csv"), ("result", "s.result.json")):
        client.download(job, kind, tmp_path / "server" / name)
    assert rau_main(["segment", "--reference", str(image), "--reference-labels", str(labels), "--target", str(target),
                     "--no-deformable", "--out", str(tmp_path / "cli/s.nii.gz")]) == 0
    assert outputs(tmp_path / "server", "s") == outputs(tmp_path / "cli", "s")
    # a table goes with its own reference: here the second one has one and the first none, which rau segment refuses
    image2, labels2 = tmp_path / "ref2.mha", tmp_path / "ref2_labels.mha"
    write_image(read_image(image).with_array(read_image(image).array + 1), image2)
    write_image(read_image(labels), labels2)
    with pytest.raises(ServerError, match="reference 'ref2.mha' has no names for its labels .* but 'ref.mha' has") as refused:
        client.wait(client.submit(target, [(image2, labels2, None), (image, labels, None)]))
    assert refused.value.status == 422


def test_a_2d_reference_for_a_volume_target_is_refused_naming_both_uploads(server, tmp_path):
    """Before, the message named the reference and gave the target by its size only."""
    (image, labels, _), _, table = write_two_halves(tmp_path)
    volume = tmp_path / "upload_dir" / "patient.nii.gz"
    volume.parent.mkdir()
    write_image(Image(np.random.default_rng(0).normal(0, 1, (5, 64, 64)).astype(np.float32)), volume)
    with pytest.raises(ServerError, match=r"reference 'ref.mha' is 2D but the target 'patient.nii.gz' is 3D \(64 x 64 x 5 voxels\)"):
        client = Client(server[0])
        client.wait(client.submit(volume, [(image, labels, None)], options={"deformable": False}, label_table=table))


@pytest.mark.parametrize("files, tables", [
    (["a.nii.gz", "a.nii.txt", "a.labels.csv"], ["a.nii.txt", "a.labels.csv"]),
    (["case.seg.nii.gz", "case.seg.json", "case.labels.csv"], ["case.labels.csv"]),  # case.seg.json: an image's metadata
    (["m.png", "m.json"], ["m.json"]),
    (["n.mha", "n.csv"], []),
])
def test_the_client_finds_a_label_map_s_tables_as_rau_s_reader_does(tmp_path, files, tables):
    for name in files:
        (tmp_path / name).write_text('{"Modality": "MR"}' if name == "case.seg.json" else '{"1": "liver"}')
    labels = tmp_path / files[0]
    assert sidecar_tables(labels) == label_tables_beside(labels) == [tmp_path / table for table in tables]


def test_every_table_beside_a_reference_s_labels_goes_with_it_as_rau_segment_reads_them(server, tmp_path):
    """Before: the client sent the first table only (ref_labels.labels.csv), so the server coloured "left" with its
    default colour and named "right" label_2, where rau segment took both from ref_labels.tsv."""
    url, _ = server
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    (tmp_path / "ref_labels.labels.csv").write_text("value,name\n1,left\n")
    (tmp_path / "ref_labels.tsv").write_text("index\tname\tcolor\n1\tleft\t#ff0000\n2\tright\t#00ff00\n")
    client = Client(url)
    for run in ("first", "second"):  # the second with a table after the whole name too, read first
        job = client.submit(target, [(image, labels, None)], options={"deformable": False})
        assert [row["name"] for row in client.wait(job)["structures"]] == ["left", "right"]
        for kind, name in (("label_map", "s.nii.gz"), ("label_table", "s.labels.csv"), ("result", "s.result.json")):
            client.download(job, kind, tmp_path / run / "server" / name)
        assert rau_main(["segment", "--reference", str(image), "--reference-labels", str(labels), "--target", str(target),
                         "--no-deformable", "--out", str(tmp_path / run / "cli/s.nii.gz")]) == 0
        assert outputs(tmp_path / run / "server", "s") == outputs(tmp_path / run / "cli", "s")
        (tmp_path / "ref_labels.mha.txt").write_text("2 right 0 0 255 255\n")


@pytest.mark.parametrize("cut", [10, 300])
def test_an_upload_cut_short_is_refused_saying_so(server, tmp_path, cut):
    """Before: "upload one reference_labels file per reference", or a job of what had come (the parser took the
    form's end for the end of its last file)."""
    url, app = server
    (image, labels, _), target, table = write_two_halves(tmp_path)
    files = [(field, (path.name, path.read_bytes())) for field, path in
             (("target", target), ("reference", image), ("reference_labels", labels), ("label_table", table))]
    upload = requests.Request("POST", f"{url}/v1/jobs", data={"spec": json.dumps({})}, files=files).prepare()
    upload.body = upload.body[:-cut]
    upload.headers["Content-Length"] = str(len(upload.body))
    answer = requests.Session().send(upload, timeout=60)
    assert answer.status_code == 400 and "the upload ended early" in answer.json()["detail"]
    assert not app.state.server.jobs


@pytest.mark.parametrize("own_tables", [False, True])
def test_more_references_than_a_job_takes_are_refused_saying_how_many_it_takes(server, tmp_path, own_tables):
    """Before: "Too many files. Maximum number of files is 64." (31 references)."""
    (image, labels, _), target, table = write_two_halves(tmp_path)
    if own_tables:
        write_label_table(HALVES_TABLE, tmp_path / "ref_labels.labels.csv")
    with pytest.raises(ServerError, match=f"at most {MAX_REFERENCES} references per job") as refused:
        Client(server[0]).submit(target, [(image, labels, None)] * (MAX_REFERENCES + 1), label_table=table)
    assert refused.value.status == 422


def test_a_reference_table_needs_its_reference_labels_before_it(server, tmp_path):
    (image, labels, _), target, table = write_two_halves(tmp_path)
    files = [("target", target), ("reference_table", table), ("reference", image), ("reference_labels", labels)]
    answer = requests.post(f"{server[0]}/v1/jobs", files=[(field, (Path(path).name, Path(path).read_bytes())) for field, path in files], timeout=60)
    assert answer.status_code == 422 and "upload each reference_table right after its reference_labels" in answer.json()["detail"]
    files = [("target", target), ("reference", image), ("reference_labels", labels)] + [("reference_table", table)] * 3
    answer = requests.post(f"{server[0]}/v1/jobs", files=[(field, (Path(path).name, Path(path).read_bytes())) for field, path in files], timeout=60)
    assert answer.status_code == 422 and "upload reference_table ('halves.labels.csv'): reference_labels 1 ('ref_labels.mha') has more tables, or tables in another order, than rau segment reads" in answer.json()["detail"]


def test_an_unknown_upload_field_is_refused_before_anything_is_written(server, tmp_path):
    """Before: a field's name became its file's, and one of 300 characters was a 500 (File name too long)."""
    (image, labels, _), target, table = write_two_halves(tmp_path)
    files = [("target", target), ("x" * 300, image), ("reference", image), ("reference_labels", labels)]
    answer = requests.post(f"{server[0]}/v1/jobs", files=[(field, (Path(path).name, Path(path).read_bytes())) for field, path in files], timeout=60)
    assert answer.status_code == 422 and answer.json()["detail"] == f"unexpected upload field(s) {'x' * 40}"


def test_a_file_name_over_the_form_s_header_limit_is_refused_saying_so(server, tmp_path):
    """Before: "Invalid multipart data." (python-multipart keeps a part's header under 4 KiB)."""
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    files = [("target", ("t" * 5000 + ".nii.gz", Path(target).read_bytes())), ("reference", (Path(image).name, Path(image).read_bytes())),
             ("reference_labels", (Path(labels).name, Path(labels).read_bytes()))]
    answer = requests.post(f"{server[0]}/v1/jobs", files=files, timeout=60)
    assert answer.status_code == 422 and "a form part's header (its field name and file name) is over 4 KiB" in answer.json()["detail"]


def test_an_image_that_unpacks_beyond_the_upload_limit_is_refused_before_it_is_read(shared_data, tmp_path):
    """Before: a 15 KiB .nii.gz of 200^3 int16 voxels (15 MiB once read) was read whole, whatever its size: a small compressed
    file could fill the server's memory."""
    import SimpleITK as sitk

    reference, _, _ = hc18_pair(shared_data)
    voxels = np.zeros((200, 200, 200), np.int16)
    voxels[100, 100, 100] = 1
    packed = tmp_path / "packed.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(packed), True)
    assert packed.stat().st_size < 2**20
    work = tmp_path / "work"
    with running_server(ServerConfig(work_dir=work, max_image_bytes=2**20)) as (url, app):
        with pytest.raises(ServerError, match=r"upload target \('packed.nii.gz'\): its voxels and the 352 bytes before them take "
                                              r"15.3 MiB once unpacked, more than the server's limit of 1.0 MiB") as refused:
            Client(url).submit(packed, [reference])
        assert refused.value.status == 413
    assert not any(app.state.server.jobs_dir.iterdir())


def grey_alpha_16_png(path: Path, side: int) -> Path:
    """A PNG of 16-bit grey + alpha zeros (colour type 4), which ITK cannot read (Pillow writes none)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 16, 4, 0, 0, 0)
    pixels = zlib.compress(bytes((side * 4 + 1) * side), 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def test_a_picture_itk_cannot_size_is_sized_by_its_pillow_header_and_refused_over_the_limit(tmp_path):
    """Before: a 16-bit grey + alpha PNG, whose header ITK cannot read, skipped --max-image-mb (9999 x 9999 zeros,
    389 KB, took 1.95 GB of the server's memory)."""
    reference, _, table = write_two_halves(tmp_path)
    target = grey_alpha_16_png(tmp_path / "la16.png", 300)
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_image_bytes=2**17)) as (url, app):
        with pytest.raises(ServerError, match=r"upload target \('la16.png'\): its voxels take 0.3 MiB once unpacked, more than "
                                              r"the server's limit of 0.1 MiB \(rau serve --max-image-mb\)") as refused:
            Client(url).submit(target, [reference], label_table=table)
        assert refused.value.status == 413
    assert not any(app.state.server.jobs_dir.iterdir())


def test_the_client_refuses_a_dicom_folder_or_a_missing_file_by_name_before_sending(server, tmp_path):
    """Before: a bare IsADirectoryError from open(), and the files opened before it were left open."""
    url, app = server
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    (tmp_path / "series").mkdir()
    client = Client(url)
    with pytest.raises(ValueError, match=r"target .*series: a folder \(a DICOM series\?\); the server takes one file per image"):
        client.submit(tmp_path / "series", [(image, labels, None)])
    with pytest.raises(FileNotFoundError, match=r"reference labels .*gone.mha: no such file"):
        client.submit(target, [(image, tmp_path / "gone.mha", None)])
    assert not app.state.server.jobs


def test_an_nrrd_whose_gzip_data_unpacks_past_its_header_is_refused_unpacking_no_further(tmp_path):
    """Before: a .seg.nrrd of 4x4x2 voxels followed by gzip data of 512 MiB of zeros passed the checks, and its reader
    unpacked it all (1.16 GiB) before refusing it."""
    import gzip

    from rau.errors import InputError
    from rau.serve.security import check_unpacked_size

    header = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 2\nencoding: gzip\n\n"
    (tmp_path / "bomb.seg.nrrd").write_bytes(header + gzip.compress(bytes(64 << 20), compresslevel=1))
    with pytest.raises(InputError, match="its gzip data unpacks to more than the 32 bytes its header promises"):
        check_unpacked_size(tmp_path / "bomb.seg.nrrd", "upload reference_labels", 2**30)
    (tmp_path / "fine.seg.nrrd").write_bytes(header + gzip.compress(bytes(32)))
    check_unpacked_size(tmp_path / "fine.seg.nrrd", "upload reference_labels", 2**30)


def test_a_job_reports_the_warnings_rau_segment_prints_naming_the_clients_files_and_downloads(server, shared_data, tmp_path, capfd):
    """Before, a label value the table does not name and structures a label map cannot show whole were said on the
    server's standard error only (naming its own copies), and the job's warnings were empty."""
    from scipy import ndimage

    from rau.io import write_seg_nrrd
    from rau.io.segmentations import read_segmentation

    (image, labels, spacing), target, target_spacing = hc18_pair(shared_data)
    table = tmp_path / "names.csv"
    table.write_text("value,name\n7,skull\n")  # the mask's value 255 is not named
    client = Client(server[0])
    unnamed = client.wait(client.submit(target, [(image, labels, spacing)], "registration", target_spacing=target_spacing,
                                        label_table=table, options={"deformable": False}))
    # its PNG read at target_spacing: the downloads will not overlay it in Slicer (test_serve_overlay_warning), said last
    apart = f"upload '{target.name}': Slicer shows it with 1 mm pixels (it stores none), but rau read it at {target_spacing:.6g} mm as given"
    [unnamed_value, overlay] = unnamed["warnings"]
    assert unnamed_value == "upload '012_HC_mask.png' has label value(s) 255 that its label table does not name; they are called 'label_255'"
    assert overlay.startswith(apart)
    client.download(unnamed["job"], "result", tmp_path / "unnamed.result.json")  # as rau segment's records them
    assert json.loads((tmp_path / "unnamed.result.json").read_text())["warnings"] == unnamed["warnings"]
    head = read_segmentation(labels, read_image(image, spacing), pixel_spacing=spacing)
    mask = next(iter(head.masks.values()))
    overlapping = LabelSet.from_values([1, 2], {1: "head", 2: "head and around"})
    write_seg_nrrd(Segmentation(head.geometry, overlapping, {"head": mask, "head and around": ndimage.binary_dilation(mask, iterations=10)}),
                   tmp_path / "ref.seg.nrrd")
    for seg_nrrd, whole in ((False, 'ask for "seg_nrrd": true for a Slicer segmentation that keeps them whole'),
                            (True, "the seg_nrrd download keeps them whole")):
        record = client.wait(client.submit(target, [(image, tmp_path / "ref.seg.nrrd", spacing)], "registration", target_spacing=target_spacing,
                                           seg_nrrd=seg_nrrd, options={"deformable": False}))
        [warning, overlay] = record["warnings"]
        assert overlay.startswith(apart) and warning.startswith("structures overlap; in the label_map download later structures cover 'head' ") and warning.endswith(whole)
        client.download(record["job"], "result", tmp_path / f"overlap{seg_nrrd}.result.json")
        assert json.loads((tmp_path / f"overlap{seg_nrrd}.result.json").read_text())["warnings"] == [warning, overlay]
    client.reprompt(record["session"], "head", {"points": [[400, 200]], "labels": [1]})  # the outputs are written again
    client.download(record["job"], "label_map", tmp_path / "corrected.nii.gz")
    [again, overlay] = client.job(record["job"])["warnings"]
    assert again.startswith("structures overlap; in the label_map download later structures cover 'head' ") and overlay.startswith(apart)
    assert "warning" not in capfd.readouterr().err  # before, said on the server's standard error, naming its files
    assert not list(server[1].state.server.jobs_dir.glob("*/inputs"))


def test_a_spec_whose_seg_nrrd_is_not_true_or_false_is_refused():
    """Before: "false" (a string) was taken as true and a .seg.nrrd was written."""
    from rau.errors import InputError
    from rau.serve.uploads import parse_spec

    with pytest.raises(InputError, match="spec.seg_nrrd must be true or false, got 'false'"):
        parse_spec('{"seg_nrrd": "false"}', "registration")
    assert parse_spec('{"seg_nrrd": true}', "registration").seg_nrrd is True and parse_spec("{}", "registration").seg_nrrd is False


def test_a_spec_whose_pixel_size_is_too_large_for_a_number_is_refused_as_the_spec_s():
    """JSON's 1e400 reads as infinity: before, it passed the spec's check and was refused later, as an image's."""
    from rau.errors import InputError
    from rau.serve.uploads import parse_spec

    with pytest.raises(InputError, match="spec.target_spacing must be a positive number"):
        parse_spec('{"target_spacing": 1e400}', "registration")
    with pytest.raises(InputError, match="spec.reference_spacing must be a list of positive numbers"):
        parse_spec('{"reference_spacing": [0.1, 1e400]}', "registration")
    with pytest.raises(InputError, match="spec.target_spacing must be a positive number"):
        parse_spec('{"target_spacing": 1' + 400 * "0" + "}", "registration")  # before: OverflowError, a 500
    assert parse_spec('{"target_spacing": 1e300}', "registration").target_spacing == 1e300


def test_a_job_sent_otherwise_than_as_a_form_or_with_a_huge_spec_is_told_what_to_send(server, tmp_path):
    """Before: a JSON body got "upload exactly one target", and a spec over 1 MiB "Part exceeded maximum size of
    1024KB." without naming the field."""
    url, app = server
    as_json = requests.post(f"{url}/v1/jobs", json={"spec": {}}, timeout=60)
    assert as_json.status_code == 415 and "multipart/form-data form" in as_json.json()["detail"]
    assert "not application/json" in as_json.json()["detail"]
    (image, labels, _), target, table = write_two_halves(tmp_path)
    spec = json.dumps({"structures": ["s" * 100] * 12000})
    files = [("target", target), ("reference", image), ("reference_labels", labels)]
    huge = requests.post(f"{url}/v1/jobs", data={"spec": spec}, files=[(f, (Path(p).name, Path(p).read_bytes())) for f, p in files], timeout=60)
    assert huge.status_code == 422 and "a form field sent without a file name is too long" in huge.json()["detail"]
    assert not app.state.server.jobs


@pytest.mark.parametrize("data, message", [
    ({"other": "1"}, "unexpected form field(s) 'other': a job takes a 'spec' field and files with their file names (target, "),
    ([("spec", "{}"), ("spec", '{"engine": "sam2-memory"}')], "field spec is given 2 times; give it once"),
])
def test_a_form_field_a_job_does_not_take_or_a_second_spec_is_refused_naming_it(server, tmp_path, data, message):
    """Before: an unknown text field was left out unseen (202), and of two specs the last was used."""
    url, app = server
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    files = [("target", target), ("reference", image), ("reference_labels", labels)]
    answer = requests.post(f"{url}/v1/jobs", data=data, files=[(f, (Path(p).name, Path(p).read_bytes())) for f, p in files], timeout=60)
    assert answer.status_code == 422 and answer.json()["detail"].startswith(message)
    assert not app.state.server.jobs


@pytest.mark.parametrize("suffix, problem", [
    (".nii.gz", "file is truncated or damaged (Compressed file ended before the end-of-stream marker was reached)"),
    (".mha", "not a readable image (its header or data cannot be read in full: the file may be cut short or damaged)"),
])
def test_a_truncated_upload_is_refused_naming_the_client_s_file_once(server, tmp_path, suffix, problem):
    """Before: "upload 'x.nii.gz': upload 'x.nii.gz': file is truncated ..." (the reader named the file twice) and
    "upload 'x.mha': not a readable image (File cannot be read: upload 'x.mha' for reading.)"."""
    (image, labels, _), target, _ = write_two_halves(tmp_path)
    cut = tmp_path / f"x{suffix}"
    write_image(read_image(target), cut)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 2 // 3])
    files = [("target", cut), ("reference", image), ("reference_labels", labels)]
    answer = requests.post(f"{server[0]}/v1/jobs", files=[(f, (Path(p).name, Path(p).read_bytes())) for f, p in files], timeout=60)
    assert answer.status_code == 422 and answer.json()["detail"] == f"upload 'x{suffix}': {problem}"


def test_a_truncated_picture_without_a_pixel_size_is_refused_as_damaged_not_as_lacking_one(server, shared_data, tmp_path):
    """Before: "upload 'broken.png': a picture without a pixel size, while upload '012_HC.png' has one", a remedy
    that led only to the real problem."""
    (image, labels, spacing), target, _ = hc18_pair(shared_data)
    broken = tmp_path / "broken.png"
    broken.write_bytes(target.read_bytes()[:500])
    files = [("target", broken), ("reference", image), ("reference_labels", labels)]
    answer = requests.post(f"{server[0]}/v1/jobs", data={"spec": json.dumps({"reference_spacing": [spacing]})},
                           files=[(f, (Path(p).name, Path(p).read_bytes())) for f, p in files], timeout=60)
    assert (answer.status_code, answer.json()["detail"]) == (422, "upload 'broken.png': not a readable image (image file is truncated)")
    assert not server[1].state.server.jobs
