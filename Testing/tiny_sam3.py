"""A tiny random-weight SAM 3 tracker video model (``Sam3TrackerVideoModel``) for loader tests; 56 px frames. Also
the same tracker inside a SAM 3 video checkpoint, laid out as the published ``facebook/sam3``."""

from __future__ import annotations

import json
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


def save_tiny_sam3_video(folder: Path, tracker: Path, seed: int = 0) -> Path:
    """Save the tracker saved in ``tracker`` (:func:`save_tiny_sam3_tracker`) as SAM 3's published checkpoint holds its
    tracker: a ``Sam3VideoModel`` (config ``model_type`` ``sam3_video``) beside a tiny random detector, the tracker's ViT
    being the detector's (``detector_model.vision_encoder.backbone.``) and its neck ``tracker_neck.``; with the processor
    SAM 3 publishes (a ``Sam3VideoProcessor``: 56 px frames, mean and std 0.5)."""
    import torch
    from transformers import CLIPTokenizer, Sam3ImageProcessor, Sam3TrackerVideoModel, Sam3VideoConfig, Sam3VideoModel, Sam3VideoProcessor
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

    tracker_config = json.loads((Path(tracker) / "config.json").read_text())
    small = dict(hidden_size=128, num_attention_heads=2, intermediate_size=64)
    detector = dict(
        vision_config=tracker_config["vision_config"],
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, projection_dim=32,
                         vocab_size=8, max_position_embeddings=8, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        geometry_encoder_config=dict(num_layers=1, **small), detr_encoder_config=dict(num_layers=1, **small),
        detr_decoder_config=dict(num_layers=1, num_queries=4, **small), mask_decoder_config=dict(hidden_size=128, num_attention_heads=2),
    )
    torch.manual_seed(seed)
    video = Sam3VideoModel(Sam3VideoConfig(detector_config=detector, tracker_config=tracker_config)).eval()
    shared = {"vision_encoder.backbone.": "detector_model.vision_encoder.backbone.", "vision_encoder.neck.": "tracker_neck."}
    placed = {}
    for name, tensor in Sam3TrackerVideoModel.from_pretrained(tracker).state_dict().items():
        part = next((part for part in shared if name.startswith(part)), None)
        placed[shared[part] + name[len(part):] if part else "tracker_model." + name] = tensor
    unused = video.load_state_dict(placed, strict=False).unexpected_keys
    assert not unused, f"tracker tensors with no place in Sam3VideoModel: {unused[:3]}"
    video.save_pretrained(folder)
    vocab = Path(folder) / "vocab.json"
    vocab.write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1}))
    merges = Path(folder) / "merges.txt"
    merges.write_text("#version: 0.2\n")
    frames = dict(image_mean=[0.5] * 3, image_std=[0.5] * 3, size={"height": FRAME, "width": FRAME})
    Sam3VideoProcessor(image_processor=Sam3ImageProcessor(**frames), video_processor=Sam2VideoVideoProcessor(**frames),
                       tokenizer=CLIPTokenizer(str(vocab), str(merges))).save_pretrained(folder)
    return Path(folder)
