"""What a run on an engine server tells a panel user names the options the server does not take from the panel (its
operator's ``rau serve`` flags, the panel's fields for them switched off) as the server operator's, in warnings and in
errors alike (slicer-core MRML, a real loopback ``rau serve`` and chat-completions server)."""

from __future__ import annotations

import time

import pytest
from chat_server import ChatServer
from serve_helpers import running_server
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.serve.app import ServerConfig  # noqa: E402
from rau.serve.client import ServerError  # noqa: E402
from rau.user_warnings import collected_warnings  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

ASKED = "Qwen/Qwen2.5-VL-7B-Instruct"


def run_on_server(scene, tmp_path, chat, **operator_options):
    """The module's logic, vlm-box on a 2D disk (reference = target), on a ``rau serve`` whose VLM is ``chat``."""
    (reference, reference_segmentation, target), _ = disk_inputs(scene)
    logic = load_rauslicer().RAUSlicerLogic()
    options = {"vlm_server": chat.url, "vlm_model": ASKED, **operator_options}
    with running_server(ServerConfig(work_dir=tmp_path / "work", engine="vlm-box", engine_options=options)) as (url, _):
        return logic.process(reference, reference_segmentation, target, ["disk"], "vlm-box", {}, server=url)


def test_the_other_model_warning_names_the_server_operators_flags_not_a_switched_off_field(mrml_scene, tmp_path):
    """Before: '... name it with 'VLM model' (Model settings)', a field switched off with an engine server and never
    sent: the remedy could not be carried out."""
    reply = {"model": "foo-model", "choices": [{"message": {"content": "[]"}}]}
    with ChatServer(lambda body: reply) as chat, collected_warnings() as said:
        run_on_server(mrml_scene, tmp_path, chat)
    named = [message for message in said if "foo-model" in message]
    model, family = "the engine server operator's `rau serve --vlm-model`", "the engine server operator's `rau serve --vlm-family`"
    assert named == [f"VLM server {chat.url}/v1/chat/completions answered as model 'foo-model', not {ASKED!r} as asked; "
                     f"its boxes were read in the qwen2.5-vl convention (the family of {model}, or {family}): if the "
                     f"server runs another model, name it with {model} or {family}"]


def test_a_server_jobs_error_names_the_server_operators_flag_as_its_warnings_do(mrml_scene, tmp_path):
    """Before: '... gave no answer within 1 s (--vlm-timeout)': a flag the panel has no field for, not said to be
    the server operator's."""

    def slow(body):
        time.sleep(2)
        return "[]"

    with ChatServer(slow) as chat, pytest.raises(ServerError) as refused:
        run_on_server(mrml_scene, tmp_path, chat, vlm_timeout=1)
    assert str(refused.value).endswith(f"failed: VLM server {chat.url}/v1/chat/completions gave no answer within 1 s "
                                       "(the engine server operator's `rau serve --vlm-timeout`)")
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1  # the reference's only: no partial result
