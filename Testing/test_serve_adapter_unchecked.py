"""``rau serve --vlm-adapter`` naming an adapter without ``rau_adapter.json`` (trained elsewhere): the operator who
started the server is told, once, that its base model cannot be checked, as ``rau segment`` tells its user; each
job of the VLM engines reports it too, to its client."""

from __future__ import annotations

from serve_helpers import serve_process
from test_cli_correct_moved_models import lora_adapter
from test_serve import write_two_halves

from rau.serve.client import Client


def test_the_server_s_operator_is_told_once_that_its_adapter_s_base_model_is_unchecked(tiny_qwen, tmp_path):
    """Before: only each client's job said it; the server's console said nothing."""
    adapter = lora_adapter(tiny_qwen, tmp_path / "trained_elsewhere")  # peft's files only
    reference, target, table = write_two_halves(tmp_path)
    said = f"the adapter {adapter} has no rau_adapter.json, so the base model it was trained on cannot be checked"
    log = tmp_path / "server.log"
    options = ["--engine", "vlm-box", "--vlm-model", str(tiny_qwen), "--vlm-adapter", str(adapter), "--device", "cpu"]
    with serve_process(tmp_path / "work", *options, log=log) as url:
        assert log.read_text().count(f"warning: {said}") == 1  # at start, before any job
        client = Client(url)
        record = client.wait(client.submit(target, [reference], label_table=table))
        assert [warning for warning in record["warnings"] if said in warning], record["warnings"]
    assert log.read_text().count(said) == 1, log.read_text()  # the job's load of the model said it to the client only
