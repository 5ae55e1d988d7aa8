"""A tiny random-weight SAM 3 tracker video model (``Sam3TrackerVideoModel``) for loader tests; 56 px frames."""

from __future__ import annotations

from pathlib import Path

FRAME = 56  # SAM 3's ViT uses 14 px patches


def save_tiny_sam3_tracker(folder: Path, seed: int = 0) -> Path:
    """Save a tiny SAM 3 tracker (ViT backbone, SAM2-style memory) loadable with ``from_pretrained``."""
    import torch
    from transformers import Sam3TrackerVideoConfig, Sam3TrackerVideoModel

    size = FRAME
    backbone = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=size, patch_size=14, window_size=2, global_attn_indexes=[1], pretrain_image_size=size)
    config = Sam3TrackerVideoConfig(
        vision_config=dict(model_type="sam3_vision_model", fpn_hidden_size=128, backbone_config=backbone),
        prompt_encoder_config=dict(hidden_size=128, image_size=size, patch_size=14, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=128, mlp_dim=64, num_hidden_layers=1, iou_head_hidden_dim=32, num_attention_heads=2),
        image_size=size, memory_attention_hidden_size=128, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_attention_rope_feat_sizes=[size // 14] * 2,
        memory_encoder_hidden_size=128, memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=128, memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=64,
    )
    torch.manual_seed(seed)
    model = Sam3TrackerVideoModel(config).eval()
    head = model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():  # object always present
        head.weight.zero_()
        head.bias.fill_(20.0)
    model.save_pretrained(folder)
    return Path(folder)
