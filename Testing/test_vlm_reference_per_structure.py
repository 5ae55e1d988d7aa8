"""The ``rau`` and ``vlm-box`` engines ask the VLM about each structure with the best-ranked reference that has voxels
of it: references annotated with different structures each answer for their own. Before, the VLM was shown the
best-ranked reference only, and a structure it lacked was reported "not asked" though another reference held it."""

import json
import re

import numpy as np
import pytest

from chat_server import ChatServer
from rau.engines import create_engine
from rau.engines.base import Reference, Request
from rau.labels import LabelSet, Segmentation, Structure
from test_sam2_memory import reference, target

BOX = [4, 3, 14, 12]


def answer_asked(body: dict) -> str:
    """Each structure the request asks about present, in one box (the VLM's answer as the question names them)."""
    text = body["messages"][-1]["content"][-1]["text"]
    asked = re.search(r"reference structures: (.*?), say", text).group(1)
    return json.dumps([{"label": item.split(": ", 1)[1], "present": True, "bbox_2d": BOX} for item in asked.split(", ")])


def question_of(request: dict) -> str:
    return re.search(r"reference structures: (.*?), say", request["body"]["messages"][-1]["content"][-1]["text"]).group(1)


def liver_only(full: Reference, image, name: str) -> Reference:
    """``image`` labelled with the liver of ``full`` only."""
    liver = Segmentation.from_label_map(image.with_array(full.segmentation.masks["liver"].astype(np.uint8)), LabelSet((Structure("liver", 1),)))
    return Reference(image, liver, name=name)


def liver_only_like_the_target(full: Reference) -> Reference:
    """The target's own image (a grey level brighter) labelled with the liver only: it ranks first."""
    return liver_only(full, target().with_array(target().array + 0.01), "like the target")


def run(engine_name: str, references: list[Reference], tiny_sam2=None, structures=None, **options):
    options = {"vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct", **options}
    if tiny_sam2 is not None:
        options.update(sam2_model=str(tiny_sam2["always"]), device="cpu")
    with ChatServer(answer_asked) as server:
        engine = create_engine(engine_name, {"vlm_server": server.url, **options})
        result = engine.run(Request(references, target(), structures))
    return result, server.requests


def test_vlm_box_asks_each_structure_with_the_best_ranked_reference_holding_it():
    """Before: one request, about the liver, and the spleen 'not asked: the reference shown to vlm has no voxels of
    it' though ref1 holds it."""
    full = reference(1)
    result, requests = run("vlm-box", [full, liver_only_like_the_target(full)])
    assert [question_of(r) for r in requests] == ["1: liver", "1: spleen"]  # the spleen key slice (2) shows no liver
    assert result.details["ranking"][0]["reference"] == "like the target"
    for name, shown in (("liver", "like the target"), ("spleen", "ref1")):
        item = result.get(name)
        assert item.found, item.message
        assert item.prompts["vlm"]["reference"] == shown


def test_the_rau_engine_segments_a_structure_the_best_ranked_reference_lacks(tiny_sam2):
    """Before: the spleen was not asked and not segmented ("not asked: ..."); now the VLM is asked with ref1 and SAM2
    holds ref1's spleen in memory."""
    full = reference(1)
    result, requests = run("rau", [full, liver_only_like_the_target(full)], tiny_sam2)
    assert [question_of(r) for r in requests] == ["1: liver", "1: spleen"]
    spleen = result.get("spleen")
    assert spleen.found, spleen.message
    assert spleen.prompts["vlm"]["reference"] == "ref1"
    assert result.details["conditioning"]["spleen"][0].startswith("ref1:")
    assert result.get("liver").prompts["vlm"]["reference"] == "like the target"


def test_a_structure_no_reference_holds_is_not_asked_saying_so():
    """Before: 'the reference shown to vlm has no voxels of it', whichever reference was shown."""
    full = reference(1)
    empty = Segmentation.from_label_map(full.image.with_array(full.segmentation.masks["liver"].astype(np.uint8)), full.segmentation.labels)
    result, requests = run("vlm-box", [Reference(full.image, empty, name="ref1")], structures=["liver", "spleen"])
    assert [question_of(r) for r in requests] == ["1: liver"]
    assert result.get("spleen").message == "not asked: it has no voxels in the reference"


@pytest.mark.parametrize("per_structure", [False, True])
def test_a_first_reference_holding_every_structure_is_asked_as_before(per_structure):
    """The answer when the best-ranked reference holds every asked structure is the one reference's alone: the same
    requests (question, legend, pictures, token budget) and the same masks as a run given that reference only."""
    full = reference(1)
    best = Reference(target().with_array(target().array + 0.01), full.segmentation, name="best")  # ranks first
    alone, asked_alone = run("vlm-box", [best], vlm_per_structure=per_structure)
    other = reference(2)
    pooled, asked_pooled = run("vlm-box", [best, liver_only(other, other.image, "ref2")], vlm_per_structure=per_structure)
    assert pooled.details["ranking"][0]["reference"] == "best"
    assert [r["body"] for r in asked_pooled] == [r["body"] for r in asked_alone]
    for name in ("liver", "spleen"):
        assert np.array_equal(pooled.get(name).mask, alone.get(name).mask)


def test_rau_segment_records_the_reference_each_structure_was_asked_with(tmp_path):
    """The result JSON of ``rau segment --engine vlm-box`` (references and target written as NIfTI files) names, under
    each structure's ``prompts.vlm.reference``, the reference it was asked with. Before: the spleen was not asked."""
    from rau.cli import main
    from rau.io import write_image
    from rau.io.segmentations import write_label_map

    full = reference(1)
    args = []
    for ref, name in ((full, "full"), (liver_only_like_the_target(full), "liver")):
        write_image(ref.image, tmp_path / f"{name}.nii.gz")
        write_label_map(ref.segmentation, tmp_path / f"{name}_labels.nii.gz")
        args += ["--reference", str(tmp_path / f"{name}.nii.gz"), "--reference-labels", str(tmp_path / f"{name}_labels.nii.gz")]
    write_image(target(), tmp_path / "target.nii.gz")
    with ChatServer(answer_asked) as server:
        assert main(["segment", "--engine", "vlm-box", "--vlm-server", server.url, "--vlm-model", "Qwen/Qwen2.5-VL-7B-Instruct",
                     *args, "--target", str(tmp_path / "target.nii.gz"), "--out", str(tmp_path / "out" / "target.nii.gz")]) == 0
    saved = {row["name"]: row for row in json.loads((tmp_path / "out" / "target.result.json").read_text())["structures"]}
    assert saved["liver"]["found"] and saved["liver"]["prompts"]["vlm"]["reference"] == "liver.nii.gz"
    assert saved["spleen"]["found"] and saved["spleen"]["prompts"]["vlm"]["reference"] == "full.nii.gz"
