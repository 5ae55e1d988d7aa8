"""SAM2 with the reference in memory: the segmenter behind ``sam2-memory``, ``registration+sam2`` and the VLM engine.

Public API (other engines use only this):

* :class:`rau.sam2.segmenter.Sam2Segmenter` -- ``Sam2Segmenter.from_options(options)`` then
  ``segment(request, localizations, progress) -> Result``. ``localizations`` may be None (memory only,
  the SAM2-Memory baseline) or map structure names to :class:`rau.engines.base.Localization`; a
  localization's ``mask`` (its voxels) or ``slice_boxes`` ``{k: Box}`` become box prompts on the target slices
  they cross, a lone ``box`` prompts its middle slice, ``present=False`` means "not found".
* ``Result.session`` is a :class:`rau.sam2.session.Sam2Session` with ``reprompt(name, prompt, progress=None)``,
  ``propagate(name, progress=None)`` and ``undo(name)`` for the correction loop.

How a run works: a volume is cut into slices along one axis (default: the coarsest spacing), shown to SAM2 as
the volume stored in LPS voxel order shows them (:mod:`rau.sam2.frames`). For each
structure the ``top_k`` best-ranked references contribute conditioning frames to SAM2's memory bank
(:mod:`rau.sam2.conditioning`: the largest cross-section, more slices for long structures); the target
slices follow as later frames, and a corrected target slice becomes a conditioning frame on ``propagate``. Every structure is an object of
one Hugging Face inference session reading one frame source through one feature cache, so each frame is
encoded once whatever the number of structures, and on each slice the structures still tracked there
run as one batch through SAM2's memory attention, mask decoder and memory encoder. Propagation runs
forward and backward from each structure's start slice and stops, per structure, where SAM2's object
score says it is gone; old frame memories are dropped so memory stays bounded. Voxels claimed by
several structures go to the one with the highest mask logit. A correction decodes one slice of one
structure from cached image and memory-conditioned features (prompt encoder and mask decoder only, in 2D).

Files: ``model.py`` (loading by ``model_type``), ``convert.py`` (original checkpoints), ``conditioning.py``
(which reference slices), ``frames.py`` (slices <-> SAM2 frames, windowing), ``cache.py`` (bounded feature cache), ``batch.py`` (SAM2's per-frame steps batched over objects), ``tracker.py`` (the shared
session: conditioning, steps, corrections, trimming), ``session.py`` (propagation and corrections),
``segmenter.py`` (request -> session -> result).
"""

from rau.sam2.model import MODEL_ALIASES

__all__ = ["MODEL_ALIASES"]
