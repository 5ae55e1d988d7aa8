"""Backends: the tiny Qwen2.5-VL through the production loader, LoRA adapters, and a loopback chat server."""

import base64
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from chat_server import ChatServer, RawServer
from rau.errors import OptionError
from rau.models.loader import ModelNotAvailableError
from rau.options import EngineOptions
from rau.render import render_plain
from rau.user_warnings import collected_warnings
from rau.vlm.backend import create_backend, vlm_source
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.local import TOKENIZER_FILES, AdapterError, load_adapter
from rau.vlm.prompts import presence_messages
from rau.vlm.server import ServerBackend


def _messages(size=(84, 56)):
    gray = np.arange(56 * 84, dtype=float).reshape(56, 84)
    return presence_messages(render_plain(gray, size), render_plain(gray.T[:56, :84], size), ["liver"], "liver")


def test_transformers_backend_loads_tiny_qwen_and_answers(tiny_qwen):
    backend = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"})
    assert backend.family.name == "qwen2.5-vl"
    inputs = backend.inputs(_messages())
    assert inputs["image_grid_thw"].tolist() == [[1, 4, 6], [1, 4, 6]]  # 56x84 left as is, 14-pixel patches
    assert "mm_token_type_ids" in inputs
    reply = backend.generate(_messages(), max_new_tokens=6)
    assert isinstance(reply.text, str) and 0 < reply.completion_tokens <= 6
    assert reply.prompt_tokens == inputs["input_ids"].shape[1] and backend.calls == 1


def test_a_vlm_loaded_once_says_no_gpu_in_every_run_it_answers(tiny_qwen, monkeypatch):
    """Before: "no GPU found" was said only while the model loaded, so a warm engine (a rau batch worker, built before
    its first target; the server's engine cache) recorded it in no later run's result."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    backend = create_backend({"vlm_model": str(tiny_qwen)})  # device auto, loaded outside any run
    for _ in range(2):
        with collected_warnings() as said:
            backend.generate(_messages(), max_new_tokens=2)
            backend.generate(_messages(), max_new_tokens=2)
        assert len(said) == 1 and said[0].startswith("no GPU found: running on the CPU")


def test_a_vlm_loaded_once_says_its_adapters_other_base_in_every_run_it_answers(tiny_qwen, tmp_path, monkeypatch, capsys):
    """Before: "the adapter ... was trained on ..." was said only while the model loaded, so a warm engine (a rau batch
    worker's, built before its first target; the server's engine cache) recorded it in no run's result."""
    peft = pytest.importorskip("peft")
    import json

    import torch

    adapter = tmp_path / "adapter"
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)")
    peft.get_peft_model(create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model, config).save_pretrained(adapter)
    (adapter / "rau_adapter.json").write_text(json.dumps({"base_model": str(tmp_path / "other_qwen")}))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    backend = create_backend({"vlm_model": str(tiny_qwen), "vlm_adapter": str(adapter)})  # loaded outside any run
    other = (f"the adapter {adapter} was trained on {tmp_path / 'other_qwen'}, not on {tiny_qwen}; if that is another model, "
             "its answers are not the ones it was trained to give")
    for _ in range(2):
        with collected_warnings(echo=True) as said:
            backend.generate(_messages(), max_new_tokens=2)
            backend.generate(_messages(), max_new_tokens=2)
        assert said == ["no GPU found: running on the CPU, which is much slower (device cpu chooses it without this warning)", other]
    assert capsys.readouterr().err.count(other) == 1  # printed once, while it loaded


def test_weights_that_give_nan_scores_are_refused_not_read_as_no_answer(tiny_qwen, tmp_path):
    """Before, a checkpoint whose values overflow to NaN decoded garbage: every structure "not found", exit 0."""
    import torch
    from safetensors.torch import load_file, save_file

    from rau.errors import UnavailableError

    damaged = shutil.copytree(tiny_qwen, tmp_path / "damaged")
    tensors = load_file(tiny_qwen / "model.safetensors")
    save_file({key: torch.full_like(value, 3.0e38) if value.is_floating_point() else value for key, value in tensors.items()},
              damaged / "model.safetensors")
    backend = create_backend({"vlm_model": str(damaged), "device": "cpu"})
    with pytest.raises(UnavailableError, match=r"the VLM \(--vlm-model\) gave no finite token scores"):
        backend.generate(_messages(), max_new_tokens=4)


def test_lora_adapter_changes_the_answers(tiny_qwen, tmp_path):
    peft = pytest.importorskip("peft")
    import torch

    base = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"})
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)", init_lora_weights=False)
    torch.manual_seed(3)
    peft.get_peft_model(base.model, config).save_pretrained(tmp_path / "adapter")
    base = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"})  # fresh, unwrapped model
    tuned = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu", "vlm_adapter": str(tmp_path / "adapter")})
    inputs = base.inputs(_messages())
    with torch.inference_mode():
        assert not torch.allclose(base.model(**inputs).logits, tuned.model(**inputs).logits)
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        create_backend({"vlm_model": str(tiny_qwen), "device": "cpu", "vlm_adapter": str(tmp_path)})


def test_a_damaged_or_foreign_vlm_folder_is_refused_naming_it_and_the_problem(tiny_qwen, tiny_sam2, tmp_path):
    from safetensors.torch import load_file, save_file

    cut, lacking, untokenized, garbled, unprocessed = (shutil.copytree(tiny_qwen, tmp_path / name)
                                                       for name in ("cut", "lacking", "untokenized", "garbled", "unprocessed"))
    (unprocessed / "processor_config.json").unlink()  # before: transformers' error with its advice about the Hub
    (cut / "model.safetensors").write_bytes((tiny_qwen / "model.safetensors").read_bytes()[:3000])
    (garbled / "tokenizer.json").write_text("not JSON")  # before: an internal error
    tensors = load_file(tiny_qwen / "model.safetensors")
    save_file({key: value for key, value in tensors.items() if ".layers.0." not in key}, lacking / "model.safetensors")
    for name in TOKENIZER_FILES:
        (untokenized / name).unlink()
    for folder, problem in (
        (cut, "cannot read the model weights"),
        (lacking, r"tensors missing, 0 of another shape, 0 unused: model\.language_model\.layers\.0\."),
        (untokenized, r"tokenizer is missing \(tokenizer\.json, tokenizer_config\.json\)"),
        (tiny_sam2["always"], "model_type 'sam2_video' is not a vision-language model"),
        (garbled, r"cannot load its processor or tokenizer \(JSONDecodeError"),
        (unprocessed, r"the image processor is missing \(preprocessor_config\.json or processor_config\.json\)"),
    ):
        with pytest.raises(ModelNotAvailableError, match=problem) as error:
            create_backend({"vlm_model": str(folder), "device": "cpu"})
        assert str(folder) in str(error.value)


def test_weights_a_config_of_fewer_layers_leaves_unused_are_refused(tiny_qwen, tmp_path):
    """A config.json of one text layer over the weights of two. Before: transformers dropped the second layer's 12 tensors
    (its load report, silenced, called them UNEXPECTED) and the truncated model ran, exit 0."""
    folder = shutil.copytree(tiny_qwen, tmp_path / "shallow")
    config = json.loads((folder / "config.json").read_text())
    config["text_config"].update(num_hidden_layers=1, layer_types=config["text_config"]["layer_types"][:1])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelNotAvailableError) as error:
        create_backend({"vlm_model": str(folder), "device": "cpu"})
    assert str(error.value).startswith(f"--vlm-model {folder}: the weights do not fit its config.json (0 tensors missing, 0 of another shape, 12 unused: "
                                       "model.language_model.layers.1.input_layernorm.weight; ")


def test_model_cache_is_where_the_vlm_is_looked_up_and_downloaded(tiny_qwen, tmp_path, monkeypatch):
    """A Hugging Face id found only in ``--model-cache`` (offline): the checks and the loader both look there."""
    from rau.engines.checks import check_models

    snapshot = tmp_path / "cache/models--tiny--qwen/snapshots/0123abcd"
    shutil.copytree(tiny_qwen, snapshot)
    (tmp_path / "cache/models--tiny--qwen/refs").mkdir()
    (tmp_path / "cache/models--tiny--qwen/refs/main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    options = {"vlm_model": "tiny/qwen", "model_cache": str(tmp_path / "cache"), "device": "cpu"}
    check_models("vlm-box", EngineOptions.from_dict(options))
    assert create_backend(options).family.name == "qwen2.5-vl"
    assert vlm_source(EngineOptions.from_dict({**options, "vlm_server": "http://127.0.0.1:1"})) is None


def test_an_adapter_without_readable_weights_is_refused(tiny_qwen, tmp_path):
    peft = pytest.importorskip("peft")
    from safetensors.torch import save_file

    model = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model
    adapter = tmp_path / "adapter"
    peft.LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)").save_pretrained(adapter)
    with pytest.raises(AdapterError, match=f"{adapter}: the adapter weights are missing"):
        load_adapter(model, adapter)
    (adapter / "adapter_model.safetensors").write_bytes(b"\xff" * 3000)
    with pytest.raises(AdapterError, match=f"{adapter / 'adapter_model.safetensors'}: cannot read the adapter weights"):
        load_adapter(model, adapter)
    foreign = tmp_path / "foreign"  # before: internal errors with torch's or peft's whole message
    peft.LoraConfig(r=4, target_modules=["no_such_proj"]).save_pretrained(foreign)
    save_file({}, foreign / "adapter_model.safetensors")
    with pytest.raises(AdapterError, match=f"{foreign} does not fit this model .*no_such_proj"):
        load_adapter(model, foreign)
    (foreign / "adapter_config.json").write_text("{broken")
    with pytest.raises(AdapterError, match=f"{foreign / 'adapter_config.json'}: not readable JSON"):
        load_adapter(model, foreign)


def test_server_backend_sends_png_data_urls_to_the_named_server(monkeypatch):
    monkeypatch.setenv("RAU_VLM_API_KEY", "secret-token")
    with ChatServer(lambda body: '{"label": "liver", "present": true}') as server:
        backend = create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-72B-Instruct"})
        reply = backend.generate(_messages(), max_new_tokens=20)
    assert reply.text == '{"label": "liver", "present": true}' and reply.prompt_tokens == 321
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    body = request["body"]
    assert body["model"] == "Qwen/Qwen2.5-VL-72B-Instruct" and body["max_tokens"] == 20 and body["temperature"] == 0
    urls = [p["image_url"]["url"] for m in body["messages"] for p in m["content"] if p["type"] == "image_url"]
    assert len(urls) == 2 and all(u.startswith("data:image/png;base64,") for u in urls)
    picture = Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1])))
    assert picture.size == (84, 56) and picture.mode == "RGB"


def test_replies_in_other_shapes_are_read_and_an_unfit_key_is_refused_unshown(monkeypatch):
    """Before: content as a list of text parts read as "empty answer"; a "usage" that is not an object was an internal
    error; a key with a line break (read from a file) was refused by http.client with the key in the message."""
    parts = {"choices": [{"message": {"content": [{"type": "text", "text": '{"label": '}, {"type": "text", "text": None},
                                                  {"type": "image_url", "image_url": {}}, {"type": "text", "text": '"liver"}'}]}}],
             "usage": "bad"}
    with ChatServer(lambda body: parts) as server:
        monkeypatch.setenv("RAU_VLM_API_KEY", "sk-live-abc123\r\n")  # the line break is dropped
        reply = create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"}).generate(_messages(), 4)
        assert (reply.text, reply.prompt_tokens) == ('{"label": "liver"}', None)
        assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-live-abc123"
        monkeypatch.setenv("RAU_VLM_API_KEY", "sk-live\rabc123")
        with pytest.raises(OptionError, match="RAU_VLM_API_KEY holds a character an HTTP header cannot carry") as refused:
            create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
        assert "abc123" not in str(refused.value) and len(server.requests) == 1


@pytest.mark.parametrize(
    "reply, message",
    [((500, "model crashed"), "HTTP 500: .*model crashed"), ((302, "moved"), "redirect to http://127.0.0.1:9/elsewhere refused")],
)
def test_server_errors_are_clear(reply, message):
    with ChatServer(lambda body: reply) as server:
        backend = ServerBackend(server.url + "/v1", "m", QWEN2_5_VL)
        with pytest.raises(RuntimeError, match=message):
            backend.generate(_messages(), 4)
    assert len(server.requests) == 1


def test_a_server_echoing_the_api_key_in_an_error_does_not_get_it_printed(monkeypatch):
    """Before: "answered HTTP 401: ... Bearer sk-SECRET123", printed and stored in rau evaluate --vqa's figures."""
    monkeypatch.setenv("RAU_VLM_API_KEY", "sk-SECRET123")
    for padding in (0, *range(240, 280, 4)):  # the error is cut at 300 characters: a key across the cut is not shown in part either
        with ChatServer(lambda body: (401, "x" * padding + "bad key Bearer sk-SECRET123")) as server:
            backend = create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
            with pytest.raises(RuntimeError, match=r"HTTP 401: ") as refused:
                backend.generate(_messages(), 4)
        assert "sk-" not in str(refused.value), padding
        assert padding or "bad key Bearer <RAU_VLM_API_KEY>" in str(refused.value)


def test_a_reply_without_choices_echoing_the_api_key_does_not_get_it_printed_in_part(monkeypatch):
    """Before: "reply has no choices[0].message.content: {'echo': 'xxx...sk-SECRE", cut to 200 characters before the key was
    taken out."""
    monkeypatch.setenv("RAU_VLM_API_KEY", "sk-SECRET123")
    for padding in range(175, 200, 3):  # the reply is shown up to 200 characters
        with ChatServer(lambda body: {"echo": "x" * padding + "sk-SECRET123"}) as server:
            backend = create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
            with pytest.raises(RuntimeError, match=r"reply has no choices\[0\]\.message\.content: ") as refused:
                backend.generate(_messages(), 4)
        assert "sk-" not in str(refused.value), padding


@pytest.mark.parametrize("reply", [
    lambda key: (500, "bad key Bearer " + key),  # JSON-escaped by the server: sk-a'b\\c\"d/e
    lambda key: {"echo": "x" + key},  # no choices: shown as Python writes the reply, sk-a\'b\\c"d/e
    lambda key: {"echo": json.dumps({"a": key})},  # escaped twice
])
def test_an_api_key_the_server_echoes_escaped_is_not_printed(reply, monkeypatch):
    """Before: only the key as it stands was left out: "bad key Bearer sk-ab\\\\cd\\"ef", escaped, was printed."""
    key = "sk-a'b\\c\"d/e"
    monkeypatch.setenv("RAU_VLM_API_KEY", key)
    with ChatServer(lambda body: reply(key)) as server:
        with pytest.raises(RuntimeError, match="<RAU_VLM_API_KEY>") as refused:
            create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"}).generate(_messages(), 4)
    assert "sk-" not in str(refused.value)


@pytest.mark.parametrize("body", [b"sk-a'b\\\\c\\\"d\\/e", b"sk-a\\u0027b\\\\c\\u0022d/e"])  # with \/, with \uXXXX
def test_an_api_key_the_server_echoes_in_other_json_escapes_is_not_printed(body, monkeypatch):
    monkeypatch.setenv("RAU_VLM_API_KEY", "sk-a'b\\c\"d/e")
    reply = b"HTTP/1.1 401 No\r\nContent-Length: %d\r\n\r\n" % (len(body) + 9) + b"bad key: " + body
    with RawServer(reply) as server:
        with pytest.raises(RuntimeError, match="HTTP 401: bad key: <RAU_VLM_API_KEY>$"):
            create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct"}).generate(_messages(), 4)


@pytest.mark.parametrize("url, message", [
    ("http://alice:pw-SECRET@127.0.0.1:8000", "--vlm-server http://127.0.0.1:8000: the URL carries a user name or password; give the server's API key in the RAU_VLM_API_KEY"),
    ("http://127.0.0.1:8000/v1?api-version=2024", r"a query \(\?...\) or fragment \(#...\) in the URL is not supported"),
    ("http://127.0.0.1:8000/v1?key=SECRET#x", r"--vlm-server http://127.0.0.1:8000/v1: a query \(\?...\) or fragment"),  # before: shown whole
    ("http://127.0.0.1:99999/v1", "--vlm-server http://127.0.0.1:99999/v1: Port out of range"),
    ("http://alice:pw-SECRET@[::1:8000", r"--vlm-server http://\[::1:8000: Invalid IPv6 URL"),  # before: an internal error
    ("http://exa mple:80", "--vlm-server 'http://exa mple:80': a URL cannot hold a space or control character"),  # before: internal errors
    ("http://127.0.0.1:1/a b", "--vlm-server 'http://127.0.0.1:1/a b': a URL cannot hold a space"),
    ("http://127.0.0.1:1/a\tb", r"--vlm-server 'http://127.0.0.1:1/a\\tb': a URL cannot hold a space or control character"),
    ("http://127.0.0.1:1/\u00e9", "--vlm-server 'http://127.0.0.1:1/\u00e9': .* nor a letter outside ASCII in its path; percent-encode it"),
])
def test_a_server_url_the_request_could_not_go_to_as_given_is_refused(url, message):
    """Before: the password was printed in "cannot reach ... Name or service not known", a query had the path glued onto
    it (http://h/v1?api-version=2024/v1/chat/completions), port 99999 was tried for 4 s as "Connection refused", and a
    space or a tab failed in the first request (http.client's InvalidURL, an internal error), an accented letter as "sent an
    unreadable reply: 'ascii' codec can't encode"."""
    with pytest.raises(OptionError, match=message) as refused:
        ServerBackend(url, "m", QWEN2_5_VL)
    assert "SECRET" not in str(refused.value)


def test_a_server_url_with_a_password_is_refused_whatever_the_engine_before_it_is_recorded(shared_data, tmp_path, capsys):
    """Before: checked only by the engines that call the server; with the registration engine the URL, password and
    all, was written to the result JSON."""
    from rau.cli import main
    from rau.options import EngineOptions

    with pytest.raises(OptionError, match="--vlm-server http://127.0.0.1:8000: the URL carries a user name or password") as refused:
        EngineOptions(vlm_server="http://alice:pw-SECRET@127.0.0.1:8000")
    assert "SECRET" not in str(refused.value)
    folder = shared_data / "hc18_fetal_head_us"
    assert main(["segment", "--reference", str(folder / "images" / "000_HC.png"), "--reference-labels", str(folder / "masks" / "000_HC_mask.png"),
                 "--target", str(folder / "images" / "001_HC.png"), "--vlm-server", "http://alice:pw-SECRET@127.0.0.1:8000",
                 "--out", str(tmp_path / "out" / "run.nii.gz")]) == 2
    assert "user name or password" in capsys.readouterr().err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("server", [
    lambda: ChatServer(lambda body: "[]" * 200, trickle=0.02),  # the body: about 10 s to send it all
    lambda: RawServer(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n", trickle=0.2),  # the head: about 10 s
])
def test_a_server_that_sends_its_answer_a_byte_at_a_time_is_given_up_on_at_the_timeout(server):
    """Before: --vlm-timeout bounded each wait for a byte, not the answer: a trickling server held a run for a minute;
    then it bounded the body only, and a server trickling the reply's head (status line, headers) held it still."""
    import time

    with server() as server:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"gave no answer within 1 s \(--vlm-timeout\)"):
            ServerBackend(server.url, "m", QWEN2_5_VL, timeout=1).generate(_messages(), 4)
    assert time.monotonic() - started < 3


BODY = b'{"choices":[{"message":{"content":"[]"}}]}'


@pytest.mark.parametrize("reply, message", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2b\r\n" + BODY[:20], "closed the connection before the end of its reply"),
    (b"\x00garbage\r\n\r\n", r"sent an unreadable reply: BadStatusLine\('\\x00garbage\\r\\n'\)"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-H: 1\r\n" * 150 + b"\r\n", r"sent an unreadable reply: HTTPException\('got more than 100 headers'\)"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", "sent an unreadable reply: LineTooLong"),
])
def test_a_malformed_http_reply_is_the_servers_problem_not_an_internal_error(reply, message):
    """Before: http.client's own errors (a cut chunk, a bad status line, too many or too long headers) escaped as
    internal errors (exit 70), and stopped a whole rau evaluate --vqa."""
    from rau.errors import UnavailableError

    with RawServer(reply) as server, pytest.raises(UnavailableError, match=f"VLM server {server.url}/v1/chat/completions {message}"):
        ServerBackend(server.url, "m", QWEN2_5_VL, timeout=5).generate(_messages(), 4)


def test_a_reply_cut_short_of_its_content_length_is_said_so_not_read_as_bad_json():
    """Before: "sent an unreadable reply: Unterminated string starting at: line 1 column 14", the JSON parser's word."""
    from rau.errors import UnavailableError

    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY[:20]
    with RawServer(reply) as server, pytest.raises(UnavailableError, match=f"{server.url}/v1/chat/completions closed the connection after 20 of 42 bytes of its reply$"):
        ServerBackend(server.url, "m", QWEN2_5_VL, timeout=5).generate(_messages(), 4)


def test_a_reply_naming_another_model_is_kept_and_warned_of_once_a_run():
    """Before: a server answering with another model than asked was taken at its word, boxes and all, without a word."""
    from rau.vlm.families import QWEN3_VL

    reply = {"model": "some/other-model", "choices": [{"message": {"content": "[]"}}]}
    with ChatServer(lambda body: reply) as server:
        backend = ServerBackend(server.url, "Qwen/Qwen3-VL-8B-Instruct", QWEN3_VL)
        for _ in range(2):  # two runs, two calls each: each run records the warning once
            with collected_warnings() as said:
                assert [backend.generate(_messages(), 4).text for _ in range(2)] == ["[]", "[]"]
            assert said == [f"VLM server {server.url}/v1/chat/completions answered as model 'some/other-model', not "
                            "'Qwen/Qwen3-VL-8B-Instruct' as asked; its boxes were read in the qwen3-vl convention (the family of --vlm-model, "
                            "or --vlm-family): if the server runs another model, name it with --vlm-model or --vlm-family"]
        assert backend.served_model == "some/other-model"
        reply["model"] = "Qwen/Qwen3-VL-8B-Instruct"  # the model asked for: no word
        with collected_warnings() as said:
            backend.generate(_messages(), 4)
        assert said == [] and backend.served_model == "Qwen/Qwen3-VL-8B-Instruct"


def test_unreachable_server_and_bad_url():
    with ChatServer(lambda body: "") as server:
        url = server.url
    with pytest.raises(RuntimeError, match="cannot reach VLM server"):
        ServerBackend(url, "m", QWEN2_5_VL, timeout=5).generate(_messages(), 4)
    with pytest.raises(ValueError, match="http:// or https://"):
        ServerBackend("ftp://example", "m", QWEN2_5_VL)
    with pytest.raises(ValueError, match="--vlm-adapter applies to a local model"):
        create_backend({"vlm_server": url, "vlm_adapter": "/tmp"})


def test_vlm_weights_and_adapters_are_checked_before_any_work_naming_the_option(tiny_qwen, tmp_path):
    """Before: a cut-off VLM checkpoint and a missing adapter folder were found only once the model loaded (7-10 s in),
    and the adapter's message named no option and did not say the folder was missing."""
    from rau.engines.checks import check_models
    from rau.errors import OptionError

    cut = shutil.copytree(tiny_qwen, tmp_path / "cut")
    (cut / "model.safetensors").write_bytes((tiny_qwen / "model.safetensors").read_bytes()[:3000])
    with pytest.raises(OptionError, match=f"--vlm-model {cut}: .*cannot read the model weights"):
        check_models("vlm-box", EngineOptions.from_dict({"vlm_model": str(cut), "device": "cpu"}))
    gone = tmp_path / "no_adapter"
    with pytest.raises(OptionError, match=f"--vlm-adapter {gone}: no such folder"):
        check_models("vlm-box", EngineOptions.from_dict({"vlm_model": str(tiny_qwen), "vlm_adapter": str(gone), "device": "cpu"}))
    file = tmp_path / "adapter.safetensors"  # before: "no such folder" for a file that is there
    file.write_bytes(b"")
    with pytest.raises(OptionError, match=f"--vlm-adapter {file}: a file, not a folder"):
        check_models("vlm-box", EngineOptions.from_dict({"vlm_model": str(tiny_qwen), "vlm_adapter": str(file), "device": "cpu"}))


def test_an_adapter_trained_on_another_model_family_is_refused_naming_both(tiny_qwen, tmp_path):
    """Before, a Qwen3-VL adapter (boxes 0-1000) loaded onto a Qwen2.5-VL model (boxes in pixels), and the other way
    round, with only the general "trained on another base model" warning: its boxes were then misread."""
    from rau.engines.checks import check_models

    peft = pytest.importorskip("peft")
    adapter = tmp_path / "adapter"
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)")
    peft.get_peft_model(create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model, config).save_pretrained(adapter)
    (adapter / "rau_adapter.json").write_text(json.dumps({"base_model": "Qwen/Qwen3-VL-8B-Instruct", "family": "qwen3-vl"}))
    message = (f"{adapter}: the adapter was trained on a qwen3-vl model, which writes boxes normalized to 0-1000, but {tiny_qwen} "
               "is a qwen2.5-vl model, which writes them in pixels: its boxes would be misread; load it onto a qwen3-vl model")
    with pytest.raises(AdapterError) as refused:
        create_backend({"vlm_model": str(tiny_qwen), "vlm_adapter": str(adapter), "device": "cpu"})
    assert str(refused.value).startswith(f"--vlm-adapter {adapter}: ") and message in str(refused.value)
    with pytest.raises(OptionError) as refused:
        check_models("vlm-box", EngineOptions.from_dict({"vlm_model": str(tiny_qwen), "vlm_adapter": str(adapter), "device": "cpu"}))
    assert message in str(refused.value)
    (adapter / "rau_adapter.json").write_text(json.dumps({"base_model": str(tiny_qwen), "family": "qwen2.5-vl"}))
    assert create_backend({"vlm_model": str(tiny_qwen), "vlm_adapter": str(adapter), "device": "cpu"}).family.name == "qwen2.5-vl"


def test_a_local_answer_stopped_at_the_token_limit_is_said_to_be_cut_short(tiny_qwen):
    """Before, an answer generation stopped at max_new_tokens read as one the model ended."""
    backend = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"})
    cut = backend.generate(_messages(), max_new_tokens=2)
    assert cut.completion_tokens == 2 and cut.cut_short
