"""SAM2's per-frame work for several objects at once: memory attention, mask decoding, memory encoding.

transformers' ``Sam2VideoModel.forward`` runs each object alone (batch size 1). These functions call the
same submodules with the objects of a frame stacked along the batch. Objects whose inputs differ in length
(memory frames, object pointers, prompt points) go in separate batches, so no padding changes a result.
They use the model's semi-internal helpers, which is why transformers is pinned exactly.
"""

from __future__ import annotations


def grouped(keys: list, limit: int | None = None) -> list[list[int]]:
    """Positions of ``keys`` with equal keys together, in chunks of at most ``limit`` positions."""
    by_key: dict = {}
    for position, key in enumerate(keys):
        by_key.setdefault(key, []).append(position)
    return [ids[s : s + (limit or len(ids))] for ids in by_key.values() for s in range(0, len(ids), limit or len(ids))]


def vision(model, session, frame: int):
    """Top-level features (HW, 1, C), their position encoding and the decoder's high-res maps of ``frame``.

    Served from ``session.cache`` when the frame was encoded before; otherwise the image encoder runs once.
    """
    feats, positions = model._prepare_vision_features(session, frame, 1)
    high_res = [x.permute(1, 2, 0).view(1, x.size(2), *s) for x, s in zip(feats[:-1], model.backbone_feature_sizes[:-1])]
    return feats[-1], positions[-1], high_res


def _memory(model, session, obj: int, frame: int, reverse: bool, device):
    """One object's memory for ``frame``: (tokens, their position encoding, number of object-pointer tokens).

    Frames whose spatial memory was trimmed away count as absent (this only happens in corrections).
    """
    import torch

    outputs = model._gather_memory_frame_outputs(session, obj, frame, reverse)
    outputs = [(t, out if out is None or "maskmem_features" in out else None) for t, out in outputs]  # trimmed frames
    memory, positions = model._build_memory_attention_inputs(outputs, device)
    offsets, pointers, most = model._get_object_pointers(session, obj, frame, session.num_frames, device, reverse)
    count = 0
    if pointers:
        pointers, pointer_positions = model._process_object_pointers(offsets, pointers, most, 1, model.hidden_dim, device)
        memory.append(pointers)
        positions.append(pointer_positions)
        count = pointers.shape[0]
    return torch.cat(memory).to(session.dtype), torch.cat(positions), count


def condition(model, session, objects: list[int], frame: int, reverse: bool, feats, positions, limit: int | None = None):
    """Memory-conditioned features (n, C, H, W) of ``objects`` on ``frame``; one memory-attention pass per batch."""
    import torch

    memories = [_memory(model, session, obj, frame, reverse, feats.device) for obj in objects]
    channels, (height, width) = model.hidden_dim, model.backbone_feature_sizes[-1]
    maps = feats.new_empty(len(objects), channels, height, width)
    for batch in grouped([(m.shape[0], count) for m, _, count in memories], limit):
        size = len(batch)
        fused = model.memory_attention(
            current_vision_features=feats.expand(-1, size, -1),
            current_vision_position_embeddings=positions.expand(-1, size, -1),
            memory=torch.cat([memories[i][0] for i in batch], dim=1),
            memory_posision_embeddings=torch.cat([memories[i][1] for i in batch], dim=1),
            num_object_pointer_tokens=memories[batch[0]][2],
        )  # (1, size, HW, C)
        maps[batch] = fused.reshape(size, height * width, channels).transpose(1, 2).reshape(size, channels, height, width)
    return maps


def decode(model, maps, high_res, prompts: list[dict | None]) -> list[dict]:
    """Prompt encoder + mask decoder for objects with conditioned ``maps``; one pass per prompt shape.

    ``prompts`` are SAM2 point inputs (or None). Returns one output dict per object as transformers stores
    it (``pred_masks``, ``object_pointer``, ``object_score_logits``, ``high_res_masks``), each of batch 1.
    """
    import torch
    import torch.nn.functional as F
    from transformers.models.sam2_video.modeling_sam2_video import NO_OBJ_SCORE

    empty = {"point_coords": maps.new_zeros(1, 1, 1, 2), "point_labels": -torch.ones(1, 1, 1, dtype=torch.int32, device=maps.device)}
    inputs = [empty if p is None else {k: v.to(maps.device) for k, v in p.items()} for p in prompts]
    outputs: list[dict] = [{} for _ in prompts]
    for batch in grouped([(p is None, tuple(i["point_labels"].shape)) for p, i in zip(prompts, inputs)]):
        size, multimask = len(batch), model._use_multimask(False, prompts[batch[0]])
        sparse, dense = model.prompt_encoder(
            input_points=torch.cat([inputs[i]["point_coords"] for i in batch]),
            input_labels=torch.cat([inputs[i]["point_labels"] for i in batch]),
            input_boxes=None,
            input_masks=None,
        )
        masks, iou, tokens, scores = model.mask_decoder(
            image_embeddings=maps[batch],
            image_positional_embeddings=model.get_image_wide_positional_embeddings().repeat(size, 1, 1, 1),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
            high_resolution_features=[h.expand(size, -1, -1, -1) for h in high_res],
        )
        present = scores > 0  # (size, 1, 1)
        masks = torch.where(present[:, None, None], masks, NO_OBJ_SCORE)[:, 0]  # (size, masks, h, w)
        best = iou[:, 0].argmax(-1) if multimask else torch.zeros(size, dtype=torch.long, device=masks.device)
        rows = torch.arange(size, device=masks.device)
        low_res = masks[rows, best][:, None]
        high = F.interpolate(low_res.float(), size=(model.image_size,) * 2, mode="bilinear", align_corners=False).to(low_res.dtype)
        pointer = model.object_pointer_proj(tokens[rows, 0, best][:, None])
        appearing = present.to(pointer.dtype)
        pointer = appearing * pointer + (1 - appearing) * model.no_object_pointer
        for j, i in enumerate(batch):
            outputs[i] = {
                "pred_masks": low_res[j : j + 1].clone(),
                "object_pointer": pointer[j : j + 1].clone(),
                "object_score_logits": scores[j : j + 1].clone(),
                "high_res_masks": high[j : j + 1],
            }
    return outputs


def encode_memories(model, feats, outputs: list[dict], from_prompts: list[bool]) -> None:
    """Add ``maskmem_features``/``maskmem_pos_enc`` to each output (consuming ``high_res_masks``); batched per kind."""
    import torch

    for batch in grouped(from_prompts):
        memory, positions = model._encode_new_memory(
            current_vision_feats=feats.expand(-1, len(batch), -1),
            pred_masks_high_res=torch.cat([outputs[i].pop("high_res_masks") for i in batch]),
            object_score_logits=torch.cat([outputs[i]["object_score_logits"] for i in batch]),
            is_mask_from_pts=from_prompts[batch[0]],
        )
        for j, i in enumerate(batch):
            outputs[i]["maskmem_features"] = memory[:, j : j + 1].clone()
            outputs[i]["maskmem_pos_enc"] = positions[:, j : j + 1].clone()
