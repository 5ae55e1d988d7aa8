"""Loading SAM2-family video models (Hugging Face id, alias or local folder) through :mod:`rau.models.loader`.

The model class comes from the checkpoint's ``config.json`` ``model_type`` (:data:`VIDEO_MODELS`): SAM2 and
SAM2.1 (and MedSAM2, a fine-tuned SAM2.1) load as ``Sam2VideoModel``, SAM 3's tracker (alone, or from the published
SAM 3 video checkpoint, which holds the detector too) as ``Sam3TrackerVideoModel``; both share the memory interface
:mod:`rau.sam2.batch` uses. Frame normalisation and size come from the checkpoint's processor config, else from the
model family's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rau.models.loader import ModelNotAvailableError, ModelSource, check_weights, load_model, processor_settings, read_config, resolve
from rau.options import DEFAULTS

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@dataclass(frozen=True)
class VideoModelKind:
    """A family of checkpoints: the transformers class that runs it, its default frame normalisation and, where the
    checkpoint holds more than that model, the part of ``config.json`` that configures it."""

    class_name: str
    family: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    config_part: str | None = None


VIDEO_MODELS = {
    "sam2_video": VideoModelKind("Sam2VideoModel", "SAM2 / SAM2.1", *IMAGENET),
    "sam3_tracker_video": VideoModelKind("Sam3TrackerVideoModel", "SAM 3 tracker", *HALF),
    "sam3_video": VideoModelKind("Sam3TrackerVideoModel", "SAM 3 tracker, from a SAM 3 video checkpoint", *HALF, "tracker_config"),
}
"""config.json ``model_type`` -> kind. A new family: one line here (its class must have SAM2's memory interface)."""

MODEL_ALIASES = {
    "tiny": "facebook/sam2.1-hiera-tiny",
    "small": "facebook/sam2.1-hiera-small",
    "base-plus": "facebook/sam2.1-hiera-base-plus",
    "large": "facebook/sam2.1-hiera-large",
}
MEDSAM2_HELP = (
    "MedSAM2 (SAM2.1-tiny fine-tuned on medical images, 512 px frames) is published as an original-format "
    "checkpoint: download MedSAM2_latest.pt from https://huggingface.co/wanglab/MedSAM2 (licence: see that page), "
    "convert it once with 'rau models convert MedSAM2_latest.pt --config medsam2 --out medsam2', "
    "then pass the folder: --sam2-model medsam2/ (a folder named medsam2 is used when it exists)"
)


@dataclass(frozen=True)
class FrameStyle:
    """How target slices become model frames: side length in pixels and per-channel mean/std."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def model_source(name: str | None = None, revision: str | None = None, cache_dir: str | None = None) -> ModelSource:
    """The source for a local folder, an alias (tiny/small/base-plus/large/medsam2) or a Hugging Face id: a path that
    exists is the local folder, also when it is named like an alias (as ``rau models list`` and a saved result read
    it)."""
    name = name or DEFAULTS.sam2_model
    if name == "medsam2" and not Path(name).exists():
        raise ModelNotAvailableError(MEDSAM2_HELP)
    return ModelSource(name if Path(name).exists() else MODEL_ALIASES.get(name, name), revision=revision, cache_dir=cache_dir)


def model_kind(folder: Path) -> VideoModelKind:
    """The kind named by the folder's ``config.json`` ``model_type``; unknown types raise with the known ones."""
    model_type = read_config(folder).get("model_type")
    if model_type not in VIDEO_MODELS:
        known = ", ".join(f"{key} ({kind.family})" for key, kind in VIDEO_MODELS.items())
        raise ModelNotAvailableError(f"{folder}: model_type {model_type!r} is not a SAM video model rau can run; known: {known}")
    return VIDEO_MODELS[model_type]


def frame_style(folder: Path, kind: VideoModelKind, model_size: int) -> FrameStyle:
    """Frame size and normalisation from the checkpoint's processor config (defaults: the kind's, the model's size)."""
    settings = processor_settings(folder)
    size = settings.get("size") or {}
    side = _setting(folder, "size", size, "a number",
                    lambda value: int(value.get("height", value.get("longest_edge", model_size)) if isinstance(value, dict) else value))
    mean = _setting(folder, "image_mean", settings.get("image_mean", kind.mean), "three numbers", _three)
    style = FrameStyle(int(model_size), mean, _setting(folder, "image_std", settings.get("image_std", kind.std), "three numbers", _three))
    if side != style.size:
        raise ModelNotAvailableError(f"{folder}: processor frame size {side} differs from the model's image_size {model_size}")
    return style


def _setting(folder: Path, field: str, value, wanted: str, read):
    """``read(value)``: one of the processor config's settings; one that does not read raises naming it and its value."""
    try:
        return read(value)
    except (TypeError, ValueError):
        raise ModelNotAvailableError(f"{folder}: its preprocessor config's {field} is not {wanted}: {value!r:.40}") from None


def _three(values) -> tuple[float, float, float]:
    """A per-channel setting: three numbers."""
    numbers = tuple(float(value) for value in values)
    if len(numbers) != 3:
        raise ValueError(f"three numbers, got {len(numbers)}")
    return numbers


def config_image_size(folder: Path, kind: VideoModelKind) -> int:
    """The frame size ``config.json`` (its ``kind.config_part``, where the kind names one) gives the model
    (:func:`frame_size_of`)."""
    config = read_config(folder)
    if kind.config_part is None:
        return frame_size_of(config, f"{folder}/config.json")
    part = config.get(kind.config_part)
    if not isinstance(part, dict):
        raise ModelNotAvailableError(f"{folder}/config.json: {kind.config_part} must be the {kind.class_name}'s config, got {part!r:.40}")
    return frame_size_of(part, f"{folder}/config.json's {kind.config_part}")


def frame_size_of(config: dict, where: str) -> int:
    """The frame size a model's config (a dict) gives: ``image_size`` (or its vision config's), which the parts that
    give one too (the image encoder, the prompt encoder) must share; ``where``: the config, as the user knows it."""
    size = config.get("image_size") or (config.get("vision_config") or {}).get("image_size")
    check_image_size(size, where)
    parts = {"vision_config.backbone_config.image_size": ((config.get("vision_config") or {}).get("backbone_config") or {}).get("image_size"),
             "prompt_encoder_config.image_size": (config.get("prompt_encoder_config") or {}).get("image_size")}
    for name, value in parts.items():
        if value is not None and value not in (size, [size, size]):
            raise ModelNotAvailableError(f"{where}: {name} is {value!r:.40} but image_size is {size}; the model's parts must "
                                         "share one frame size")
    return size


def check_image_size(size, where: str) -> None:
    """Refuse a model frame size that is not a positive whole number (``where``: the config, as the user knows it)."""
    if type(size) is not int or size < 1:
        raise ModelNotAvailableError(f"{where}: image_size must be a whole number of pixels, got {size!r:.40}")


def check_sam2(source: ModelSource) -> tuple[Path, VideoModelKind]:
    """The checkpoint's folder and kind: what :func:`load_sam2` checks before it reads weights (fetching the
    checkpoint as loading would; the weights' headers are read, :func:`rau.models.loader.check_weights`). An
    unusable source raises :class:`ModelNotAvailableError`."""
    folder = resolve(source)
    kind = model_kind(folder)
    frame_style(folder, kind, config_image_size(folder, kind))
    check_weights(folder)
    return folder, kind


def load_sam2(source: ModelSource, device: str | None = None):
    """``(model, FrameStyle)``: the checkpoint's video model class in eval mode on ``device`` (auto: CUDA, MPS, else CPU);
    weights holding NaN or infinite numbers are refused once loaded (:func:`rau.models.loader.load_model`)."""
    import transformers

    folder, kind = check_sam2(source)
    model = load_model(getattr(transformers, kind.class_name), ModelSource(str(folder)), device)
    return model, frame_style(folder, kind, int(model.config.image_size))


def describe(folder: Path) -> dict:
    """What a local SAM checkpoint folder holds (class, family, frame size, normalisation) without loading weights
    (their headers are checked, as before a run: :func:`rau.models.loader.check_weights`)."""
    folder = resolve(ModelSource(str(folder)))  # a local folder only: a name is never looked up on the hub here
    kind = model_kind(folder)
    style = frame_style(folder, kind, config_image_size(folder, kind))
    check_weights(folder)
    return {"class": kind.class_name, "family": kind.family, "frame_size": style.size, "mean": style.mean, "std": style.std}
