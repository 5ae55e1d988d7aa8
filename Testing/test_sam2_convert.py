"""``rau models convert``: an original-format SAM2 checkpoint becomes a folder that segments exactly like the model it came from.

The original layout is written here from a tiny random ``Sam2VideoModel`` with the facebookresearch/sam2 key names
(``image_encoder.trunk``, ``sam_mask_decoder``, ``memory_encoder.fuser`` ...), independently of rau's converter.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from rau.cli import main
from rau.engines.base import Reference, Request
from rau.image import Image
from rau.labels import Segmentation
from rau.sam2.segmenter import Sam2Segmenter

THREE_LAYER = r"(iou_prediction_head|output_hypernetworks_mlps\.\d+|pred_obj_score_head|object_pointer_proj)"
TO_ORIGINAL = (  # Sam2VideoModel name -> facebookresearch/sam2 name, in order
    (r"^vision_encoder\.backbone\.", "image_encoder.trunk."),
    (r"^vision_encoder\.neck\.convs\.(\d+)\.", r"image_encoder.neck.convs.\1.conv."),
    (r"^prompt_encoder\.", "sam_prompt_encoder."),
    (r"^mask_decoder\.", "sam_mask_decoder."),
    (r"\.mask_embed\.conv1\.", ".mask_downscaling.0."), (r"\.mask_embed\.layer_norm1\.", ".mask_downscaling.1."),
    (r"\.mask_embed\.conv2\.", ".mask_downscaling.3."), (r"\.mask_embed\.layer_norm2\.", ".mask_downscaling.4."),
    (r"\.mask_embed\.conv3\.", ".mask_downscaling.6."),
    (r"\.shared_embedding\.positional_embedding$", ".pe_layer.positional_encoding_gaussian_matrix"),
    (r"\.upscale_conv1\.", ".output_upscaling.0."), (r"\.upscale_layer_norm\.", ".output_upscaling.1."),
    (r"\.upscale_conv2\.", ".output_upscaling.3."),
    (THREE_LAYER + r"\.layers\.0\.", r"\1.layers.1."), (THREE_LAYER + r"\.proj_in\.", r"\1.layers.0."),
    (THREE_LAYER + r"\.proj_out\.", r"\1.layers.2."),
    (r"\.mlp\.proj_in\.", ".mlp.layers.0."), (r"\.mlp\.proj_out\.", ".mlp.layers.1."),
    (r"^memory_encoder\.projection\.", "memory_encoder.out_proj."),
    (r"\.mask_downsampler\.final_conv\.", ".mask_downsampler.encoder.12."),
    (r"\.mask_downsampler\.layers\.(\d+)\.conv\.", lambda m: f".mask_downsampler.encoder.{3 * int(m.group(1))}."),
    (r"\.mask_downsampler\.layers\.(\d+)\.layer_norm\.", lambda m: f".mask_downsampler.encoder.{3 * int(m.group(1)) + 1}."),
    (r"memory_fuser", "fuser"), (r"depthwise_conv", "dwconv"), (r"pointwise_conv", "pwconv"), (r"\.scale$", ".gamma"),
    (r"\.o_proj\.", ".out_proj."),
    (r"\.layer_norm", ".norm"),
    (r"^memory_encoder\.feature_projection", "memory_encoder.pix_feat_proj"),
    (r"^memory_temporal_positional_encoding$", "maskmem_tpos_enc"),
    (r"^no_memory_embedding$", "no_mem_embed"), (r"^no_memory_positional_encoding$", "no_mem_pos_enc"),
    (r"^no_object_pointer$", "no_obj_ptr"), (r"^object_pointer_proj", "obj_ptr_proj"),
    (r"^occlusion_spatial_embedding_parameter$", "no_obj_embed_spatial"),
    (r"^temporal_positional_encoding_projection_layer", "obj_ptr_tpos_proj"),
    (r"patch_embed\.projection", "patch_embed.proj"),
)


def original_layout(state: dict) -> dict:
    """A ``Sam2VideoModel`` state dict as facebookresearch/sam2 saves it."""
    original = {}
    for key, value in state.items():
        if key == "shared_image_embedding.positional_embedding":
            continue  # the original has it once, in the prompt encoder
        if key == "prompt_encoder.point_embed.weight":
            original.update({f"sam_prompt_encoder.point_embeddings.{i}.weight": row[None].clone() for i, row in enumerate(value)})
            continue
        for pattern, replacement in TO_ORIGINAL:
            key = re.sub(pattern, replacement, key)
        original[key] = value.clone()
    return original


@pytest.fixture
def original_checkpoint(tiny_sam2, tmp_path):
    from transformers import Sam2VideoModel

    state = Sam2VideoModel.from_pretrained(str(tiny_sam2["always"])).state_dict()
    original = original_layout(state)
    for name in ("image_encoder.trunk.blocks.0.attn.qkv.weight", "sam_prompt_encoder.point_embeddings.3.weight", "memory_encoder.fuser.layers.0.gamma",
                 "sam_mask_decoder.output_upscaling.0.weight", "memory_encoder.mask_downsampler.encoder.12.weight", "obj_ptr_proj.layers.2.weight"):
        assert name in original, name
    path = tmp_path / "sam2.1_tiny_original.pt"
    torch.save({"model": original}, path)
    return path


def test_a_converted_original_checkpoint_segments_exactly_like_the_model_it_came_from(tiny_sam2, original_checkpoint, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["models", "convert", str(original_checkpoint), "--config", str(tiny_sam2["always"] / "config.json"), "--out", str(out)]) == 0
    assert "Sam2VideoModel, 64 px frames" in capsys.readouterr().out
    rng = np.random.default_rng(1)
    labels = np.zeros((4, 24, 24), np.uint8)
    labels[1:3, 5:15, 6:14] = 1
    image = Image(rng.normal(size=labels.shape).astype(np.float32), spacing=(1, 1, 2))
    request = Request([Reference(image, Segmentation.from_label_map(image.with_array(labels)))], image.with_array(rng.normal(size=labels.shape).astype(np.float32)))
    direct = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu").segment(request, None).structures[0].mask
    converted = Sam2Segmenter(str(out), device="cpu").segment(request, None).structures[0].mask
    assert direct.any() and np.array_equal(direct, converted)
    from transformers import Sam2VideoModel

    source, made = (Sam2VideoModel.from_pretrained(str(folder)).state_dict() for folder in (tiny_sam2["always"], out))
    shared = "shared_image_embedding.positional_embedding"  # one weight in an original checkpoint: the prompt encoder's
    assert torch.equal(made[shared], source["prompt_encoder.shared_embedding.positional_embedding"])
    assert made.keys() == source.keys() and all(torch.equal(made[key], value) for key, value in source.items() if key != shared)
    assert not list(tmp_path.glob(".converted-*"))  # written beside it, then renamed into place
    umask = os.umask(0o022)
    os.umask(umask)
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()} == dict.fromkeys(
        ["config.json", "model.safetensors", "preprocessor_config.json"], 0o666 & ~umask)  # before: the weights were 0600


def test_a_conversion_stopped_while_saving_leaves_no_folder_it_made(tiny_sam2, original_checkpoint, tmp_path, monkeypatch):
    from transformers import Sam2VideoModel

    def stopped(self, folder, **kwargs):
        (Path(folder) / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM turned into an exception

    monkeypatch.setattr(Sam2VideoModel, "save_pretrained", stopped)
    assert main(["models", "convert", str(original_checkpoint), "--config", str(tiny_sam2["always"] / "config.json"), "--out", str(tmp_path / "new/models/converted")]) == 130
    assert list(tmp_path.iterdir()) == [original_checkpoint]  # before: new/models/ stayed


def test_a_config_that_is_not_a_sam2_one_and_an_out_that_is_a_file_are_refused(tiny_sam2, original_checkpoint, tmp_path, capsys):
    """Before, each was an internal error (JSONDecodeError, AttributeError, NotADirectoryError)."""
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "qwen.json").write_text('{"model_type": "qwen2_5_vl"}')
    (tmp_path / "no_type.json").write_text('{}')
    (tmp_path / "a_file").write_text("")
    wrong_size = {**json.loads((tiny_sam2["always"] / "config.json").read_text()), "image_size": "abc"}  # before: exit 70
    (tmp_path / "wrong_size.json").write_text(json.dumps(wrong_size))
    (tmp_path / "no_size.json").write_text(json.dumps({**wrong_size, "image_size": -5}))  # before: refused once the folder was written
    out = str(tmp_path / "converted")
    for config, target, problem in ((str(tmp_path / "broken.json"), out, "cannot read it as JSON"),
                                    (str(tmp_path / "qwen.json"), out, "the config of a qwen2_5_vl model, not of a SAM2 video model"),
                                    (str(tmp_path / "no_type.json"), out, "the config of an unknown model, not of a SAM2 video model"),
                                    (str(tmp_path / "wrong_size.json"), out, "not a usable SAM2 video config (TypeError: Field 'image_size' with value 'abc'"),
                                    (str(tmp_path / "no_size.json"), out, "no_size.json: image_size must be a whole number of pixels, got -5"),
                                    (str(tiny_sam2["always"] / "config.json"), str(tmp_path / "a_file"), "a file, not a folder")):
        assert main(["models", "convert", str(original_checkpoint), "--config", config, "--out", target]) == 2
        assert problem in capsys.readouterr().err
    assert not (tmp_path / "converted").exists() and (tmp_path / "a_file").read_text() == ""


def test_a_checkpoint_of_another_architecture_is_refused_and_nothing_written(tiny_sam2, original_checkpoint, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["models", "convert", str(original_checkpoint), "--config", "sam2.1_hiera_small", "--out", str(out)]) == 2
    assert "does not fit --config sam2.1_hiera_small" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("spoil, problem", [
    (lambda path: path.write_bytes(path.read_bytes()[:200]), "cannot read it as a PyTorch checkpoint"),
    (lambda path: path.write_bytes(b""), "cannot read it as a PyTorch checkpoint"),
    (lambda path: torch.save({"model": {"foo": torch.zeros(1)}}, path), "not an original SAM2 state dict"),
    (lambda path: torch.save({"x": torch.zeros(1)}, path), "not an original SAM2 state dict"),
    (lambda path: torch.save({"model": {**torch.load(path, weights_only=True)["model"], 1: torch.zeros(1)}}, path),
     "not an original SAM2 state dict (its key 1 is no weight's name)"),  # before: an internal error (AttributeError)
])
def test_a_file_that_is_no_sam2_checkpoint_is_refused_and_nothing_written(original_checkpoint, tmp_path, capsys, spoil, problem):
    spoil(original_checkpoint)
    out = tmp_path / "converted"
    assert main(["models", "convert", str(original_checkpoint), "--config", "sam2.1_hiera_tiny", "--out", str(out)]) == 2
    assert f"{original_checkpoint}: {problem}" in capsys.readouterr().err
    assert not out.exists()


def test_a_checkpoint_whose_weights_hold_nan_is_refused_and_nothing_written(tiny_sam2, original_checkpoint, tmp_path, capsys):
    """Before: converted (exit 0), rau models list approved the folder, and rau segment said to copy the folder again."""
    original = torch.load(original_checkpoint, weights_only=True)["model"]
    original["obj_ptr_proj.layers.2.weight"][0, 0] = float("nan")
    torch.save({"model": original}, original_checkpoint)
    out = tmp_path / "converted"
    assert main(["models", "convert", str(original_checkpoint), "--config", str(tiny_sam2["always"] / "config.json"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"rau models convert: error: {original_checkpoint}: the model weights hold NaN or infinite values "
                                       "(tensor obj_ptr_proj.layers.2.weight first): the checkpoint is damaged; download it again\n")
    assert not out.exists()


class RunsACommand:
    """What a hostile checkpoint holds: unpickled, it would run a (here harmless) shell command; PyTorch blocks its module."""

    def __reduce__(self):
        return os.system, ("true",)


@pytest.mark.parametrize("content, reason", [
    (lambda path: path.write_text("garbage\n"), "not a file torch.save wrote, or cut short"),
    (lambda path: torch.save({"model": argparse.Namespace(lr=1)}, path), "it holds an object of class argparse.Namespace; only plain weights are loaded"),
    (lambda path: torch.save({"model": RunsACommand()}, path), "it holds an object of class posix.system; only plain weights are loaded"),
], ids=["text", "an object", "code"])
def test_a_file_torch_cannot_load_is_named_in_one_line(tmp_path, capsys, content, reason):
    """Before, PyTorch's message came whole: six lines of advice on weights_only and filing an issue with PyTorch."""
    checkpoint = tmp_path / "MedSAM2_latest.pt"
    content(checkpoint)
    assert main(["models", "convert", str(checkpoint), "--config", "medsam2", "--out", str(tmp_path / "converted")]) == 2
    error = capsys.readouterr().err
    assert error == (f"rau models convert: error: {checkpoint}: cannot read it as a PyTorch checkpoint ({reason}); "
                     "give the original SAM2, SAM2.1 or MedSAM2 .pt file\n")


def test_a_checkpoint_without_a_weight_the_model_needs_names_that_weight(original_checkpoint, tmp_path, capsys):
    """Before: "does not fit --config ...: 'prompt_encoder.shared_embedding.positional_embedding'", a bare key."""
    original = torch.load(original_checkpoint, weights_only=True)["model"]
    torch.save({"model": {key: value for key, value in original.items() if "pe_layer" not in key}}, original_checkpoint)
    assert main(["models", "convert", str(original_checkpoint), "--config", "sam2.1_hiera_tiny", "--out", str(tmp_path / "converted")]) == 2
    assert ("does not fit --config sam2.1_hiera_tiny: it has no weight for prompt_encoder.shared_embedding.positional_embedding "
            "(as transformers names it)") in capsys.readouterr().err
    assert not (tmp_path / "converted").exists()


@pytest.mark.parametrize("name, problem", [
    ("model.safetensors", ": not an original SAM2 state dict"),
    ("", " is a folder; a checkpoint file (.pt) is expected"),
], ids=["its weights", "the folder"])
def test_a_saved_model_needs_no_conversion(tiny_sam2, tmp_path, capsys, name, problem):
    given = tiny_sam2["always"] / name
    assert main(["models", "convert", str(given), "--config", "sam2.1_hiera_tiny", "--out", str(tmp_path / "converted")]) == 2
    error = capsys.readouterr().err
    assert f"{given}{problem}" in error
    assert "a folder saved by save_pretrained needs no conversion" in error


def test_models_list_shows_the_class_of_each_folder(tiny_sam2, capsys):
    assert main(["models", "list", str(tiny_sam2["random"])]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"sam3_tracker_video +Sam3TrackerVideoModel", printed) and "wanglab/MedSAM2" in printed
    assert f"{tiny_sam2['random']}: Sam2VideoModel (SAM2 / SAM2.1), 64 px frames" in printed


def test_an_empty_out_folder_is_filled_and_keeps_its_permissions(tiny_sam2, original_checkpoint, tmp_path, capsys):
    """Before: the empty folder was replaced by a new one: its mode (here setgid, group-writable) was lost, and a shell
    inside it was left in a deleted folder."""
    out = tmp_path / "shared models"
    out.mkdir()
    out.chmod(0o2770)
    inode = out.stat().st_ino
    assert main(["models", "convert", str(original_checkpoint), "--config", str(tiny_sam2["always"] / "config.json"), "--out", str(out)]) == 0
    assert (out.stat().st_ino, stat.S_IMODE(out.stat().st_mode)) == (inode, 0o2770)
    assert sorted(path.name for path in out.iterdir()) == ["config.json", "model.safetensors", "preprocessor_config.json"]
    said = capsys.readouterr()
    assert "Writing model shards" not in said.err  # transformers' progress bar
    assert f"use it with --sam2-model '{out}'" in said.out  # before: unquoted, so pasting it split the folder's name


def test_an_out_below_a_file_or_too_long_and_a_config_of_two_frame_sizes_are_refused(tiny_sam2, original_checkpoint, tmp_path, capsys):
    """Before: internal errors (FileExistsError, NotADirectoryError, OSError: File name too long) once the checkpoint was
    loaded; a config whose image_size differed from its image encoder's was converted and crashed rau segment."""
    config = str(tiny_sam2["always"] / "config.json")
    two_sizes = {**json.loads((tiny_sam2["always"] / "config.json").read_text()), "image_size": 128}
    (tmp_path / "two_sizes.json").write_text(json.dumps(two_sizes))
    for given, out, problem in ((config, original_checkpoint / "sub", f"--out {original_checkpoint / 'sub'}: {original_checkpoint} is a file, not a folder"),
                                (config, tmp_path / ("a" * 300), "its name is 300 bytes long, over the 255 that file systems allow"),
                                (str(tmp_path / "two_sizes.json"), tmp_path / "converted",
                                 "vision_config.backbone_config.image_size is [64, 64] but image_size is 128; the model's parts must share one frame size")):
        assert main(["models", "convert", str(original_checkpoint), "--config", given, "--out", str(out)]) == 2
        assert problem in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == [original_checkpoint.name, "two_sizes.json"]
    folder = tmp_path / "two_sizes_model"  # the same check when a folder is read
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(two_sizes))
    assert main(["models", "list", str(folder)]) == 2
    assert "image_size is 128" in capsys.readouterr().err


def test_an_out_in_a_folder_without_write_permission_is_refused_before_the_checkpoint_is_read(tiny_sam2, original_checkpoint, tmp_path, capsys, monkeypatch):
    """Before: refused only after the conversion, naming a hidden temporary folder ('[Errno 13] Permission denied:
    .../locked/.converted.rau-XXXXXXXX'). A folder root may not write in either (:func:`unwritable_folders.unwritable`)."""
    from unwritable_folders import unwritable

    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("the checkpoint was read"))
    config = str(tiny_sam2["always"] / "config.json")
    with unwritable(locked):
        assert main(["models", "convert", str(original_checkpoint), "--config", config, "--out", str(locked / "converted")]) == 2
    assert f"error: --out {locked / 'converted'}: no permission to write in {locked}\n" in capsys.readouterr().err
    assert not any(locked.iterdir())


def test_a_local_folder_named_like_an_alias_is_that_folder_everywhere(tiny_sam2, tmp_path, monkeypatch):
    """Before: rau segment --sam2-model small took the hub model while the result recorded ./small, which rau correct
    and rau batch then read (and rau models list small described the folder)."""
    import shutil

    from rau.sam2.model import model_source

    monkeypatch.chdir(tmp_path)
    assert model_source("small").name == "facebook/sam2.1-hiera-small"
    shutil.copytree(tiny_sam2["always"], tmp_path / "small")
    assert model_source("small").name == "small" and model_source("small").is_local
