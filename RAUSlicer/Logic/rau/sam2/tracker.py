"""Per-structure SAM2 state over one frame sequence (reference frames first, then target slices).

Each structure gets its own transformers ``Sam2VideoInferenceSession`` so that it can be stopped,
re-prompted or re-propagated without touching the others; all sessions share one :class:`Frames`
source and one :class:`FeatureCache`, so the image encoder runs once per frame. These calls use the
session's semi-internal input API, which is why transformers is pinned exactly.
"""

from __future__ import annotations

from rau.sam2.cache import FeatureCache
from rau.sam2.frames import Frames

HEAVY_KEYS = ("maskmem_features", "maskmem_pos_enc", "pred_masks")


class Tracker:
    """Runs SAM2 one (structure, frame) step at a time and keeps only the memory it can still read."""

    def __init__(self, model, frames: Frames, cache: FeatureCache):
        self.model, self.frames, self.cache = model, frames, cache
        self.memory_frames = model.config.num_maskmem
        self.pointer_frames = model.config.max_object_pointers_in_encoder
        self.sessions = {}

    def add_structure(self, name: str, reference_masks: dict) -> None:
        """Start a structure with ``{frame: (size, size) float mask}`` as its conditioning frames."""
        import torch
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        device = self.frames.device
        session = Sam2VideoInferenceSession(
            inference_device=device, inference_state_device=device, video_storage_device=device, dtype=self.frames.dtype
        )
        session.processed_frames = self.frames
        session.cache = self.cache
        session.obj_id_to_idx(0)
        for frame, mask in reference_masks.items():
            session.add_mask_inputs(0, frame, mask[None, None])
            session.obj_with_new_inputs = [0]
            with torch.inference_mode():
                self.model(session, frame_idx=frame)
            session.output_dict_per_obj[0]["cond_frame_outputs"][frame].pop("high_res_masks", None)
        self.sessions[name] = session

    def step(self, name: str, frame: int, reverse: bool, prompt: dict | None = None):
        """Segment ``name`` on ``frame`` from its memory (plus ``prompt`` point inputs); (low-res logits, object score)."""
        import torch

        session = self.sessions[name]
        session.remove_point_inputs(0, frame)
        if prompt is not None:
            # Marking the frame as tracked makes SAM2 combine the prompt with the memory bank (the
            # reference), instead of starting a fresh object from the prompt alone.
            session.frames_tracked_per_obj[0][frame] = {"reverse": reverse}
            session.add_point_inputs(0, frame, prompt)
            session.obj_with_new_inputs = [0]
        with torch.inference_mode():
            output = self.model(session, frame_idx=frame, reverse=reverse)
        return output.pred_masks[0, 0], float(output.object_score_logits.reshape(-1)[0])

    def trim(self, name: str, frame: int, keep=()) -> None:
        """Forget what propagation at ``frame`` can no longer read (frames in ``keep`` stay whole)."""
        session = self.sessions[name]
        outputs = session.output_dict_per_obj[0]["non_cond_frame_outputs"]
        for other in list(outputs):
            outputs[other].pop("high_res_masks", None)
            if other in keep:
                continue
            distance = abs(other - frame)
            if distance >= self.pointer_frames:
                del outputs[other]
                session.point_inputs_per_obj[0].pop(other, None)
                session.frames_tracked_per_obj[0].pop(other, None)
            elif distance >= self.memory_frames:
                for key in HEAVY_KEYS:
                    outputs[other].pop(key, None)

    def forget_target(self, name: str) -> None:
        """Drop every tracked (non-reference) frame of ``name``; its reference memory stays."""
        session = self.sessions[name]
        session.output_dict_per_obj[0]["non_cond_frame_outputs"].clear()
        session.point_inputs_per_obj[0].clear()
        session.frames_tracked_per_obj[0].clear()
