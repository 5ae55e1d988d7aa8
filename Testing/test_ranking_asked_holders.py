"""A reference that holds none of the asked structures ranks after every one that holds some, whatever its image
similarity: the ``rau`` and ``vlm-box`` engines show the VLM the best-ranked reference, and one without the asked
structures would leave them all "not asked" though another reference holds them."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as Picture

import rau
from chat_server import ChatServer
from rau.engines import Request, create_engine
from rau.engines.registration import RegistrationEngine
from rau.io import read_image
from rau.references import load_reference

HC18 = Path(rau.__file__).parent / "sample_data" / "hc18"
SPACING, TARGET_SPACING = 0.069135804, 0.08965852


@pytest.fixture
def request_with_a_corner_only_reference(tmp_path) -> Request:
    """HC18 000 (its fetal head) and the target's own picture labelled only with a 'corner' square: the better image
    match by far, holding none of the asked structure; target HC18 001, asking for 'fetal head'."""
    holder = load_reference(HC18 / "000_HC.png", HC18 / "000_HC_mask.png", SPACING)
    shutil.copy(HC18 / "001_HC.png", tmp_path / "same.png")
    corner = np.zeros((540, 800), np.uint8)
    corner[20:80, 20:80] = 1
    Picture.fromarray(corner).save(tmp_path / "corner.png")
    (tmp_path / "corner.labels.csv").write_text("value,name\n1,corner\n")
    other = load_reference(tmp_path / "same.png", tmp_path / "corner.png", TARGET_SPACING)
    return Request([holder, other], read_image(HC18 / "001_HC.png", TARGET_SPACING), structures=["fetal head"])


def test_a_reference_holding_no_asked_structure_ranks_last(request_with_a_corner_only_reference):
    """Before: the target's own picture ranked first on its image similarity (1.0) though it holds no fetal head."""
    ranked, ranking = RegistrationEngine().ranked_references(request_with_a_corner_only_reference)
    assert [r.name for r in ranked.references] == ["000_HC.png", "same.png"]
    assert [row["reference"] for row in ranking] == ["000_HC.png", "same.png"]
    assert ranking[1]["similarity"] > ranking[0]["similarity"]  # the similarity alone would rank it first


def test_the_vlm_is_shown_the_reference_that_holds_the_asked_structure(request_with_a_corner_only_reference):
    """Before: vlm-box showed the VLM the corner-only picture, asked nothing, and reported the head 'not asked'."""
    answer = json.dumps([{"label": "fetal head", "present": True, "bbox_2d": [300, 200, 500, 400]}])
    with ChatServer(lambda body: answer) as server:
        engine = create_engine("vlm-box", {"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
        result = engine.run(request_with_a_corner_only_reference)
    assert len(server.requests) == 1
    assert "fetal head" in server.requests[0]["body"]["messages"][1]["content"][-1]["text"]
    assert result.get("fetal head").found, result.get("fetal head").message
