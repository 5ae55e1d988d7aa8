"""SAM2 model loading (aliases, offline errors) and the two engines from the command line."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from rau.cli import main
from rau.demo import SAMPLE_DATA
from rau.engines.checks import check_models
from rau.errors import OptionError
from rau.models.loader import ModelNotAvailableError, ModelSource, pick_device
from rau.options import EngineOptions
from rau.sam2.model import VIDEO_MODELS, check_sam2, model_source
from rau.sam2.segmenter import Sam2Segmenter
from rau.user_warnings import collected_warnings


def test_aliases_name_the_sam21_checkpoints_and_folders_pass_through(tmp_path):
    assert model_source(None).name == "facebook/sam2.1-hiera-base-plus"
    assert model_source("tiny").name == "facebook/sam2.1-hiera-tiny"
    assert model_source(str(tmp_path)).is_local


def test_offline_without_weights_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    segmenter = Sam2Segmenter("facebook/sam2.1-hiera-tiny", device="cpu", cache_dir=str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="offline mode is on.*hf download facebook/sam2.1-hiera-tiny --local-dir FOLDER"):
        segmenter.model


def test_offline_segment_names_the_hf_command_with_the_revision(monkeypatch, tmp_path, capsys):
    """Before, the hint named huggingface-cli, which the pinned huggingface_hub no longer installs (its command is hf),
    and downloaded into the cache, not a folder to copy."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    data = SAMPLE_DATA / "hc18"
    code = main(["segment", "--reference", str(data / "000_HC.png"), "--reference-labels", str(data / "000_HC_mask.png"),
                 "--target", str(data / "001_HC.png"), "--engine", "registration+sam2", "--sam2-model", "tiny",
                 "--sam2-revision", "v1", "--model-cache", str(tmp_path), "--out", str(tmp_path / "out.nii.gz")])
    error = capsys.readouterr().err
    assert code == 2 and "(hf download facebook/sam2.1-hiera-tiny --revision v1 --local-dir FOLDER) and copy FOLDER here" in error


def test_loads_a_saved_model_through_the_production_loader(tiny_sam2):
    model = Sam2Segmenter(str(tiny_sam2["random"]), device="cpu").model
    assert type(model).__name__ == "Sam2VideoModel" and not model.training
    assert model.config.image_size == 64


def _write(array, path, spacing=(1.0, 1.0, 2.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return str(path)


@pytest.mark.parametrize("engine", ["sam2-memory", "registration+sam2"])
def test_engines_run_from_the_cli(tiny_sam2, tmp_path, engine):
    if engine == "registration+sam2":
        pytest.importorskip("rau.engines.registration", reason="the registration engine has not landed yet")
    rng = np.random.default_rng(0)
    labels = np.zeros((6, 24, 24), np.uint8)
    labels[2:4, 5:12, 5:12] = 1
    labels[2:5, 14:20, 12:20] = 2
    image = _write(rng.normal(size=(6, 24, 24)).astype(np.float32), tmp_path / "ref.nii.gz")
    label_map = _write(labels, tmp_path / "ref_labels.nii.gz")
    target = _write(rng.normal(size=(6, 24, 24)).astype(np.float32), tmp_path / "target.nii.gz")
    out = tmp_path / "out" / "target.nii.gz"
    code = main([
        "segment", "--reference", image, "--reference-labels", label_map, "--target", target, "--out", str(out),
        "--engine", engine, "--sam2-model", str(tiny_sam2["always"]), "--device", "cpu", "--slice-axis", "k",
    ])
    assert code == 0
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    assert written.shape == (6, 24, 24)
    summary = json.loads((tmp_path / "out" / "target.result.json").read_text())
    assert summary["engine"] == engine
    assert [s["prompts"]["slice_axis"] for s in summary["structures"] if s["found"]] == ["k"] * sum(s["found"] for s in summary["structures"])


def test_sam2_and_the_sam3_tracker_load_through_the_same_loader_and_segment(tiny_sam2, tmp_path):
    from tiny_sam3 import save_tiny_sam3_tracker

    from rau.engines.base import Reference, Request
    from rau.image import Image
    from rau.labels import Segmentation
    from rau.sam2.model import describe

    sam3 = save_tiny_sam3_tracker(tmp_path / "sam3")
    (sam3 / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5] * 3, "image_std": [0.5] * 3, "size": {"height": 56, "width": 56}}))
    rng = np.random.default_rng(0)
    labels = np.zeros((5, 20, 20), np.uint8)
    labels[1:4, 4:12, 5:14] = 1
    reference = Image(rng.normal(size=labels.shape).astype(np.float32), spacing=(1, 1, 3))
    request = Request([Reference(reference, Segmentation.from_label_map(reference.with_array(labels)))], reference)
    for folder, name, size, mean in ((tiny_sam2["always"], "Sam2VideoModel", 64, 0.485), (sam3, "Sam3TrackerVideoModel", 56, 0.5)):
        assert describe(folder)["class"] == name
        segmenter = Sam2Segmenter(str(folder), device="cpu")
        assert type(segmenter.model).__name__ == name
        assert (segmenter.style.size, segmenter.style.mean[0]) == (size, mean)
        result = segmenter.segment(request, None)
        assert result.structures[0].found and result.details["frames_encoded"] == 6


def test_an_unknown_model_type_names_the_known_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotAvailableError, match="'bert' is not a SAM video model.*sam3_tracker_video"):
        Sam2Segmenter(str(tmp_path), device="cpu").model


def test_the_checkpoint_check_before_loading_loads_no_model(tiny_sam2, tmp_path, monkeypatch):
    """check_sam2 (before any work, and rau models list) reads headers only, quick for any size: weights whose numbers
    are NaN pass it, to be refused once loaded."""
    import torch
    import transformers
    from safetensors.torch import save_file

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    save_file(_nan_weights(folder), folder / "model.safetensors")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("weights loaded"))
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(lambda *a, **k: pytest.fail("model loaded")))
    assert check_sam2(ModelSource(str(folder))) == (folder, VIDEO_MODELS["sam2_video"])
    with pytest.raises(ModelNotAvailableError, match="has no config.json"):
        check_sam2(ModelSource(str(tmp_path)))


def test_medsam2_alias_says_where_to_get_the_weights():
    with pytest.raises(ModelNotAvailableError, match="huggingface.co/wanglab/MedSAM2.*rau models convert"):
        model_source("medsam2")


def _cut(weights):
    weights.write_bytes(weights.read_bytes()[:100_000])


def _flip_a_header_bit(weights):
    data = bytearray(weights.read_bytes())
    data[100] ^= 0x80  # inside the JSON header
    weights.write_bytes(bytes(data))


def _drop_every_other_tensor(weights):
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    save_file({key: tensors[key] for key in sorted(tensors)[::2]}, weights)


def _sam3_weights(weights):
    from tiny_sam3 import save_tiny_sam3_tracker

    shutil.copy(save_tiny_sam3_tracker(weights.parent / "sam3") / "model.safetensors", weights)


def _wider_backbone(weights):
    config = json.loads((weights.parent / "config.json").read_text())
    config["vision_config"]["backbone_config"]["hidden_size"] = 16
    (weights.parent / "config.json").write_text(json.dumps(config))


def _bogus_dtype(weights):
    config = json.loads((weights.parent / "config.json").read_text())
    (weights.parent / "config.json").write_text(json.dumps({**config, "dtype": "bogus"}))


def _words_for_a_number(weights):
    config = json.loads((weights.parent / "config.json").read_text())
    (weights.parent / "config.json").write_text(json.dumps({**config, "num_maskmem": "seven"}))


@pytest.mark.parametrize("damage, problem", [
    (_bogus_dtype, r"its config.json does not describe a Sam2VideoModel \(AttributeError: .*bogus"),  # before: an internal error
    (_words_for_a_number, r"its config.json does not describe a Sam2VideoModel \(StrictDataclassFieldValidationError: .*'num_maskmem'"),  # before: too
    (_cut, "cannot read the model weights"),
    (_flip_a_header_bit, "cannot read the model weights"),
    (_drop_every_other_tensor, r"tensors missing.*mask_decoder\."),
    (_sam3_weights, r"\d+ tensors missing, 0 of another shape"),
    (_wider_backbone, r"0 tensors missing, 4 of another shape, 0 unused: vision_encoder\.backbone\.patch_embed"),
])
def test_damaged_or_foreign_weights_are_refused_naming_the_folder(tiny_sam2, tmp_path, capfd, damage, problem):
    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    damage(folder / "model.safetensors")
    capfd.readouterr()
    with pytest.raises(ModelNotAvailableError, match=problem) as error:
        Sam2Segmenter(str(folder), device="cpu").model
    assert str(folder) in str(error.value) and "\n" not in str(error.value)
    assert capfd.readouterr().err == ""  # before: transformers' load report, hundreds of lines, above the one-line error
    if damage in (_cut, _flip_a_header_bit):  # and before any work: before, registration+sam2 found them after its registration
        with pytest.raises(OptionError, match=f"--sam2-model {folder}: .*cannot read the model weights"):
            check_models("registration+sam2", EngineOptions.from_dict({"sam2_model": str(folder)}))
        assert main(["models", "list", str(folder)]) == 2  # before: listed as usable


def test_a_cut_off_or_junk_pytorch_bin_checkpoint_is_refused_before_any_work(tiny_sam2, tmp_path):
    """Before: a .bin cut in half passed the check and failed mid-run as an internal error (exit 70), and a junk one
    was said to have a config.json that does not describe a Sam2VideoModel."""
    import torch
    from safetensors.torch import load_file

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    check_models("sam2-memory", EngineOptions.from_dict({"sam2_model": str(folder)}))  # a whole .bin passes
    whole = (folder / "pytorch_model.bin").read_bytes()
    for damaged in (whole[: len(whole) // 2], b"junk!"):
        (folder / "pytorch_model.bin").write_bytes(damaged)
        with pytest.raises(OptionError, match=f"--sam2-model {folder}: .*pytorch_model.bin: cannot read the model weights"):
            check_models("sam2-memory", EngineOptions.from_dict({"sam2_model": str(folder)}))


def test_a_pytorch_bin_holding_no_state_dict_is_named_not_its_config(tiny_sam2, tmp_path):
    """Before: "its config.json does not describe a Sam2VideoModel (TypeError: cannot convert dictionary update sequence
    element #0 to a sequence)", blaming the config for a weights file holding one tensor."""
    import torch

    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(tiny_sam2["always"] / "config.json", folder)
    torch.save(torch.zeros(3), folder / "pytorch_model.bin")
    with pytest.raises(OptionError) as error:
        check_models("sam2-memory", EngineOptions.from_dict({"sam2_model": str(folder)}))
    assert str(error.value) == (f"--sam2-model {folder}: {folder / 'pytorch_model.bin'}: not a model's weights (it holds a Tensor, not a "
                                "state dict of named tensors); copy the whole model folder")


def test_a_sharded_checkpoint_missing_a_shard_is_refused_before_any_work(tiny_sam2, tmp_path):
    """Before: the check read the shards present only, so every target of a batch failed on its own, each with
    the same "No such file ...model-00002-of-00002.safetensors"."""
    from safetensors.torch import load_file, save_file

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    tensors = load_file(folder / "model.safetensors")
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[: len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for shard, keys in halves.items():
        save_file({key: tensors[key] for key in keys}, folder / shard, metadata={"format": "pt"})
    (folder / "model.safetensors").unlink()
    index = {"metadata": {}, "weight_map": {key: shard for shard, keys in halves.items() for key in keys}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    check_models("sam2-memory", EngineOptions.from_dict({"sam2_model": str(folder)}))  # whole, it passes
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(OptionError, match=f"--sam2-model {folder}: .*model.safetensors.index.json names "
                                          "model-00002-of-00002.safetensors, which is not in"):
        check_models("sam2-memory", EngineOptions.from_dict({"sam2_model": str(folder)}))


def _volumes(tmp_path) -> dict[str, str]:
    """A small reference volume with its labels and a target, written to ``tmp_path``."""
    rng = np.random.default_rng(0)
    labels = np.zeros((4, 24, 24), np.uint8)
    labels[1:3, 5:12, 5:12] = 1
    return {"image": _write(rng.normal(size=(4, 24, 24)).astype(np.float32), tmp_path / "ref.nii.gz"),
            "labels": _write(labels, tmp_path / "ref_labels.nii.gz"),
            "target": _write(rng.normal(size=(4, 24, 24)).astype(np.float32), tmp_path / "target.nii.gz")}


def _segment_with(folder, tmp_path) -> int:
    """``rau segment`` of :func:`_volumes` with the SAM2 checkpoint in ``folder``."""
    data = _volumes(tmp_path)
    return main(["segment", "--reference", data["image"], "--reference-labels", data["labels"], "--target", data["target"],
                 "--out", str(tmp_path / "out" / "t.nii.gz"), "--engine", "sam2-memory", "--sam2-model", str(folder), "--device", "cpu"])


def _nan_weights(folder):
    """The checkpoint in ``folder`` with every floating-point number NaN, its header intact."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    return {key: value.fill_(float("nan")) if value.is_floating_point() else value for key, value in tensors.items()}


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_weights_that_hold_nan_are_refused_once_loaded_naming_the_option(kind, tiny_sam2, tmp_path, capsys):
    """A checkpoint whose header is intact but whose numbers are NaN: before, every structure was "not found (SAM2
    found no object (object score below zero))", exit 0; then it was found only once SAM2 ran, naming no option. The
    numbers are checked in memory once loaded (reading them before would cost a second read of the weights)."""
    import torch
    from safetensors.torch import save_file

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    if kind == "bin":
        torch.save(_nan_weights(folder), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    else:
        save_file(_nan_weights(folder), folder / "model.safetensors")
    assert _segment_with(folder, tmp_path) == 2
    assert f"error: --sam2-model {folder}: the model weights hold NaN or infinite values (tensor " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_weights_that_overflow_to_nan_are_named_when_sam2_runs(tiny_sam2, tmp_path, capsys):
    """Finite weights so large that SAM2's sums overflow pass the check once loaded: the object scores still tell."""
    import torch
    from safetensors.torch import load_file, save_file

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    tensors = load_file(folder / "model.safetensors")
    save_file({key: torch.full_like(value, 3.0e38) if value.is_floating_point() else value for key, value in tensors.items()},
              folder / "model.safetensors")
    assert _segment_with(folder, tmp_path) == 2
    assert "SAM2 (--sam2-model) gave no finite object score" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "batch"])
def test_rau_evaluate_and_batch_stop_at_a_checkpoint_damaged_in_the_middle(command, tiny_sam2, tmp_path, capsys):
    """4 KiB of 0xff in the middle of model.safetensors (NaN numbers), its header intact: the check before any case
    reads headers only, so SAM2 is refused as it loads on the first case, naming --sam2-model and the folder. An
    unusable argument: the run stops there, exit 2, nothing written. Before: every case loaded the model again and
    failed alike, and the run ended 1 with figures of failures."""
    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096
    (folder / "model.safetensors").write_bytes(bytes(data))
    paths = _volumes(tmp_path)
    second = shutil.copy(paths["target"], tmp_path / "second.nii.gz")
    manifest = tmp_path / "cases.csv"
    if command == "evaluate":
        manifest.write_text("reference_image,reference_labels,target_image,target_labels\n" + "".join(
            f"{paths['image']},{paths['labels']},{target},{paths['labels']}\n" for target in (paths["target"], second)))
        outputs = ["--json", str(tmp_path / "out" / "figures.json")]
    else:
        manifest.write_text("target_image,reference_image,reference_labels\n" + "".join(
            f"{target},{paths['image']},{paths['labels']}\n" for target in (paths["target"], second)))
        outputs = ["--out", str(tmp_path / "out"), "--workers", "1"]
    code = main([command, str(manifest), *outputs, "--engine", "sam2-memory", "--sam2-model", str(folder), "--device", "cpu"])
    error = capsys.readouterr().err
    assert code == 2 and f"rau {command}: error: --sam2-model {folder}: the model weights hold NaN or infinite values (tensor " in error
    assert error.count("hold NaN") == 1 and "failed" not in error
    assert not list((tmp_path / "out").glob("*.json"))


def test_a_broken_preprocessor_config_is_refused_naming_it(tiny_sam2, tmp_path, capsys):
    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    (folder / "preprocessor_config.json").write_text("{bad")
    assert main(["models", "list", str(folder)]) == 2
    assert f"{folder / 'preprocessor_config.json'}: cannot read" in capsys.readouterr().err


def test_models_list_names_a_missing_folder_and_an_adapter_as_such(tmp_path, capsys):
    """Before: both were "config.json: cannot read this model file ([Errno 2] ...)"."""
    assert main(["models", "list", str(tmp_path / "gone")]) == 2
    assert f"FOLDER {tmp_path / 'gone'}: no such folder" in capsys.readouterr().err
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    assert main(["models", "list", str(tmp_path / "adapter")]) == 2
    assert "a LoRA adapter (rau train), not a SAM model; give it to rau segment with --vlm-adapter" in capsys.readouterr().err


def test_a_file_is_not_taken_for_a_hugging_face_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "000.png").write_bytes(b"not a model")
    with pytest.raises(ModelNotAvailableError, match="data/000.png is a file, not a model folder"):
        Sam2Segmenter("data/000.png", device="cpu").model


def test_a_gpu_kind_the_machine_lacks_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device, gpu in (("mps", "Apple MPS GPU"), ("cuda:0", "CUDA GPU")):
        with pytest.raises(ModelNotAvailableError, match=f"no {gpu} is available"):
            pick_device(device)
        # and before any work: before, a registration ran first and evaluate failed every case (exit 1, not 2)
        with pytest.raises(OptionError, match=f"--device {device}: device .* was requested but no {gpu} is available"):
            check_models("registration+sam2", EngineOptions.from_dict({"device": device}))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ModelNotAvailableError, match=r"device 'cuda:1' was requested but this machine has 1 CUDA GPU"):
        pick_device("cuda:1")


def test_a_sam2_folder_without_weights_is_refused_before_any_work(tiny_sam2, tmp_path):
    """Before, it passed the check: rau batch ran and failed every target (exit 1) instead of refusing the option."""
    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    (folder / "model.safetensors").unlink()
    with pytest.raises(OptionError, match=f"--sam2-model {folder} holds no model weights"):
        check_models("registration+sam2", EngineOptions.from_dict({"sam2_model": str(folder)}))


@pytest.mark.parametrize("file, change, problem", [
    ("config.json", {"image_size": "big"}, "config.json: image_size must be a whole number of pixels, got 'big'"),
    ("preprocessor_config.json", {"size": "64x64"}, "its preprocessor config's size is not a number: '64x64'"),
    ("preprocessor_config.json", {"image_mean": 0.5}, "its preprocessor config's image_mean is not three numbers: 0.5"),
    # before: "... that is not a number (or three): size 64", quoting the one setting that was right
    ("preprocessor_config.json", {"image_mean": "abc", "size": 64}, "its preprocessor config's image_mean is not three numbers: 'abc'"),
])
def test_a_config_with_values_of_the_wrong_kind_is_refused_before_any_work(tiny_sam2, tmp_path, capsys, file, change, problem):
    """Before: internal errors (exit 70) in rau models list, and in rau segment after the model had loaded."""
    import json

    folder = shutil.copytree(tiny_sam2["always"], tmp_path / "model")
    settings = json.loads((folder / file).read_text()) if (folder / file).exists() else {}  # the tiny model has no preprocessor file
    (folder / file).write_text(json.dumps({**settings, **change}))
    assert main(["models", "list", str(folder)]) == 2
    printed = capsys.readouterr()
    assert problem in printed.err
    assert printed.out == ""  # the listing is not printed before the error
    with pytest.raises(OptionError, match=problem.replace("(", r"\(")):
        check_models("registration+sam2", EngineOptions.from_dict({"sam2_model": str(folder)}))


def test_a_failed_download_is_said_on_one_line(tmp_path):
    """The hub's own error spans two lines; before, ``rau segment`` printed them as they were (the README promises one
    line). A real download attempt, refused on loopback."""
    data = SAMPLE_DATA / "hc18"
    environment = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "home")}
    environment.pop("HF_HUB_OFFLINE", None)
    run = subprocess.run([sys.executable, "-m", "rau", "segment", "--reference", str(data / "000_HC.png"), "--reference-labels",
                          str(data / "000_HC_mask.png"), "--target", str(data / "001_HC.png"), "--engine", "registration+sam2",
                          "--sam2-model", "tiny", "--model-cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out.nii.gz")],
                         capture_output=True, text=True, env=environment, timeout=300)
    assert run.returncode == 2 and run.stderr.count("\n") <= 1, run.stderr
    assert "download failed: " in run.stderr and "Connection refused. " in run.stderr and "(hf download facebook/sam2.1-hiera-tiny" in run.stderr
    assert not (tmp_path / "out.nii.gz").exists()


def test_the_server_asks_for_the_device_without_touching_the_warning_filters_of_other_threads():
    """The server's device lookup silenced "no GPU found" with warnings.catch_warnings(), which swaps the filters of
    every thread: with four jobs at once the warning reached the server's standard error."""
    import warnings

    with warnings.catch_warnings(record=True) as said, collected_warnings() as told:
        warnings.simplefilter("always")
        device = pick_device(None, quiet=True)
    assert device in ("cuda", "mps", "cpu") and not said and not told


def test_no_gpu_is_said_once_a_run_however_many_models_it_loads(monkeypatch):
    """The rau engine loads a VLM and a SAM2 model: each asks for the device, and the run should say "no GPU" once."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with collected_warnings() as said:
        assert [pick_device(None), pick_device("auto"), pick_device("cpu")] == ["cpu"] * 3
    assert len(said) == 1 and said[0].startswith("no GPU found: running on the CPU")
