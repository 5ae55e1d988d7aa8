"""A point given without a name (a console or script ``Prompt``, an API client) is named by its indices in the target
FILE's own i,j,k, locally and on ``rau serve`` alike (:func:`rau.session.point_names`), and a server run records the
prompt as it was sent: a correction's recorded prompt equals a local run's. Real files and real HTTP on loopback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from serve_helpers import running_server
from test_prompt_names_in_file_indices import along_j_answer, write_along_j
from test_serve import server, write_sam2_case  # noqa: F401  (fixture)

from rau.boxes import Box
from rau.engines import Request, create_engine
from rau.engines.base import Prompt
from rau.errors import InputError
from rau.io import read_image
from rau.references import load_reference
from rau.serve.app import ServerConfig
from rau.serve.client import Client
from rau.serve.wire import prompt_to_json
from rau.session import check_prompt


def test_a_server_run_correction_records_an_unnamed_point_as_a_local_run_does(tiny_sam2, tmp_path):
    """Before: the server filled in a name ("the point [10.0, 12.0, 3.0]") that the SAM2 session saved into the result's
    ``prompts.given_prompts``, where a local run saved none."""
    reference, target = write_sam2_case(tmp_path)
    options = {"sam2_model": str(tiny_sam2["always"]), "device": "cpu"}
    prompt = Prompt(points=[(10.0, 12.0, 3.0)], labels=[0])
    local = create_engine("sam2-memory", options).run(Request([load_reference(*reference)], read_image(target)))
    recorded_locally = local.session.reprompt("liver", prompt).prompts["given_prompts"]
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, _):
        client = Client(url)
        job = client.submit(target, [reference], "sam2-memory", label_table=tmp_path / "ref_labels.labels.csv")
        client.wait(job)
        client.reprompt(job, "liver", prompt_to_json(prompt, local.target))
        client.download(job, "result", tmp_path / "corrected.result.json")
    saved = json.loads((tmp_path / "corrected.result.json").read_text())
    recorded = next(row for row in saved["structures"] if row["name"] == "liver")["prompts"]["given_prompts"]
    assert recorded[-1]["prompt"]["names"] == []
    assert recorded == json.loads(json.dumps(recorded_locally))


def test_an_unnamed_point_outside_its_box_is_named_in_the_file_s_indices_locally_as_on_the_server(server, tmp_path):
    """Before, locally: "the click at 10,10", the indices rau holds a 1-slice volume stored along j by (i, j), not the
    file's (i, 0, k) that the server and ``rau correct`` name it by."""
    target = read_image(write_along_j(tmp_path)[2])
    with pytest.raises(InputError, match=r"^the point \[10, 0, 10\] lies outside the box"):
        check_prompt(Prompt(points=[(10.0, 10.0, 0.0)], labels=[1], box=Box((2, 3, 0), (4, 6, 1))), target)
    sent = {"box": {"lower": [2, 0, 3], "upper": [4, 1, 6]}, "points": [[10, 0, 10]], "labels": [1]}
    (tmp_path / "server").mkdir()
    answer = along_j_answer(server[0], tmp_path / "server", sent)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("the point [10, 0, 10] lies outside the box [2, 0, 3]..[4, 1, 6], given with it")


def test_an_unnamed_point_on_a_picture_is_named_by_its_i_j():
    """A picture's file has two indices: a point on it is named by them, as the server names a point sent as [i, j]."""
    from rau.image import Image

    picture = Image(np.zeros((1, 20, 30), np.float32), (1.0, 1.0, 1.0), ndim=2)
    assert picture.is_picture
    with pytest.raises(InputError, match=r"^the point \[25, 3\] lies outside the box"):
        check_prompt(Prompt(points=[(25.0, 3.0, 0.0)], labels=[1], box=Box((2, 3, 0), (4, 6, 1))), picture)
