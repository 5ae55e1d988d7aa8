"""Loading SAM2 video models (Hugging Face id, alias or local folder) through :mod:`rau.models.loader`."""

from __future__ import annotations

from rau.models.loader import ModelSource, load_model
from rau.options import DEFAULTS

MODEL_ALIASES = {
    "tiny": "facebook/sam2.1-hiera-tiny",
    "small": "facebook/sam2.1-hiera-small",
    "base-plus": "facebook/sam2.1-hiera-base-plus",
    "large": "facebook/sam2.1-hiera-large",
}


def model_source(name: str | None = None, revision: str | None = None, cache_dir: str | None = None) -> ModelSource:
    """The source for an alias (tiny/small/base-plus/large), a Hugging Face id or a local folder."""
    name = name or DEFAULTS.sam2_model
    return ModelSource(MODEL_ALIASES.get(name, name), revision=revision, cache_dir=cache_dir)


def load_sam2(source: ModelSource, device: str | None = None):
    """A ``Sam2VideoModel`` in eval mode on ``device`` (auto: CUDA, MPS, else CPU with a warning)."""
    from transformers import Sam2VideoModel

    return load_model(Sam2VideoModel, source, device)
