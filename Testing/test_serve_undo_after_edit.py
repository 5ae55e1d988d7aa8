"""Undoing an overwrite correction after a hand edit painted one structure over another, on a real ``rau serve`` on
loopback with a tiny SAM2 model (sam2-memory) and in a session here: the downloads and the session end as they were
before the correction, the voxels the two structures shared shared again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from serve_helpers import running_server
from test_correction import result_2d

from rau.correction import CorrectorSession
from rau.engines.base import Prompt
from rau.image import Image
from rau.io import read_image, write_image
from rau.io.segmentations import read_segmentation
from rau.serve.app import ServerConfig
from rau.serve.client import Client
from rau.serve.wire import decode_mask, encode_mask


def write_liver_and_spleen(folder: Path, reference_shape: tuple[int, int, int] = (6, 30, 40)) -> tuple[tuple, Path]:
    """A random 3D reference of ``reference_shape`` with "liver" and "spleen" (label table beside it) and a random
    6 x 30 x 40 target."""
    rng = np.random.default_rng(0)
    image = Image(rng.normal(size=reference_shape).astype(np.float32), spacing=(0.9, 1.4, 3.0))
    labels = np.zeros(image.shape, np.uint8)
    labels[2:4, 5:15, 5:20], labels[1:5, 18:26, 22:35] = 1, 2
    write_image(image, folder / "ref.nii.gz")
    write_image(image.with_array(labels), folder / "ref_labels.nii.gz")
    (folder / "ref_labels.labels.csv").write_text("value,name\n1,liver\n2,spleen\n")
    write_image(Image(rng.normal(size=(6, 30, 40)).astype(np.float32), spacing=image.spacing), folder / "target.nii.gz")
    return (folder / "ref.nii.gz", folder / "ref_labels.nii.gz", None), folder / "target.nii.gz"


def test_undo_after_an_edit_over_another_structure_gives_the_downloads_back_as_before_the_correction(tiny_sam2, tmp_path):
    """Before, the undone spleen gave way to the liver where the liver's edit had painted over it: the undo answered the
    spleen as before the correction, the label map and .seg.nrrd lacked those voxels (392 of 416 here)."""
    reference, target = write_liver_and_spleen(tmp_path)
    config = ServerConfig(work_dir=tmp_path / "work", engine_options={"sam2_model": str(tiny_sam2["never"]), "device": "cpu"})
    with running_server(config) as (url, _app):
        client = Client(url)
        job = client.submit(target, [reference], "sam2-memory", seg_nrrd=True)
        client.wait(job)

        def downloads(step: str) -> tuple[dict, np.ndarray]:
            segmentation = read_segmentation(client.download(job, "seg_nrrd", tmp_path / f"{step}.seg.nrrd"))
            return {name: mask.copy() for name, mask in segmentation.masks.items()}, read_image(client.download(job, "label_map", tmp_path / f"{step}.nii.gz")).array

        spleen, liver = np.zeros((6, 30, 40), bool), np.zeros((6, 30, 40), bool)
        spleen[1:5, 18:26, 22:35], liver[2:4, 5:22, 5:28] = True, True  # the liver painted over part of the spleen
        client.edit(job, "spleen", encode_mask(spleen))
        client.edit(job, "liver", encode_mask(liver))
        masks, label_map = downloads("edited")
        assert np.array_equal(masks["spleen"], spleen) and np.array_equal(masks["liver"], liver)
        client.reprompt(job, "spleen", {"points": [[30, 22, 3]], "labels": [1]}, overwrite=True)
        assert (spleen & liver & ~downloads("corrected")[0]["spleen"]).any()  # the correction took shared voxels from the spleen
        answer = client.undo(job, "spleen")
        undone, undone_label_map = downloads("undone")
        assert np.array_equal(decode_mask(answer["mask"], spleen.shape), spleen)
        assert int(undone["spleen"].sum()) == spleen.sum(), f"spleen after undo: {int(undone['spleen'].sum())} of {spleen.sum()} voxels"
        assert np.array_equal(undone["liver"], liver) and np.array_equal(undone_label_map, label_map)


def test_undo_in_a_session_here_gives_back_the_voxels_shared_with_a_structure_painted_over_it():
    """The same rule in a session here (the Python API, as the server writes corrections): before, the undone "head"
    gave way to "other" where an edit had painted "other" over it."""
    result, _ = result_2d()
    session = result.session = CorrectorSession(result)
    block = np.zeros(result.target.shape, bool)
    block[0, 40:60, 30:66] = True
    session.edit("other", result.get("other").mask | block)
    result.hold(session.results["other"])
    before = {item.structure.name: item.mask.copy() for item in result.structures}
    corrected = session.reprompt("head", Prompt(points=[(48, 50, 0)], labels=[0]), overwrite=True)
    assert (before["head"] & before["other"] & ~corrected.mask).any()
    result.put_correction(corrected, session, overwrite=True)
    result.put_correction(session.undo("head"), session)
    for name, mask in before.items():
        assert np.array_equal(result.get(name).mask, mask), name
        assert np.array_equal(session.results[name].mask, mask), name
