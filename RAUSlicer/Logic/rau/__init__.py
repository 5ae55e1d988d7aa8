"""rau: reference-based anatomical understanding.

Find every structure of an annotated reference image in a new target image.
The core objects are :class:`rau.image.Image`, :class:`rau.labels.Segmentation`
and :class:`rau.result.Result`; engines live in :mod:`rau.engines`.

They are imported on first use (``from rau import Image``), so that the ``rau`` command takes Ctrl-C as
``cancelled`` from its start, not while numpy loads.
"""

import importlib

__version__ = "0.1.0"

_MODULES = {"Image": "rau.image", "LabelSet": "rau.labels", "Segmentation": "rau.labels", "Structure": "rau.labels",
            "Result": "rau.result", "StructureResult": "rau.result"}
"""Each core class -> the module that defines it."""

__all__ = [*sorted(_MODULES), "__version__"]


def __getattr__(name: str):
    """A core class, imported on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module 'rau' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
