"""Engine registry: name -> class, imported only when used (heavy engines pull in torch inside functions).

This is the only list of engines: the command line, the Slicer panel (label and needed modules
come from each class's ``label`` and ``requires``) and the server read it.
"""

from __future__ import annotations

import importlib

from rau.engines.base import Engine, Progress, Reference, Request
from rau.errors import OptionError
from rau.options import EngineOptions, flag

ENGINES = {
    "registration": "rau.engines.registration:RegistrationEngine",
    "sam2-memory": "rau.engines.sam2:Sam2MemoryEngine",
    "registration+sam2": "rau.engines.sam2:RegistrationSam2Engine",
    "rau": "rau.engines.rau:RAUEngine",
    "vlm-box": "rau.engines.vlm:VLMBoxEngine",
    "vessels": "rau.engines.vessels:VesselEngine",
    "vessels+sam2": "rau.engines.vessels:VesselSam2Engine",
}

DEFAULT_ENGINE = "registration"

SAM2_OPTIONS = ("sam2_model", "sam2_revision", "model_cache", "device", "slice_axis", "window", "top_k")
VLM_OPTIONS = ("vlm_model", "vlm_server", "vlm_adapter", "vlm_family", "vlm_per_structure", "vlm_timeout", "model_cache", "device")
ENGINE_OPTIONS = {
    "registration": ("top_k", "fusion", "deformable", "keep_transfers"),
    "sam2-memory": (*SAM2_OPTIONS, "deformable"),
    "registration+sam2": (*SAM2_OPTIONS, "fusion", "deformable", "slice_margin"),
    "rau": (*(option for option in SAM2_OPTIONS if option != "slice_axis"), *VLM_OPTIONS, "deformable"),
    "vlm-box": (*VLM_OPTIONS, "deformable"),
    "vessels": ("top_k", "deformable"),
    "vessels+sam2": (*SAM2_OPTIONS, "deformable", "slice_margin"),
}
"""The engine options (:class:`rau.options.EngineOptions`) each engine reads: SAM2's, a VLM's, registration's (every
engine registers its references to rank them, so each reads ``deformable``; ``fusion`` only where registration's
labels are fused), and ``slice_margin`` where a localizer bounds what SAM2 tracks; ``rau`` slices across the VLM's
axial views, whatever ``slice_axis``. The command line warns of an option
given that the chosen engine does not read, or not with the other options given (:func:`unused_options`).
Testing/test_engine_options_read.py checks each entry against what the engine's ``from_options`` reads."""


def engine_class(name: str) -> type[Engine]:
    """The class registered as ``name`` (its module imports nothing heavy at file scope)."""
    if name not in ENGINES:
        raise OptionError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def one_reference(holder: str) -> str:
    """Why ``--top-k`` and ``--fusion`` change nothing where ``holder`` (``the run has``) one reference per target."""
    return f"{holder} one reference per target: nothing to rank or fuse"


def unused_options(name: str, given: dict, references: int | None = None) -> dict[str, str]:
    """Those of the options ``given`` (``{name: value}``, as the user gave them) that engine ``name`` does not read
    (:data:`ENGINE_OPTIONS`), or reads but not with the others given (``--sam2-revision`` with a local
    ``--sam2-model`` folder, ``--vlm-timeout`` without ``--vlm-server``) or not with ``references`` references per
    target at most (``--top-k`` and ``--fusion`` with one: None, not known), in their order, each with why."""
    from rau.models.loader import ModelSource

    nothing_to_rank = one_reference("the run has") if references == 1 else None
    not_with_others = {
        "top_k": nothing_to_rank,
        "fusion": nothing_to_rank,
        "sam2_revision": "a revision applies only to a Hugging Face id, and --sam2-model names a local folder"
                         if ModelSource(given.get("sam2_model") or EngineOptions().sam2_model).is_local else None,
        "vlm_timeout": None if given.get("vlm_server") else "it applies only to --vlm-server; a local model has no time limit",
    }
    reasons = {option: f"the {name} engine does not use it" if option not in ENGINE_OPTIONS[name] else not_with_others.get(option)
               for option in given}
    return {option: reason for option, reason in reasons.items() if reason}


def top_k_beyond_pool(name: str, given: dict, references: int | None, holder: str = "the run has") -> str | None:
    """The note that ``top_k`` among the options ``given`` asks engine ``name`` for more references than a target has
    (``references`` at most; None: not known; ``holder``: who has them, ``the run has``): the engine uses every one, as
    it would with ``top_k`` their number. None where it asks for no more, or where :func:`unused_options` says the
    engine ignores ``top_k`` (one reference, or an engine that does not read it)."""
    top_k = given.get("top_k")
    if top_k is None or references is None or references < 2 or top_k <= references or "top_k" not in ENGINE_OPTIONS[name]:
        return None
    return f"{flag('top_k')} {top_k} asks for more references than {holder} per target ({references} at most): all are used"


def create_engine(name: str, options: EngineOptions | dict | None = None) -> Engine:
    """Instantiate the engine called ``name``; a dict of options is checked as :meth:`EngineOptions.from_dict`."""
    return engine_class(name).from_options(EngineOptions.of(options))


__all__ = ["DEFAULT_ENGINE", "ENGINE_OPTIONS", "ENGINES", "Engine", "EngineOptions", "Progress", "Reference", "Request", "create_engine", "engine_class", "one_reference", "top_k_beyond_pool", "unused_options"]
