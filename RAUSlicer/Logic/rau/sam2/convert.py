"""Original-format SAM2 / SAM2.1 / MedSAM2 checkpoints (``.pt`` state dicts) -> a ``from_pretrained`` folder.

The key mapping follows transformers' own converter, ``src/transformers/models/sam2_video/
convert_sam2_video_to_hf.py`` (``KEYS_TO_MODIFY_MAPPING`` and ``replace_keys``; Apache-2.0), which the
installed wheel (transformers 5.24) does not ship. The architectures follow that script's ``get_config``;
MedSAM2 is SAM2.1-tiny at 512 px (github.com/bowang-lab/MedSAM2, ``sam2.1_hiera_t512.yaml``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rau.errors import InputError, short_reason
from rau.io.atomic import atomic_folder
from rau.io.json_text import parse_json
from rau.io.outputs import check_new_folder
from rau.models.loader import check_finite, quiet_transformers, torch_load_reason

RENAMES = (  # applied in this order, each wherever it occurs in a key (transformers' KEYS_TO_MODIFY_MAPPING)
    ("iou_prediction_head.layers.0", "iou_prediction_head.proj_in"),
    ("iou_prediction_head.layers.1", "iou_prediction_head.layers.0"),
    ("iou_prediction_head.layers.2", "iou_prediction_head.proj_out"),
    ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
    ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"),
    ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
    ("mask_downscaling.0", "mask_embed.conv1"),
    ("mask_downscaling.1", "mask_embed.layer_norm1"),
    ("mask_downscaling.3", "mask_embed.conv2"),
    ("mask_downscaling.4", "mask_embed.layer_norm2"),
    ("mask_downscaling.6", "mask_embed.conv3"),
    ("dwconv", "depthwise_conv"),
    ("pwconv", "pointwise_conv"),
    ("fuser", "memory_fuser"),
    ("point_embeddings", "point_embed"),
    ("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"),
    ("obj_ptr_tpos_proj", "temporal_positional_encoding_projection_layer"),
    ("no_obj_embed_spatial", "occlusion_spatial_embedding_parameter"),
    ("sam_prompt_encoder", "prompt_encoder"),
    ("sam_mask_decoder", "mask_decoder"),
    ("maskmem_tpos_enc", "memory_temporal_positional_encoding"),
    ("gamma", "scale"),
    ("image_encoder.neck", "vision_encoder.neck"),
    ("image_encoder", "vision_encoder.backbone"),
    ("neck.0", "neck.conv1"),
    ("neck.1", "neck.layer_norm1"),
    ("neck.2", "neck.conv2"),
    ("neck.3", "neck.layer_norm2"),
    ("pix_feat_proj", "feature_projection"),
    ("patch_embed.proj", "patch_embed.projection"),
    ("no_mem_embed", "no_memory_embedding"),
    ("no_mem_pos_enc", "no_memory_positional_encoding"),
    ("obj_ptr", "object_pointer"),
    (".norm", ".layer_norm"),
    ("trunk.", ""),
    ("out_proj", "o_proj"),
)

MLPS = (  # multi-layer perceptrons whose numbered layers become proj_in, layers.<i>, proj_out
    r"(vision_encoder\.backbone\.blocks\.\d+\.mlp)\.layers\.(\d+)\.",
    r"(mask_decoder\.transformer\.layers\.\d+\.mlp)\.layers\.(\d+)\.",
    r"(mask_decoder\.pred_obj_score_head)\.layers\.(\d+)\.",
    r"(mask_decoder\.output_hypernetworks_mlps\.\d+)\.layers\.(\d+)\.",
    r"(object_pointer_proj)\.layers\.(\d+)\.",
)

HIERA = {  # image encoder sizes of the released checkpoints (transformers' get_config)
    "tiny": {},
    "small": dict(blocks_per_stage=[1, 2, 11, 2], global_attention_blocks=[7, 10, 13]),
    "base_plus": dict(hidden_size=112, embed_dim_per_stage=[112, 224, 448, 896], num_attention_heads_per_stage=[2, 4, 8, 16],
                      blocks_per_stage=[2, 3, 16, 3], global_attention_blocks=[12, 16, 20], window_positional_embedding_background_size=[14, 14]),
    "large": dict(hidden_size=144, embed_dim_per_stage=[144, 288, 576, 1152], num_attention_heads_per_stage=[2, 4, 8, 16],
                  blocks_per_stage=[2, 6, 36, 4], global_attention_blocks=[23, 33, 43], window_positional_embedding_background_size=[7, 7],
                  window_size_per_stage=[8, 4, 16, 8]),
}
NAMED_CONFIGS = {f"{version}_hiera_{size}": (version, size, 1024) for version in ("sam2", "sam2.1") for size in HIERA}
NAMED_CONFIGS["medsam2"] = ("sam2.1", "tiny", 512)
POINT_EMBEDDINGS = "sam_prompt_encoder.point_embeddings."  # every original SAM2 checkpoint has these
IMAGENET = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def hf_key(key: str, depths: dict[str, int]) -> str:
    """One original key renamed as ``Sam2VideoModel`` names it (``depths``: layers per MLP, see :func:`mlp_depths`)."""
    for old, new in RENAMES:
        key = key.replace(old, new)
    for pattern in MLPS:
        match = re.match(pattern, key)
        if match:
            index, depth = int(match.group(2)), depths[match.group(1)]
            name = "proj_in" if index == 0 else "proj_out" if index == depth - 1 else f"layers.{index - 1}"
            key = f"{match.group(1)}.{name}." + key[match.end():]
    key = re.sub(r"^(vision_encoder\.neck\.convs\.\d+)\.conv\.", r"\1.", key)
    key = re.sub(r"^memory_encoder\.o_proj\.", "memory_encoder.projection.", key)
    match = re.match(r"^(memory_encoder\.mask_downsampler)\.encoder\.(\d+)\.", key)
    if match:
        index = int(match.group(2))
        part = "final_conv" if index == 12 else f"layers.{index // 3}." + ("conv" if index % 3 == 0 else "layer_norm")
        key = f"{match.group(1)}.{part}." + key[match.end():]
    return key


def mlp_depths(keys) -> dict[str, int]:
    """Number of layers of each MLP in a state dict, keyed by the MLP's renamed prefix."""
    depths: dict[str, int] = {}
    for key in keys:
        for old, new in RENAMES:
            key = key.replace(old, new)
        for pattern in MLPS:
            match = re.match(pattern, key)
            if match:
                depths[match.group(1)] = max(depths.get(match.group(1), 0), int(match.group(2)) + 1)
    return depths


def convert_state_dict(original: dict) -> dict:
    """An original SAM2 state dict with ``Sam2VideoModel`` keys (point embeddings stacked, shared embedding copied)."""
    import torch

    depths = mlp_depths(original)
    state = {hf_key(key, depths): value for key, value in original.items()}
    points = sorted(k for k in state if re.fullmatch(r"prompt_encoder\.point_embed\.\d+\.weight", k))
    state["prompt_encoder.point_embed.weight"] = torch.cat([state.pop(k) for k in sorted(points, key=lambda k: int(k.split(".")[2]))])
    state["shared_image_embedding.positional_embedding"] = state["prompt_encoder.shared_embedding.positional_embedding"]
    return state


def named_config(name: str):
    """The ``Sam2VideoConfig`` of a released checkpoint name (``sam2.1_hiera_tiny``, ..., ``medsam2``)."""
    from transformers import Sam2VideoConfig
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    version, size_name, image_size = NAMED_CONFIGS[name]
    backbone = Sam2HieraDetConfig(image_size=[image_size, image_size], **HIERA[size_name])
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=list(reversed(backbone.embed_dim_per_stage)),
        backbone_feature_sizes=[[image_size // stride] * 2 for stride in (4, 8, 16)],
    )
    later = version == "sam2.1"  # SAM2.1 added these two embeddings
    return Sam2VideoConfig(
        vision_config=vision, prompt_encoder_config=dict(image_size=image_size), image_size=image_size,
        memory_attention_rope_feat_sizes=[image_size // 16] * 2,
        enable_temporal_pos_encoding_for_object_pointers=later, enable_occlusion_spatial_embedding=later,
    )


def load_config(config: str):
    """A config name from :data:`NAMED_CONFIGS`, or a ``config.json`` (or the folder holding one) of a SAM2 video model."""
    from huggingface_hub.errors import StrictDataclassError
    from transformers import Sam2VideoConfig

    from rau.sam2.model import frame_size_of

    if config in NAMED_CONFIGS:
        return named_config(config)
    path = Path(config)
    path = path / "config.json" if path.is_dir() else path
    if not path.is_file():
        raise InputError(f"--config {config}: neither a known name ({', '.join(NAMED_CONFIGS)}) nor a config.json")
    try:
        document = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"--config {config}: cannot read it as JSON ({error})") from error
    model_type = document.get("model_type") if isinstance(document, dict) else None
    if model_type != Sam2VideoConfig.model_type:
        raise InputError(f"--config {config}: the config of {('a ' + model_type) if model_type else 'an unknown'} model, not of a SAM2 video model "
                         f"(model_type {Sam2VideoConfig.model_type!r})")
    try:
        loaded = Sam2VideoConfig.from_dict(document)
    except (StrictDataclassError, TypeError, ValueError) as error:  # a field of the wrong type or out of range
        raise InputError(f"--config {config}: not a usable SAM2 video config ({short_reason(error)})") from None
    frame_size_of(loaded.to_dict(), f"--config {config}")  # before: refused only once the folder was written
    return loaded


def check_paths(checkpoint: Path, out: Path) -> None:
    """The checkpoint is a file (not a folder) and ``out`` is a new or empty folder."""
    if checkpoint.is_dir():
        raise InputError(f"{checkpoint} is a folder; a checkpoint file (.pt) is expected "
                         "(a folder saved by save_pretrained needs no conversion: pass it to --sam2-model)")
    if not checkpoint.is_file():
        raise InputError(f"{checkpoint}: no such checkpoint file")
    check_new_folder(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out {out}: folder exists and is not empty")


def convert_checkpoint(checkpoint, config: str, out) -> Path:
    """Write ``out`` (model weights, ``config.json``, ``preprocessor_config.json``) from an original ``.pt``.

    Every key must find its place and every weight must be filled, with finite numbers; otherwise nothing is written.
    """
    import torch
    from transformers import Sam2VideoModel

    checkpoint, out = Path(checkpoint), Path(out).resolve()  # a link to an empty folder: that folder is filled
    check_paths(checkpoint, out)
    try:
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:  # a file that is no torch checkpoint fails in many classes (EOFError, UnpicklingError, ...)
        raise InputError(f"{checkpoint}: cannot read it as a PyTorch checkpoint ({torch_load_reason(error)}); "
                         "give the original SAM2, SAM2.1 or MedSAM2 .pt file") from error
    original = loaded.get("model", loaded) if isinstance(loaded, dict) else None
    if isinstance(original, dict) and (named := next((key for key in original if not isinstance(key, str)), None)) is not None:
        raise InputError(f"{checkpoint}: not an original SAM2 state dict (its key {named!r} is no weight's name)")
    if not isinstance(original, dict) or not any(str(key).startswith(POINT_EMBEDDINGS) for key in original):
        raise InputError(f"{checkpoint}: not an original SAM2 state dict (a dict, or one under 'model', with {POINT_EMBEDDINGS}* weights; "
                         "a folder saved by save_pretrained needs no conversion)")
    check_finite(((key, value) for key, value in original.items() if isinstance(value, torch.Tensor)), checkpoint, error=InputError,
                 advice="the checkpoint is damaged; download it again")
    model = Sam2VideoModel(load_config(config)).eval()
    try:
        missing, unexpected = model.load_state_dict(convert_state_dict(original), strict=False)
    except (RuntimeError, KeyError) as error:  # shapes differ, or a key the mapping needs is absent
        reason = f"it has no weight for {error.args[0]} (as transformers names it)" if isinstance(error, KeyError) else str(error).splitlines()[-1].strip()
        raise InputError(f"{checkpoint} does not fit --config {config}: {reason}") from error
    if missing or unexpected:
        raise InputError(f"{checkpoint} does not fit --config {config}: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
                         f" ({len(missing)} missing, {len(unexpected)} unexpected keys)")
    with atomic_folder(out) as temporary, quiet_transformers():  # an empty --out folder is filled, keeping its permissions
        model.save_pretrained(temporary)
        size = model.config.image_size
        (temporary / "preprocessor_config.json").write_text(json.dumps({**IMAGENET, "size": {"height": size, "width": size}}, indent=2), encoding="utf-8")
    return out
