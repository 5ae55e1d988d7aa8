"""A server job names its references and their label maps as ``rau segment`` names them for the same files (one
naming rule, :func:`rau.reference_names.named_apart`), and refuses at submission, in its own words, references of which only
some name their labels (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_serve import server  # noqa: F401  (fixture)

from rau.cli import main as rau_main
from rau.image import Image
from rau.io import write_image
from rau.io.label_tables import write_label_table
from rau.labels import LabelSet, Structure
from rau.serve.client import Client, ServerError

NAMES = LabelSet((Structure("left", 1), Structure("right", 2), Structure("extra", 3)))


def write_reference(folder, stem: str, seed: int, extra: bool, table: bool = True):
    """A 2D picture of a bright block labelled as two halves (and a third label, ``extra``, at its top when asked),
    with a label table beside its labels when ``table``; returns (image, labels)."""
    rng = np.random.default_rng(seed)
    array = rng.normal(0, 3, (1, 64, 64)).astype(np.float32)
    array[0, 16:48, 8:56] += 100
    image = Image(array, spacing=(1.0, 1.0, 1.0), ndim=2)
    labels = np.zeros(array.shape, np.uint8)
    labels[0, 16:48, 8 + seed:32], labels[0, 16:48, 32:56 - seed] = 1, 2  # each seed its own halves: one image's two label maps are no copy
    if extra:
        labels[0, 16:20, 8:56] = 3
    write_image(image, folder / f"{stem}.mha")
    write_image(image.with_array(labels), folder / f"{stem}_labels{seed}.mha")
    if table:
        write_label_table(NAMES, folder / f"{stem}_labels{seed}.labels.csv")
    return folder / f"{stem}.mha", folder / f"{stem}_labels{seed}.mha"


def served_and_segmented(url, folder, references):
    """The finished job's record, and the result JSON ``rau segment`` writes for the same files."""
    target, _ = write_reference(folder, "target", 9, False, table=False)
    client = Client(url)
    record = client.wait(client.submit(target, [(image, labels, None) for image, labels in references], "registration",
                                       options={"deformable": False, "top_k": 2}))
    out = folder / "cli" / "seg.nii.gz"
    given = [argument for image, labels in references for argument in ("--reference", str(image), "--reference-labels", str(labels))]
    assert rau_main(["segment", "--target", str(target), *given, "--no-deformable", "--top-k", "2", "--out", str(out)]) == 0
    return record, json.loads(out.with_name("seg.result.json").read_text())


def test_a_structure_the_first_reference_lacks_is_said_naming_the_label_maps_as_rau_segment_does(server, tmp_path):  # noqa: F811
    """Before: "'extra' is in ref2.mha but has no voxels in the first reference ref.mha" (the images), where rau segment
    names the label maps that hold the structures."""
    record, cli = served_and_segmented(server[0], tmp_path, [write_reference(tmp_path, "ref", 0, False),
                                                             write_reference(tmp_path, "ref2", 1, True)])
    said = [message for message in record["warnings"] if "'extra'" in message]
    assert said and said[0].startswith("'extra' is in ref2_labels1.mha but has no voxels in the first reference ref_labels0.mha"), said
    assert said == [message for message in cli["warnings"] if "'extra'" in message]


def test_one_image_given_with_two_label_maps_is_named_with_each_as_rau_segment_names_it(server, tmp_path):  # noqa: F811
    """Before: the job's result recorded ['ref.mha', 'ref.mha (2)'], where rau segment records which label map each was."""
    (image, first), (_, second) = write_reference(tmp_path, "ref", 0, False), write_reference(tmp_path, "other", 1, False)
    record, cli = served_and_segmented(server[0], tmp_path, [(image, first), (image, second)])
    prompts = [structure["prompts"] for structure in record["structures"]]
    assert prompts == [structure["prompts"] for structure in cli["structures"]]
    assert "ref.mha (ref_labels0.mha)" in json.dumps(prompts) and "ref.mha (other_labels1.mha)" in json.dumps(prompts)


def test_references_of_which_only_some_name_their_labels_are_refused_at_submission_naming_the_uploads(server, tmp_path):  # noqa: F811
    """Before: the job was queued (202), then failed 422 telling the client to give "--label-table", an option it does
    not have, under some twenty warnings of labels the first reference lacks, which rau segment does not print."""
    target, _ = write_reference(tmp_path, "target", 9, False, table=False)
    references = [write_reference(tmp_path, "ref", 0, False), write_reference(tmp_path, "ref2", 1, True, table=False)]
    with pytest.raises(ServerError) as refused:
        Client(server[0]).submit(target, [(image, labels, None) for image, labels in references], "registration")
    assert refused.value.status == 422, refused.value
    message = str(refused.value)
    assert "has no names for its labels" in message and "--label-table" not in message
    assert "a reference_table upload after its reference_labels, or a label_table upload" in message, message
    assert server[1].state.server.jobs == {}


def test_a_remote_run_names_each_reference_by_its_own_name_in_warnings_as_a_run_here_does(server, tmp_path):  # noqa: F811
    """Before: the server run warned "'extra' is in reference1.seg.nrrd but has no voxels in the first reference
    reference0.seg.nrrd" (its upload files), where a run here names node1 and node0 (the Slicer module's nodes)."""
    from rau.engines import create_engine
    from rau.engines.base import Reference, Request, run_request
    from rau.io import read_image
    from rau.references import load_reference
    from rau.serve.remote import RemoteEngine
    from rau.user_warnings import collected_warnings

    loaded = [load_reference(*write_reference(tmp_path, stem, seed, extra), None)
              for stem, seed, extra in (("ref", 0, False), ("ref2", 1, True))]
    references = [Reference(reference.image, reference.segmentation, name=f"node{i}") for i, reference in enumerate(loaded)]
    request = Request(references, read_image(write_reference(tmp_path, "target", 9, False, table=False)[0]), None)
    options = {"deformable": False, "top_k": 2}
    said = {}
    for where, run in (("here", lambda: run_request(create_engine("registration", options), request)),  # as rau segment
                       ("server", lambda: RemoteEngine(Client(server[0]), "registration", options).run(request))):
        with collected_warnings() as warnings:
            run()
        said[where] = [message for message in warnings if "'extra'" in message]
    assert said["here"] and said["here"][0].startswith("'extra' is in node1 but has no voxels in the first reference node0"), said
    assert said["server"] == said["here"]
