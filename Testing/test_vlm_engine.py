"""End to end on HC18 ultrasound: ``vlm-box`` and ``rau`` through both backends, garbage answers included."""

import json

import numpy as np
import pytest

from chat_server import ChatServer
from rau.cli import main
from rau.engines import Request, create_engine
from rau.references import load_reference
from rau.io import read_image
from rau.vlm.families import QWEN2_5_VL


def _hc18(shared_data, index):
    folder = shared_data / "hc18_fetal_head_us"
    rows = (folder / "pixel_size_and_HC.csv").read_text().splitlines()[1:]
    spacing = float(rows[index].split(",")[1])
    name = f"{index:03d}_HC"
    return folder / "images" / f"{name}.png", folder / "masks" / f"{name}_mask.png", spacing


@pytest.fixture(scope="module")
def pair(shared_data):
    image, labels, spacing = _hc18(shared_data, 0)
    reference = load_reference(image, labels, spacing)
    target_image, target_labels, target_spacing = _hc18(shared_data, 1)
    target = read_image(target_image, target_spacing)
    truth = load_reference(target_image, target_labels, target_spacing).segmentation
    return reference, target, truth


def _truth_answer(truth, target, family=QWEN2_5_VL):
    """The answer a perfect Qwen2.5-VL would give for the target (its truth box in model pixels)."""
    name = truth.labels.names[0]
    mask = truth.mask(name)[0]
    rows, cols = np.nonzero(mask)
    box = family.to_model((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), (target.shape[2], target.shape[1]))
    return name, json.dumps([{"label": name, "present": True, "bbox_2d": box}])


def test_vlm_box_maps_a_perfect_answer_back_to_the_truth_box(pair):
    reference, target, truth = pair
    name, answer = _truth_answer(truth, target)
    with ChatServer(lambda body: f"```json\n{answer}\n```") as server:
        engine = create_engine("vlm-box", {"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
        result = engine.run(Request([reference], target))
    assert len(server.requests) == 1  # one call for the whole target
    found = result.get(name)
    truth_box = np.argwhere(truth.mask(name)[0])
    assert found.found and found.confidence == 1.0
    lower, upper = found.box.lower, found.box.upper
    assert abs(lower[0] - truth_box[:, 1].min()) <= 2 and abs(upper[1] - truth_box[:, 0].max() - 1) <= 2
    text = server.requests[0]["body"]["messages"][1]["content"][-1]["text"]
    assert f"1: {name}" in text and "in pixels of image 2 (width 812, height 532)" in text


@pytest.mark.parametrize("answer", ["I cannot tell.", '[{"label": "brain", "present": true, "bbox_2d": [5, 5, 9, 9]}]', "[{"])
def test_garbage_answers_give_no_mask_and_say_why(pair, answer):
    reference, target, _ = pair
    with ChatServer(lambda body: answer) as server:
        result = create_engine("vlm-box", {"vlm_server": server.url}).run(Request([reference], target))
    item = result.structures[0]
    assert not item.found and item.confidence == 0.0 and item.message == "no usable answer from vlm"  # before: in parentheses, printed twice over


def test_the_rau_engine_tells_an_unusable_answer_from_an_absent_structure(pair, tmp_path):
    """Before, the rau engine said "absent according to vlm" for a reply it could not read, as for a clean "absent"."""
    from tiny_sam2 import save_tiny_sam2

    reference, target, truth = pair
    name = truth.labels.names[0]
    sam2 = save_tiny_sam2(tmp_path / "sam2", presence="always")
    absent = json.dumps([{"label": name, "present": False}])
    for answer, message in (("I cannot tell.", "no usable answer from vlm"), (absent, "absent according to vlm")):
        with ChatServer(lambda body: answer) as server:
            result = create_engine("rau", {"vlm_server": server.url, "sam2_model": str(sam2), "device": "cpu"}).run(Request([reference], target))
        assert not result.get(name).found and message in result.get(name).message


def test_the_rau_engine_keeps_what_the_vlm_said_as_vlm_box_does(pair, tmp_path):
    """A repaired answer (corners swapped) lowers the confidence and is listed in the prompts, and a box wholly outside
    the target is said to have left SAM2 with the reference's memory alone; before, both were "found, 1.00"
    without a word."""
    from tiny_sam2 import save_tiny_sam2

    reference, target, truth = pair
    name = truth.labels.names[0]
    sam2 = save_tiny_sam2(tmp_path / "sam2", presence="always")
    options = {"sam2_model": str(sam2), "device": "cpu"}
    swapped = json.dumps([{"label": name, "present": True, "bbox_2d": [600, 400, 100, 80]}])
    outside = json.dumps([{"label": name, "present": True, "bbox_2d": [5000, 5000, 6000, 6000]}])
    with ChatServer(lambda body: swapped) as server:
        item = create_engine("rau", {**options, "vlm_server": server.url}).run(Request([reference], target)).get(name)
    assert item.found and item.confidence <= 0.5 and any("swapped" in issue for issue in item.prompts["vlm"]["issues"])
    with ChatServer(lambda body: outside) as server:
        item = create_engine("rau", {**options, "vlm_server": server.url}).run(Request([reference], target)).get(name)
    assert item.message == "the VLM gave no usable box; SAM2 followed the reference's memory alone" and "vlm" in item.prompts


def test_rau_engine_with_tiny_qwen_in_process_survives_random_weights(pair, tiny_qwen, tmp_path):
    from tiny_sam2 import save_tiny_sam2

    reference, target, _ = pair
    sam2 = save_tiny_sam2(tmp_path / "sam2", presence="always")
    engine = create_engine("rau", {"vlm_model": str(tiny_qwen), "sam2_model": str(sam2), "device": "cpu"})
    result = engine.run(Request([reference], target))
    assert engine.localizer.backend.calls == 1
    item = result.structures[0]
    assert item.engine == "rau" and result.engine == "rau"
    assert item.found or item.message  # random weights: either a mask or a stated reason


def test_rau_segment_command_through_a_server(pair, shared_data, tmp_path, capsys):
    from tiny_sam2 import save_tiny_sam2

    reference, target, truth = pair
    _, answer = _truth_answer(truth, target)
    image, labels, spacing = _hc18(shared_data, 0)
    target_image, _, target_spacing = _hc18(shared_data, 1)
    sam2 = save_tiny_sam2(tmp_path / "sam2", presence="always")
    out = tmp_path / "out" / "target.nii.gz"
    with ChatServer(lambda body: answer) as server:
        code = main([
            "segment", "--engine", "rau", "--vlm-server", server.url, "--sam2-model", str(sam2), "--device", "cpu",
            "--reference", str(image), "--reference-labels", str(labels), "--reference-spacing", str(spacing),
            "--target", str(target_image), "--target-spacing", str(target_spacing), "--out", str(out),
        ])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(out.with_name("target.result.json").read_text())
    assert summary["engine"] == "rau" and summary["structures"][0]["prompts"]


def _poor_reference(reference, shape=(1, 120, 60)):
    """``poor.png``: noise of ``shape`` with a blob labelled as ``reference``'s structure, which ranks below ``reference``."""
    from rau.image import Image
    from rau.labels import LabelSet, Segmentation, Structure

    noise = Image(np.random.default_rng(0).normal(100, 40, shape).astype(np.float32), ndim=2)
    blob = np.zeros(noise.shape, bool)
    blob[0, shape[1] // 12 : shape[1] // 3, 5:30] = True
    name = reference.segmentation.labels.names[0]
    labels = LabelSet((Structure(name, 1),), named=reference.segmentation.labels.named)
    return type(reference)(noise, Segmentation(noise.with_array(np.zeros(noise.shape, np.uint8)), labels, {name: blob}), "poor.png")


def test_engines_that_rank_references_record_the_ranking(pair, tmp_path):
    """Before: ``rau``, ``vlm-box`` and ``sam2-memory`` ranked several references but left the ranking, which the
    registration engine records, out of the result (and so of its JSON); ``registration+sam2`` dropped the ranking
    its registration made."""
    from tiny_sam2 import save_tiny_sam2

    reference, target, truth = pair
    sam2 = {"sam2_model": str(save_tiny_sam2(tmp_path / "sam2", presence="always")), "device": "cpu"}
    _, answer = _truth_answer(truth, target)
    with ChatServer(lambda body: answer) as server:
        for engine, options in (("vlm-box", {}), ("rau", sam2), ("sam2-memory", sam2), ("registration+sam2", sam2)):
            result = create_engine(engine, {"vlm_server": server.url, **options}).run(Request([_poor_reference(reference), reference], target))
            ranking = result.details["ranking"]
            assert [entry["reference"] for entry in ranking] == [reference.name, "poor.png"], engine
            assert ranking[0]["score"] > ranking[1]["score"] and {"similarity", "seconds"} <= set(ranking[0]), engine


def test_vlm_box_shows_the_vlm_the_best_ranked_reference_whatever_the_order(pair, tmp_path):
    """Before, ``vlm-box`` showed the VLM the first reference given (the ``rau`` engine ranks them first)."""
    import base64
    import io

    from PIL import Image as Picture

    reference, target, truth = pair
    poor = _poor_reference(reference)
    _, answer = _truth_answer(truth, target)

    def reference_picture(request) -> tuple[int, int]:
        parts = [part for message in request["body"]["messages"] if isinstance(message["content"], list)
                 for part in message["content"] if part.get("type") == "image_url"]
        return Picture.open(io.BytesIO(base64.b64decode(parts[0]["image_url"]["url"].split(",", 1)[1]))).size

    with ChatServer(lambda body: answer) as server:
        engine = create_engine("vlm-box", {"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
        for references in ([poor, reference], [reference, poor]):
            engine.run(Request(references, target))
    width, height = reference_picture(server.requests[0])
    assert [reference_picture(request) for request in server.requests] == [(width, height)] * 2 and width > height


def test_a_picture_too_long_for_the_vlm_is_named(pair):
    """Before: "a 1700x8 image (or slice) is more than 200 times longer than wide", whether target or reference."""
    from rau.image import GeometryError

    reference, target, _ = pair
    long = _poor_reference(reference, (1, 8, 1700))
    engine = create_engine("vlm-box", {"vlm_server": "http://127.0.0.1:9"})  # refused before any request
    with pytest.raises(GeometryError, match=r"^the target 'long.png': a 1700x8 image \(or slice\) is more than 200 times"):
        engine.run(Request([reference], long.image, target_name="long.png"))
    with pytest.raises(GeometryError, match=r"^reference 'poor.png': a 1700x8 image \(or slice\) is more than 200 times"):
        engine.run(Request([long], target))
