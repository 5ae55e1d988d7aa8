"""``rau``: the VLM says where each reference structure is, SAM2 segments it with the reference in memory."""

from __future__ import annotations

from rau.engines.base import PipelineEngine


class RAUEngine(PipelineEngine):
    """VLM localization (:mod:`rau.vlm.localizer`) followed by the SAM2 reference-memory segmenter.

    The VLM looks at volumes slice by slice along k, so SAM2 slices along k too.
    """

    name = "rau"

    @classmethod
    def from_options(cls, options: dict) -> "RAUEngine":
        from rau.sam2.segmenter import Sam2Segmenter
        from rau.vlm.backend import create_backend
        from rau.vlm.localizer import VLMLocalizer

        if options.get("slice_axis") not in (None, "auto", "k"):
            raise ValueError("the rau engine slices volumes along k; leave --slice-axis out or set it to k")
        localizer = VLMLocalizer(create_backend(options), per_structure=bool(options.get("vlm_per_structure")))
        return cls(localizer, Sam2Segmenter.from_options({**options, "slice_axis": "k"}, name=cls.name), cls.name)
