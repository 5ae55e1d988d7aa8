"""``vlm-box``: the VLM's boxes as the result (each box filled), for evaluating localization."""

from __future__ import annotations

import numpy as np

from rau.engines.base import Localization, PipelineEngine, Progress, Request, Segmenter
from rau.options import EngineOptions
from rau.result import Result, StructureResult


class BoxSegmenter(Segmenter):
    """Fills each localized box (per-slice boxes when given); absent structures get no mask."""

    def segment(self, request: Request, localizations: dict[str, Localization] | None, progress: Progress) -> Result:
        structures = []
        for structure in request.labels():
            found = (localizations or {}).get(structure.name)
            mask = _filled_boxes(found, request.target.shape)
            present = bool(found and found.present)
            message = "" if present and mask.any() else _why_empty(found)
            structures.append(
                StructureResult(structure, mask if present else None, found.confidence if found else 0.0, "vlm-box",
                                {"vlm": found.public_answer()} if found else {}, message=message)
            )
        return Result(request.target, structures, "vlm-box")


def _filled_boxes(found: Localization | None, shape) -> np.ndarray:
    """A mask with the localization's per-slice boxes (else its box) filled."""
    mask = np.zeros(shape, dtype=bool)
    if found is not None:
        for box in list(found.slice_boxes.values()) or ([found.box] if found.box else []):
            mask[box.slices()] = True
    return mask


def _why_empty(found: Localization | None) -> str:
    if found is None:
        return "not localized"
    if not found.present:
        return found.why_not_present()
    return "present, but no usable box"


class VLMBoxEngine(PipelineEngine):
    """VLM localization, boxes as masks."""

    name = "vlm-box"
    uses_vlm = True
    label = "VLM boxes"
    requires = ("torch", "transformers")

    @classmethod
    def from_options(cls, options: EngineOptions) -> "VLMBoxEngine":
        from rau.engines.registration import RegistrationEngine
        from rau.vlm.localizer import VLMLocalizer

        engine = cls(VLMLocalizer.from_options(options), BoxSegmenter(), cls.name)
        engine.ranker = RegistrationEngine.from_options(options)  # each structure asked with the best holder, as in rau
        return engine
