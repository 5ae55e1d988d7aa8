"""What a VLM server's run tells a panel user names the panel's fields, and no option the panel lacks (slicer-core
MRML, a real loopback chat-completions server); the command line keeps its flags."""

from __future__ import annotations

import time

import pytest
from chat_server import ChatServer
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import UnavailableError  # noqa: E402
from rau.user_warnings import collected_warnings  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

ASKED = "Qwen/Qwen2.5-VL-7B-Instruct"


def run_disk(scene, server, **options):
    """The module's logic, vlm-box on a 2D disk (reference = target) against ``server``."""
    (reference, reference_segmentation, target), _ = disk_inputs(scene)
    logic = load_rauslicer().RAUSlicerLogic()
    return logic.process(reference, reference_segmentation, target, ["disk"], "vlm-box",
                         {"vlm_server": server.url, "vlm_model": ASKED, **options})


def test_a_server_too_slow_is_not_said_to_be_waited_for_by_a_flag(mrml_scene):
    """Before: 'gave no answer within 1 s (--vlm-timeout)': the panel has no such field (its runs wait the default)."""

    def slow(body):
        time.sleep(2)
        return "[]"

    with ChatServer(slow) as server, pytest.raises(UnavailableError) as refused:
        run_disk(mrml_scene, server, vlm_timeout=1)
    assert str(refused.value) == f"VLM server {server.url}/v1/chat/completions gave no answer within 1 s"
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1  # the reference's only: no partial result


def test_a_server_answering_as_another_model_is_named_by_the_panel_field(mrml_scene):
    """Before: '... if the server runs another model, name it with --vlm-model or --vlm-family' (the panel has a
    'VLM model' field, and no VLM family one)."""
    reply = {"model": "foo-model", "choices": [{"message": {"content": "[]"}}]}
    with ChatServer(lambda body: reply) as server, collected_warnings() as said:
        run_disk(mrml_scene, server)
    named = [message for message in said if "foo-model" in message]
    assert named == [f"VLM server {server.url}/v1/chat/completions answered as model 'foo-model', not {ASKED!r} as asked; "
                     "its boxes were read in the qwen2.5-vl convention (the family of 'VLM model' (Model settings)): if the "
                     "server runs another model, name it with 'VLM model' (Model settings)"]
