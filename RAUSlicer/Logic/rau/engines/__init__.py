"""Engine registry: name -> class, imported only when used (heavy engines pull in torch)."""

from __future__ import annotations

import importlib

from rau.engines.base import Engine, Progress, Reference, Request
from rau.errors import OptionError

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


def create_engine(name: str, options: dict | None = None) -> Engine:
    """Instantiate the engine called ``name`` with CLI/GUI ``options``."""
    if name not in ENGINES:
        raise OptionError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    return engine_class.from_options(dict(options or {}))


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "Progress", "Reference", "Request", "create_engine"]
