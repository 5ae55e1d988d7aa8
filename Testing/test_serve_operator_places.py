"""Clients are not shown the server operator's folders and URLs (``--model-cache``, ``--vlm-server``, which may hold
credentials, ``--vlm-adapter``, a model given as a local folder): neither when a job sets one of them, nor in
``/v1/info``, which keeps the other options of its warm engines (a real ``rau serve`` on loopback)."""

from __future__ import annotations

import json

import pytest
from serve_helpers import running_server
from test_serve import finished_job, write_two_halves

from rau.errors import ServerError
from rau.serve.app import ServerConfig
from rau.serve.client import Client


@pytest.fixture
def operator_server(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "sam2").mkdir()
    options = {"model_cache": str(tmp_path / "cache"), "sam2_model": str(tmp_path / "sam2"),
               "vlm_server": "http://gpu.internal:9000/v1"}
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine_options=options)) as (url, app):
        yield url


@pytest.mark.parametrize("option, said", [
    ("model_cache", "option model_cache is set by the server operator; leave it out"),
    ("sam2_model", "option sam2_model is set by the server operator; leave it out"),  # a local folder
    ("vlm_server", "option vlm_server is set by the server operator; leave it out"),
    ("device", "option device is set by the server operator ('auto'); leave it out"),  # no place: still said
])
def test_a_job_setting_an_operator_s_option_is_told_so_without_the_operator_s_folders_and_urls(operator_server, tmp_path, option, said):
    """Before: "option model_cache is set by the server operator ('/path/of/operator')"."""
    reference, target, table = write_two_halves(tmp_path)
    with pytest.raises(ServerError) as refused:
        Client(operator_server).submit(target, [reference], "registration", options={option: "cpu" if option == "device" else "/x"}, label_table=table)
    assert refused.value.status == 422 and str(refused.value).endswith(said), refused.value


def test_info_leaves_the_operator_s_folders_and_urls_out_of_the_loaded_models(operator_server, tmp_path):
    """Before: models_loaded listed model_cache, vlm_server (an internal URL) and the local model's folder."""
    client = Client(operator_server)
    finished_job(client, tmp_path)
    loaded = client.info()["models_loaded"]
    assert [model["engine"] for model in loaded] == ["registration"] and loaded[0]["options"]["deformable"] is False
    said = json.dumps(loaded)
    assert str(tmp_path) not in said and "gpu.internal" not in said, said
    assert not {"model_cache", "sam2_model", "vlm_server", "vlm_adapter"} & set(loaded[0]["options"]), said
