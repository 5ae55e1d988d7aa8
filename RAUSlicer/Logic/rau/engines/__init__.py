"""Engine registry: name -> class, imported only when used (heavy engines pull in torch inside functions).

This is the only list of engines: the command line, the Slicer panel (label and needed modules
come from each class's ``label`` and ``requires``) and the server read it.
"""

from __future__ import annotations

import importlib

from rau.engines.base import Engine, Progress, Reference, Request
from rau.errors import OptionError
from rau.options import EngineOptions

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


def engine_class(name: str) -> type[Engine]:
    """The class registered as ``name`` (its module imports nothing heavy at file scope)."""
    if name not in ENGINES:
        raise OptionError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_engine(name: str, options: EngineOptions | dict | None = None) -> Engine:
    """Instantiate the engine called ``name``; a dict of options is checked as :meth:`EngineOptions.from_dict`."""
    if not isinstance(options, EngineOptions):
        options = EngineOptions.from_dict(options)
    return engine_class(name).from_options(options)


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "EngineOptions", "Progress", "Reference", "Request", "create_engine", "engine_class"]
