"""Tiny random-weight SAM2 video models for tests: built from a config, saved, loaded like real weights.

``presence`` fixes SAM2's object score (the decision "is the object on this frame"): ``"always"`` or
``"never"`` set the score head to a constant, ``None`` keeps the random head. Frames are 64 px.
"""

from __future__ import annotations

from pathlib import Path

FRAME = 64


def tiny_config():
    """A SAM2 video config small enough to run a frame in milliseconds (hidden sizes SAM2 hard-codes kept)."""
    from transformers import Sam2VideoConfig
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    size = FRAME
    backbone = Sam2HieraDetConfig(
        hidden_size=8, num_attention_heads=1, image_size=[size, size], blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[8, 16, 32, 64], num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 4, 2], global_attention_blocks=[3], window_positional_embedding_background_size=[2, 2],
    )
    features = [[size // 4] * 2, [size // 8] * 2, [size // 16] * 2]
    vision = Sam2VisionConfig(backbone_config=backbone, backbone_channel_list=[64, 32, 16, 8], backbone_feature_sizes=features, fpn_hidden_size=128)
    return Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=dict(hidden_size=128, image_size=size, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=128, mlp_dim=64, num_hidden_layers=1, iou_head_hidden_dim=32, num_attention_heads=2),
        image_size=size, memory_attention_hidden_size=128, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_attention_rope_feat_sizes=[size // 16] * 2,
        memory_encoder_hidden_size=128, memory_encoder_output_channels=64,  # 64: fixed by the memory attention
        mask_downsampler_embed_dim=128, memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=64,
    )


def save_tiny_sam2(folder: Path, presence: str | None = None, seed: int = 0) -> Path:
    """Save a tiny random SAM2 video model to ``folder`` (loadable with ``from_pretrained``)."""
    import torch
    from transformers import Sam2VideoModel

    torch.manual_seed(seed)
    model = Sam2VideoModel(tiny_config()).eval()
    if presence is not None:
        head = model.mask_decoder.pred_obj_score_head.proj_out
        with torch.no_grad():
            head.weight.zero_()
            head.bias.fill_(20.0 if presence == "always" else -20.0)
    model.save_pretrained(folder)
    return Path(folder)
