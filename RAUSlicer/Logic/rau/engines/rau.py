"""``rau``: the VLM says where each reference structure is, SAM2 segments it with the reference in memory."""

from __future__ import annotations

from rau.engines.base import PipelineEngine, Progress, Request
from rau.options import EngineOptions
from rau.result import Result
from rau.vlm.key_slices import axial_axis


class RAUEngine(PipelineEngine):
    """VLM localization (:mod:`rau.vlm.localizer`) followed by the SAM2 reference-memory segmenter.

    The VLM looks at axial slices of the LPS-oriented volume; SAM2 slices the target along the
    stored axis those slices cut across (:func:`rau.vlm.key_slices.axial_axis`), so each VLM box
    is a box on one SAM2 frame.
    """

    name = "rau"
    uses_sam2 = uses_vlm = True
    model_session = True
    label = "RAU (VLM boxes + SAM2)"
    requires = ("torch", "transformers")

    @classmethod
    def from_options(cls, options: EngineOptions) -> "RAUEngine":
        from rau.engines.registration import RegistrationEngine
        from rau.sam2.segmenter import Sam2Segmenter
        from rau.vlm.localizer import VLMLocalizer

        engine = cls(VLMLocalizer.from_options(options), Sam2Segmenter.from_options(options, name=cls.name), cls.name)
        engine.ranker = RegistrationEngine.from_options(options)
        return engine

    @classmethod
    def correction_axis(cls, target, options: EngineOptions) -> int:
        """The axis across the VLM's axial views (:func:`rau.vlm.key_slices.axial_axis`), whatever ``--slice-axis``."""
        return axial_axis(target)

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        self.segmenter.slice_axis = "kji"[self.correction_axis(request.target, None)]
        # ranked (:func:`rau.engines.registration.rank`): the VLM asks about each structure with the best reference that
        # has it, SAM2 holds the top-k that have it
        return super().run(request, progress)
