"""All structures as objects of one SAM2 inference session over one frame sequence (references first, then target slices).

One transformers ``Sam2VideoInferenceSession`` holds every structure's memory bank; it reads frames from one
:class:`Frames` source through one :class:`FeatureCache`, so the image encoder runs once per frame. A step
runs the structures given to it as one batch (:mod:`rau.sam2.batch`); a structure left out of a step
(stopped, or not the one being corrected) is not touched.
"""

from __future__ import annotations

import importlib

from rau.models.inference import inference
from rau.sam2 import batch
from rau.sam2.cache import FeatureCache
from rau.sam2.frames import Frames

HEAVY_KEYS = ("maskmem_features", "maskmem_pos_enc", "pred_masks")


def inference_session_class(model):
    """The video inference session class of the model's family (``sam2_video`` -> ``Sam2VideoInferenceSession``)."""
    kind = model.config.model_type
    module = importlib.import_module(f"transformers.models.{kind}.modeling_{kind}")
    return next(value for name, value in vars(module).items() if name.endswith("VideoInferenceSession"))


OBJECTS_PER_PASS = 8
"""Most structures in one memory-attention batch: its activation memory grows with them."""


class Tracker:
    """Runs SAM2 frame by frame for several structures at once and keeps only the memory SAM2 can still read.

    At most :data:`OBJECTS_PER_PASS` structures go through memory attention at once.
    Each structure's memory-conditioned features of its last step are kept (one frame per structure), so a
    correction on that frame runs only the prompt encoder and mask decoder.
    """

    def __init__(self, model, frames: Frames, cache: FeatureCache, first_target_frame: int = 0):
        self.first_target_frame = first_target_frame
        self.model, self.frames, self.cache = model, frames, cache
        self.memory_frames = model.config.num_maskmem
        self.pointer_frames = model.config.max_object_pointers_in_encoder
        device = frames.device
        self.session = inference_session_class(model)(
            inference_device=device, inference_state_device=device, video_storage_device=device, dtype=frames.dtype
        )
        self.session.processed_frames = frames
        self.session.cache = cache
        self.objects: dict[str, int] = {}
        self.conditioned: dict[str, tuple] = {}  # name -> (frame, memory-conditioned features) of its last step

    def held_bytes(self, besides=None) -> int:
        """Memory the tracker holds besides its :meth:`memory`, estimated: the images its frames are read from
        (:meth:`Frames.image_bytes`; the image ``besides``, counted elsewhere, left out) and the cached image features."""
        return self.frames.image_bytes(besides) + self.cache.nbytes

    def memory(self) -> tuple:
        """Each structure's memory (its tracked frames' outputs and memory-conditioned features), as tensors: counted
        with the records of :meth:`state` a session's undo keeps (:func:`rau.held_memory.distinct_bytes`), which share
        them."""
        return self.session.output_dict_per_obj, self.conditioned

    def add_structures(self, references: dict) -> None:
        """Start structures from ``{name: [(frame, (size, size) float mask), ...]}``: their conditioning frames.

        Each frame is encoded once for all structures conditioned on it.
        """
        model, session = self.model, self.session
        for name in references:
            self.objects[name] = session.obj_id_to_idx(len(self.objects))
        for frame in sorted({f for frames in references.values() for f, _ in frames}):
            masks = {n: m for n, frames in references.items() for f, m in frames if f == frame}
            outputs = []
            with inference():
                for name, mask in masks.items():
                    outputs.append(
                        model._run_single_frame_inference(
                            inference_session=session, frame_idx=frame, obj_idx=self.objects[name], batch_size=1,
                            is_init_cond_frame=True, point_inputs=None, mask_inputs=mask[None, None], reverse=False,
                        )
                    )
                feats, _, _ = batch.vision(model, session, frame)
                batch.encode_memories(model, feats, outputs, [True] * len(outputs))
            for name, output in zip(masks, outputs):
                session.store_output(self.objects[name], frame, output_value=output, is_conditioning_frame=True)

    def conditioning_frames(self, name: str) -> list[int]:
        """The frames ``name`` is conditioned on (its references' slices and its corrected target slices)."""
        return sorted(self._conditioning(name))

    def condition_on(self, name: str, outputs: dict[int, dict]) -> None:
        """Make ``{frame: corrected output}`` the target conditioning frames of ``name`` (replacing earlier ones).

        Each corrected mask is memory-encoded as SAM2 does for a prompted frame; reference frames stay.
        """
        conditioning = self._conditioning(name)
        for frame in [f for f in conditioning if f >= self.first_target_frame]:
            del conditioning[frame]
        for frame, output in sorted(outputs.items()):
            stored = dict(output)
            with inference():
                feats, _, _ = batch.vision(self.model, self.session, frame)
                batch.encode_memories(self.model, feats, [stored], [True])
            self.outputs(name).pop(frame, None)
            self.session.store_output(self.objects[name], frame, output_value=stored, is_conditioning_frame=True)

    def state(self, name: str):
        """A copy of everything a correction of ``name`` can change here (restored by :meth:`restore`)."""
        copy = lambda outputs: {frame: dict(output) for frame, output in outputs.items()}  # noqa: E731
        return copy(self._conditioning(name)), copy(self.outputs(name)), self.conditioned.get(name)

    def restore(self, name: str, state) -> None:
        """Put ``name``'s memory back as :meth:`state` saved it (undo of a correction)."""
        conditioning, outputs, conditioned = state
        for stored, saved in ((self._conditioning(name), conditioning), (self.outputs(name), outputs)):
            stored.clear()
            stored.update(saved)
        self.conditioned.pop(name, None)
        if conditioned is not None:
            self.conditioned[name] = conditioned

    def _conditioning(self, name: str) -> dict:
        return self.session.output_dict_per_obj[self.objects[name]]["cond_frame_outputs"]

    def step(self, names: list[str], frame: int, reverse: bool, prompts: dict) -> dict:
        """Segment ``names`` on ``frame`` from their memory (plus ``prompts[name]`` point inputs) in one batch.

        Returns ``{name: (low-res logits, object score)}`` and adds the frame to each structure's memory.
        A structure conditioned on ``frame`` (a corrected slice) keeps its conditioning output, as SAM2's
        video predictor does.
        """
        fixed = {n: self._conditioning(n)[frame] for n in names if frame in self._conditioning(n)}
        answers = {n: (o["pred_masks"][0, 0], float(o["object_score_logits"].reshape(-1)[0])) for n, o in fixed.items()}
        names = [n for n in names if n not in fixed]
        if not names:
            return answers
        model, session = self.model, self.session
        objects = [self.objects[n] for n in names]
        with inference():
            feats, positions, high_res = batch.vision(model, session, frame)
            maps = batch.condition(model, session, objects, frame, reverse, feats, positions, OBJECTS_PER_PASS)
            outputs = batch.decode(model, maps, high_res, [prompts.get(n) for n in names])
            batch.encode_memories(model, feats, outputs, [n in prompts for n in names])
        for index, (name, obj, output) in enumerate(zip(names, objects, outputs)):
            session.store_output(obj, frame, output_value=output, is_conditioning_frame=False)
            self.conditioned[name] = (frame, maps[index : index + 1].clone())
        answers.update({n: (o["pred_masks"][0, 0], float(o["object_score_logits"].reshape(-1)[0])) for n, o in zip(names, outputs)})
        return answers

    def correct(self, name: str, frame: int, prompt: dict) -> dict:
        """SAM2's output for ``name`` on ``frame`` with ``prompt`` (``pred_masks``, ``object_score_logits``, ...);
        the memory bank is left as it is (:meth:`condition_on` adds the correction to it).

        Reuses the memory-conditioned features of the structure's last step when it was on ``frame`` (always
        in 2D), so only the prompt encoder and mask decoder run; otherwise memory attention runs for this
        structure alone (and the image encoder, if the frame has left the feature cache).
        """
        model, session = self.model, self.session
        with inference():
            feats, positions, high_res = batch.vision(model, session, frame)
            last = self.conditioned.get(name)
            if last is None or last[0] != frame:
                last = (frame, batch.condition(model, session, [self.objects[name]], frame, False, feats, positions))
                self.conditioned[name] = last
            return batch.decode(model, last[1], high_res, [prompt])[0]

    def outputs(self, name: str) -> dict:
        """Frame -> stored SAM2 output of ``name`` on the target (its memory bank without the reference)."""
        return self.session.output_dict_per_obj[self.objects[name]]["non_cond_frame_outputs"]

    def trim(self, name: str, frame: int, keep=()) -> None:
        """Forget what propagation at ``frame`` can no longer read (frames in ``keep`` stay whole)."""
        outputs = self.outputs(name)
        for other in list(outputs):
            if other in keep:
                continue
            distance = abs(other - frame)
            if distance >= self.pointer_frames:
                del outputs[other]
            elif distance >= self.memory_frames:
                for key in HEAVY_KEYS:
                    outputs[other].pop(key, None)

    def forget_target(self, name: str) -> None:
        """Drop every tracked (non-conditioning) frame of ``name``; its conditioning frames stay."""
        self.outputs(name).clear()
        self.conditioned.pop(name, None)
