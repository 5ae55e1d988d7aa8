"""SAM2 engines: ``sam2-memory`` (reference in memory, no prompt) and ``registration+sam2`` (boxes as prompts)."""

from __future__ import annotations

import time

from rau.engines.base import Engine, PipelineEngine, Progress, Request, validate_request
from rau.options import EngineOptions
from rau.result import Result


class Sam2MemoryEngine(Engine):
    """The SAM2-Memory baseline: each structure's top-k references in memory, no prompt on the target.

    Several references are ranked as the registration engine ranks them (``ranker``).
    """

    name = "sam2-memory"
    uses_sam2 = True
    model_session = True
    label = "SAM2 memory"
    requires = ("torch", "transformers")

    def __init__(self, segmenter, ranker):
        self.segmenter, self.ranker = segmenter, ranker

    @classmethod
    def from_options(cls, options: EngineOptions) -> "Sam2MemoryEngine":
        from rau.engines.registration import RegistrationEngine
        from rau.sam2.segmenter import Sam2Segmenter

        return cls(Sam2Segmenter.from_options(options, name=cls.name), RegistrationEngine.from_options(options))

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        validate_request(request)
        progress = progress or Progress()
        started = time.perf_counter()
        request, ranking = self.ranker.ranked_references(request, progress.part(0, 2))
        result = self.segmenter.segment(request, None, progress.part(1, 2))
        if ranking:
            result.details["ranking"] = ranking
        result.seconds = time.perf_counter() - started
        return result


class RegistrationSam2Engine(PipelineEngine):
    """Registration gives each structure's per-slice boxes and ranked references; SAM2 segments with those in memory."""

    name = "registration+sam2"
    uses_sam2 = True
    model_session = True
    label = "Registration + SAM2"
    requires = ("torch", "transformers")

    @classmethod
    def from_options(cls, options: EngineOptions) -> "RegistrationSam2Engine":
        from rau.engines.registration import RegistrationLocalizer
        from rau.sam2.segmenter import Sam2Segmenter

        return cls(RegistrationLocalizer.from_options(options), Sam2Segmenter.from_options(options, name=cls.name), cls.name)
