"""Model folders and output paths the training commands name before any work: a VLM folder without its chat template,
a --vlm-family its config.json contradicts, a mistyped local model folder, a pairs --out under a file, through a link
or in a folder without write permission."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rau.cli import main
from rau.engines.checks import check_models
from rau.errors import OptionError
from rau.models.loader import ModelNotAvailableError, ModelSource
from rau.options import EngineOptions
from rau.vlm.families import QWEN2_5_VL, QWEN3_VL
from rau.vlm.local import TransformersBackend, check_vlm_folder
from train_data import hc18_manifest

QUICK_PAIRS = ["--tasks", "box", "--references-per-target", "1", "--slices-per-pair", "1", "--questions-per-pair", "1"]


def test_a_vlm_folder_without_its_chat_template_is_refused(tiny_qwen, tmp_path):
    """Before: it passed the folder check and failed after loading, as an internal error in the chat template."""
    folder = shutil.copytree(tiny_qwen, tmp_path / "no_chat")
    template = (folder / "chat_template.jinja").read_text()
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(ModelNotAvailableError, match=f"{folder}: the chat template is missing \\(chat_template.jinja or chat_template.json"):
        TransformersBackend.load(ModelSource(str(folder)), device="cpu")
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "chat_template": template}))  # where older folders keep it
    check_vlm_folder(folder)


def test_a_vlm_family_that_contradicts_the_local_config_is_refused(tiny_qwen):
    """Before: --vlm-family qwen3-vl on a local Qwen2.5-VL folder read its boxes in the other convention, silently."""
    with pytest.raises(OptionError, match=f"--vlm-family qwen3-vl contradicts {tiny_qwen / 'config.json'}, whose model_type 'qwen2_5_vl' is a qwen2.5-vl"):
        TransformersBackend.load(ModelSource(str(tiny_qwen)), device="cpu", family=QWEN3_VL)
    assert TransformersBackend.load(ModelSource(str(tiny_qwen)), device="cpu", family=QWEN2_5_VL).family.name == "qwen2.5-vl"


def test_a_mistyped_local_model_folder_is_named_as_one(shared_data, tmp_path, capsys, monkeypatch):
    """Before: models/qwen2 (one slash) was looked up as a Hugging Face id and reported as a download or offline failure."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network in tests
    manifest = hc18_manifest(shared_data, tmp_path, 2)
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", "pairs", "--model", "models/qwen2"]) == 2
    assert "error: --model models/qwen2: no local folder models/qwen2 exists (models holds no 'qwen2')" in capsys.readouterr().err


def test_a_pairs_out_under_a_file_is_named_and_one_through_a_link_is_written(shared_data, tmp_path, capsys):
    """Before: --out under a file was an internal FileExistsError; a link to an empty folder failed to be replaced."""
    manifest = hc18_manifest(shared_data, tmp_path, 4)
    (tmp_path / "a_file").write_text("")
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "a_file" / "pairs"), *QUICK_PAIRS]) == 2
    assert f"--out {tmp_path / 'a_file' / 'pairs'}: {tmp_path / 'a_file'} is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "link"), *QUICK_PAIRS]) == 0, capsys.readouterr().err
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "card.json").is_file()


@pytest.mark.parametrize("model, said", [
    ("tiny", "--vlm-family qwen3-vl contradicts"),
    ("models/qwen2", "no local folder models/qwen2 exists (models holds no 'qwen2')"),
])
def test_rau_segment_checks_the_vlm_folder_and_family_before_any_work(model, said, tiny_qwen, shared_data, tmp_path, capsys, monkeypatch):
    """Before: rau segment took --vlm-family against the folder's config, and looked a mistyped folder up on the Hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network in tests
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    data = shared_data / "hc18_fetal_head_us" / "images"
    out = tmp_path / "out" / "target.nii.gz"
    code = main(["segment", "--engine", "vlm-box", "--vlm-model", str(tiny_qwen) if model == "tiny" else model, "--vlm-family", "qwen3-vl",
                 "--reference", str(data / "000_HC.png"), "--reference-labels", str(data.parent / "masks" / "000_HC_mask.png"),
                 "--target", str(data / "001_HC.png"), "--out", str(out)])
    assert code == 2 and said in capsys.readouterr().err
    assert not out.parent.exists()


def _segment_with_vlm(folder, shared_data, out) -> int:
    """``rau segment --engine vlm-box`` with the VLM in ``folder`` on an HC18 pair."""
    data = shared_data / "hc18_fetal_head_us" / "images"
    return main(["segment", "--engine", "vlm-box", "--vlm-model", str(folder), "--device", "cpu",
                 "--reference", str(data / "000_HC.png"), "--reference-labels", str(data.parent / "masks" / "000_HC_mask.png"),
                 "--target", str(data / "001_HC.png"), "--out", str(out)])


def test_processor_files_of_another_vlm_are_refused_before_any_work(tiny_qwen, shared_data, tmp_path, capsys):
    """Qwen3-VL's processor (16 px patches) in a Qwen2.5-VL folder (14 px). Before: it passed the checks and failed on the
    first picture, "internal error (RuntimeError: shape '[-1, 3, 2, 14, 14]' is invalid ...)", exit 70."""
    folder = shutil.copytree(tiny_qwen, tmp_path / "other_processor")
    settings = json.loads((folder / "processor_config.json").read_text())
    for part in ("image_processor", "video_processor"):
        settings[part]["patch_size"] = 16
    (folder / "processor_config.json").write_text(json.dumps(settings))
    out = tmp_path / "out" / "target.nii.gz"
    assert _segment_with_vlm(folder, shared_data, out) == 2
    assert (f"error: --vlm-model {folder}: its processor's patch size 16 does not match config.json's vision_config.patch_size 14 "
            "(processor files of another model); copy them from the model's original folder") in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.parametrize("where", ["chat_template.jinja", "tokenizer_config.json"])
def test_a_damaged_chat_template_is_refused_before_any_work(where, tiny_qwen, shared_data, tmp_path, capsys):
    """A template cut off mid-statement. Before: it passed the checks and failed after loading, "internal error
    (TemplateSyntaxError: unexpected end of template ...)", exit 70."""
    folder = shutil.copytree(tiny_qwen, tmp_path / "cut_template")
    cut = "{% for m in messages %}{{ m.content "
    if where == "chat_template.jinja":
        (folder / where).write_text(cut)
    else:
        (folder / "chat_template.jinja").unlink()
        settings = json.loads((folder / where).read_text())
        (folder / where).write_text(json.dumps({**settings, "chat_template": [{"name": "default", "template": cut}]}))
    out = tmp_path / "out" / "target.nii.gz"
    assert _segment_with_vlm(folder, shared_data, out) == 2
    assert (f"error: --vlm-model {folder}: {folder / where}: not a valid chat template (unexpected end of template, expected "
            "'end of print statement'.); copy it from the model's original folder") in capsys.readouterr().err
    assert not out.parent.exists()


def test_a_mistyped_local_sam2_folder_is_named_as_one(shared_data, tmp_path, capsys, monkeypatch):
    """Before: --sam2-model models/sam2x was looked up as a Hugging Face id and reported as an offline failure."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network in tests
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    data = shared_data / "hc18_fetal_head_us" / "images"
    out = tmp_path / "out" / "target.nii.gz"
    code = main(["segment", "--engine", "registration+sam2", "--sam2-model", "models/sam2x",
                 "--reference", str(data / "000_HC.png"), "--reference-labels", str(data.parent / "masks" / "000_HC_mask.png"),
                 "--target", str(data / "001_HC.png"), "--out", str(out)])
    assert code == 2
    assert "--sam2-model models/sam2x: no local folder models/sam2x exists (models holds no 'sam2x')" in capsys.readouterr().err
    assert not out.parent.exists()


def _infinite_vlm(tiny_qwen, folder):
    """A copy of the tiny Qwen in ``folder`` whose every floating-point number is infinite, its header intact."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(tiny_qwen, folder)
    tensors = load_file(folder / "model.safetensors")
    save_file({key: value.fill_(float("inf")) if value.is_floating_point() else value for key, value in tensors.items()},
              folder / "model.safetensors")
    return folder


def test_a_vlm_whose_weights_hold_nan_is_refused_once_loaded_naming_the_option(tiny_qwen, tmp_path):
    """The check before any work reads headers only (quick for any size); the numbers are checked in memory once
    loaded. Before: a NaN checkpoint was found only while it answered."""
    from rau.vlm.backend import create_backend

    folder = _infinite_vlm(tiny_qwen, tmp_path / "damaged")
    options = EngineOptions.from_dict({"vlm_model": str(folder), "device": "cpu"})
    check_models("vlm-box", options)
    with pytest.raises(ModelNotAvailableError) as error:
        create_backend(options)
    assert str(error.value).startswith(f"--vlm-model {folder}: the model weights hold NaN or infinite values (tensor ")


def test_rau_batch_stops_naming_a_vlm_whose_weights_hold_nan(tiny_qwen, tmp_path, capsys):
    """The worker loads the VLM before any target: before, its error broke the worker pool three times and the run
    ended "the worker processes stopped 3 times before running a target (... out of memory?)"."""
    folder = _infinite_vlm(tiny_qwen, tmp_path / "damaged")
    manifest = Path(__file__).resolve().parents[1] / "protocols" / "hc18_single.csv"
    code = main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--limit", "1", "--workers", "1", "--engine", "vlm-box",
                 "--vlm-model", str(folder), "--device", "cpu", "--no-deformable"])
    error = capsys.readouterr().err
    assert code == 2 and f"rau batch: error: --vlm-model {folder}: the model weights hold NaN or infinite values (tensor " in error
    assert "stopped" not in error


def test_a_vlm_adapter_whose_weights_hold_nan_is_refused_once_loaded_naming_the_option(tiny_qwen, tmp_path):
    import torch

    from rau.vlm.backend import create_backend
    from rau.vlm.local import AdapterError

    peft = pytest.importorskip("peft")
    model = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model
    adapted = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)"))
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_" in name:
                parameter.fill_(float("nan"))
    adapted.save_pretrained(tmp_path / "adapter")
    options = EngineOptions.from_dict({"vlm_model": str(tiny_qwen), "vlm_adapter": str(tmp_path / "adapter"), "device": "cpu"})
    check_models("vlm-box", options)
    with pytest.raises(AdapterError) as error:
        create_backend(options)
    assert str(error.value).startswith(f"--vlm-adapter {tmp_path / 'adapter'}: the adapter weights hold NaN or infinite values (tensor ")


def _adapter(folder, config: str | None = None, weights: bytes | None = None):
    """A LoRA adapter folder for the tiny Qwen with no tensors; ``config`` or ``weights`` replace its files' bytes."""
    from safetensors.torch import save_file

    peft = pytest.importorskip("peft")
    peft.LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)").save_pretrained(folder)
    save_file({}, folder / "adapter_model.safetensors")
    if config is not None:
        (folder / "adapter_config.json").write_text(config)
    if weights is not None:
        (folder / "adapter_model.safetensors").write_bytes(weights)
    return folder


@pytest.mark.parametrize("damage, said", [
    ({"weights": b"\xff" * 3000}, "{folder}: {folder}/adapter_model.safetensors: cannot read the adapter weights ("),
    ({"config": "{"}, "{folder}: {folder}/adapter_config.json: not readable JSON ("),
])
def test_a_damaged_vlm_adapter_is_refused_before_any_work_naming_the_option(damage, said, tiny_qwen, tmp_path):
    """Before: the folder check passed it, and loading it said "FOLDER: cannot read the adapter weights" or
    "FOLDER/adapter_config.json: not readable JSON", naming no option."""
    folder = _adapter(tmp_path / "adapter", **damage)
    options = EngineOptions.from_dict({"vlm_model": str(tiny_qwen), "vlm_adapter": str(folder), "device": "cpu"})
    with pytest.raises(OptionError) as error:
        check_models("vlm-box", options)
    assert str(error.value).startswith(f"--vlm-adapter {said.format(folder=folder)}")


def test_rau_train_names_the_model_and_adapter_options_it_refuses(tiny_qwen, tiny_sam2, tmp_path, capsys):
    """Before: sft said "FOLDER: model_type 'sam2_video' is not a vision-language model" and "FOLDER/model.safetensors:
    cannot read ...", build-pairs "--model FOLDER/model.safetensors: ...", naming the option with another value."""
    cut = shutil.copytree(tiny_qwen, tmp_path / "cut")
    (cut / "model.safetensors").write_bytes((cut / "model.safetensors").read_bytes()[:100_000])
    adapter = _adapter(tmp_path / "adapter", weights=b"\xff" * 3000)
    sft = ["train", "sft", "--data", str(tmp_path / "pairs"), "--out", str(tmp_path / "out"), "--device", "cpu"]
    for command, said in (
        (sft + ["--model", str(tiny_sam2["always"])], f"--model {tiny_sam2['always']}: model_type 'sam2_video' is not a vision-language"),
        (sft + ["--model", str(cut)], f"--model {cut}: {cut / 'model.safetensors'}: cannot read the model weights"),
        (sft + ["--model", str(tiny_qwen), "--adapter", str(adapter)], f"--adapter {adapter}: {adapter / 'adapter_model.safetensors'}: cannot read"),
        (["train", "build-pairs", "--data", str(tmp_path), "--out", str(tmp_path / "p"), "--model", str(cut)],
         f"--model {cut}: {cut / 'model.safetensors'}: cannot read the model weights"),
    ):
        assert main(command) == 2
        assert f"error: {said}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_adapter_given_as_the_model_is_said_to_be_an_adapter(shared_data, tmp_path, capsys):
    """Before: "--model ADAPTER has no config.json; point to a folder saved with save_pretrained()", not saying that the
    folder (rau train's OUT, say) is an adapter, which goes in --adapter or --vlm-adapter."""
    adapter = _adapter(tmp_path / "adapter")
    said = (f"{adapter} has no config.json: it holds a LoRA adapter, not a model; give it as the adapter (--adapter, or --vlm-adapter "
            "for rau segment) and its base model as the model")
    sft = ["train", "sft", "--model", str(adapter), "--data", str(tmp_path / "pairs"), "--out", str(tmp_path / "out"), "--device", "cpu"]
    assert main(sft) == 2
    assert f"error: --model {said}" in capsys.readouterr().err
    assert _segment_with_vlm(adapter, shared_data, tmp_path / "seg" / "target.nii.gz") == 2
    assert f"--vlm-model {said}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "seg").exists()


def test_build_pairs_offline_with_a_hub_id_not_in_the_cache_tells_of_family(shared_data, tmp_path, capsys, monkeypatch):
    """Before: only "download it on a machine with internet access ...", though build-pairs needs no model with --family."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manifest = hc18_manifest(shared_data, tmp_path, 2)
    assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / "pairs"), "--model", "Qwen/Qwen2.5-VL-7B-Instruct"]) == 2
    said = capsys.readouterr().err
    assert "--model Qwen/Qwen2.5-VL-7B-Instruct: model 'Qwen/Qwen2.5-VL-7B-Instruct' is not available: offline mode is on" in said
    assert "pass that folder instead of the id; or, without the model, give --family qwen2.5-vl|qwen3-vl|qwen2-vl instead of --model" in said
    assert not (tmp_path / "pairs").exists()


@pytest.mark.parametrize("out", ["locked/pairs", "locked/empty"])
def test_a_pairs_out_in_a_folder_without_write_permission_is_refused_before_any_work(out, shared_data, tmp_path, capsys, monkeypatch):
    """Before: refused only once every pair was drawn and rendered, naming a hidden temporary folder ('could not write
    locked/pairs: [Errno 13] Permission denied: .../locked/.pairs.rau-XXXXXXXX'). A folder root may not write in either
    (:func:`unwritable_folders.unwritable`)."""
    import rau.train.build
    from unwritable_folders import unwritable

    manifest = hc18_manifest(shared_data, tmp_path, 4)
    (tmp_path / "locked" / "empty").mkdir(parents=True)  # an empty --out is filled, but its temporary folder goes beside it
    monkeypatch.setattr(rau.train.build, "read_subjects", lambda *args: pytest.fail("the work started"))
    with unwritable(tmp_path / "locked"):
        assert main(["train", "build-pairs", "--data", str(manifest), "--out", str(tmp_path / out), *QUICK_PAIRS]) == 2
    said = capsys.readouterr().err
    assert f"error: --out {tmp_path / out}: no permission to write in {tmp_path / 'locked'}\n" in said, said
    assert sorted(path.name for path in (tmp_path / "locked").iterdir()) == ["empty"]


def _run_unprivileged(arguments: list[str]):
    """``rau ARGUMENTS`` in a process the file permissions bind: as root, one without the capabilities that override them."""
    import subprocess
    import sys

    from conftest import script_environment

    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root needs setpriv (util-linux) to run a command bound by file permissions")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "rau.cli", *arguments], env=script_environment(), capture_output=True, text=True)


def _lock(path: Path, mode: int) -> None:
    """Give ``path`` to another user with ``mode`` (as root), or take every permission from it (as anyone else)."""
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        path.chmod(mode)
    else:
        path.chmod(0)


def test_model_files_and_folders_without_read_permission_are_named_as_such(tiny_sam2, shared_data, tmp_path):
    """Before: weights without read permission were "cannot read the model weights (No such file or directory: ...)", a
    folder that cannot be searched was ".../config.json: permission denied" (rau segment, naming no option) or
    ".../adapter_config.json: permission denied" (rau models list, a file that is not there)."""
    unreadable = shutil.copytree(tiny_sam2["always"], tmp_path / "unreadable")
    _lock(unreadable / "model.safetensors", 0o600)
    listed = _run_unprivileged(["models", "list", str(unreadable)])
    assert listed.returncode == 2, listed.stderr
    assert f"error: {unreadable / 'model.safetensors'}: cannot read the model weights (permission denied)\n" in listed.stderr
    closed = shutil.copytree(tiny_sam2["always"], tmp_path / "closed")
    try:
        _lock(closed, 0o700)
        listed = _run_unprivileged(["models", "list", str(closed)])
        assert listed.returncode == 2 and listed.stderr.endswith(f"error: {closed}: cannot look into this folder (permission denied)\n"), listed.stderr
        data = shared_data / "hc18_fetal_head_us" / "images"
        checked = _run_unprivileged(["segment", "--engine", "sam2-memory", "--sam2-model", str(closed), "--reference", str(data / "000_HC.png"),
                                     "--reference-labels", str(data.parent / "masks" / "000_HC_mask.png"), "--target", str(data / "001_HC.png"),
                                     "--out", str(tmp_path / "out.nii.gz")])
        assert f"error: --sam2-model {closed}: cannot look into this folder (permission denied)\n" in checked.stderr, checked.stderr
    finally:
        closed.chmod(0o700)  # for pytest to remove it


def test_a_local_vlm_of_a_family_rau_does_not_read_is_refused_before_its_weights_are_loaded(tiny_qwen, shared_data, tmp_path, capsys,
                                                                                            monkeypatch):
    """A folder whose config.json says model_type 'llava'. Before: rau segment and rau train sft loaded its weights, then
    said "unknown vision-language model family for 'llava' ... (set --vlm-family for a server model with another name)",
    naming neither the option nor the folder."""
    import rau.train.model
    import rau.vlm.local

    def loaded(*_, **__):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr(rau.vlm.local, "load_model", loaded)
    monkeypatch.setattr(rau.train.model, "load_model", loaded)
    folder = shutil.copytree(tiny_qwen, tmp_path / "llava")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "llava"}))
    said = (f"{folder}: config.json's model_type 'llava' is of no vision-language model family RAU reads "
            "(supported: Qwen2.5-VL, Qwen3-VL, Qwen2-VL)")
    out = tmp_path / "out" / "target.nii.gz"
    assert _segment_with_vlm(folder, shared_data, out) == 2
    assert f"error: --vlm-model {said}; the command line's --vlm-family reads its boxes as one of them all the same" in capsys.readouterr().err
    assert not out.parent.exists()
    sft = ["train", "sft", "--model", str(folder), "--data", str(tmp_path / "pairs"), "--out", str(tmp_path / "adapter"), "--device", "cpu"]
    assert main(sft) == 2
    assert f"error: --model {said}\n" in capsys.readouterr().err
    assert not (tmp_path / "adapter").exists()
    check_models("vlm-box", EngineOptions(vlm_model=str(folder), vlm_family="qwen2.5-vl"))  # the option decides, as documented
