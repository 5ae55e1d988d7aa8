"""The optional parts of ``rau``: which extra of pyproject.toml (``pip install "rauslicer[models]"``) brings each
package that ``rau`` can do without, and the refusal when one is missing. A missing package that is no part of an
extra is a broken install: a bug, not bad input."""

from __future__ import annotations

import importlib

from rau.errors import UnavailableError

OPTIONAL_MODULES = {
    # module imported: (package as pip names it, extra that brings it)
    "torch": ("torch", "models"),
    "torchvision": ("torchvision", "models"),
    "transformers": ("transformers", "models"),
    "huggingface_hub": ("huggingface_hub", "models"),  # comes with transformers
    "safetensors": ("safetensors", "models"),
    "tokenizers": ("tokenizers", "models"),
    "jinja2": ("jinja2", "models"),  # comes with torch: chat templates
    "peft": ("peft", "train"),
    "trl": ("trl", "train"),
    "accelerate": ("accelerate", "train"),
    "datasets": ("datasets", "train"),
    "slicer": ("slicer-core", "mrml"),
    "vtk": ("vtk", "mrml"),  # comes with slicer-core
    "fastapi": ("fastapi", "server"),
    "starlette": ("starlette", "server"),  # comes with fastapi
    "anyio": ("anyio", "server"),  # comes with fastapi
    "uvicorn": ("uvicorn", "server"),
    "python_multipart": ("python-multipart", "server"),
    "multipart": ("python-multipart", "server"),  # its older module name
    "requests": ("requests", "server"),
    "ray": ("ray", "cluster"),
}
"""Every optional module ``rau`` imports, or an extra of pyproject.toml lists, with the extra to install for it."""


class MissingExtraError(UnavailableError):
    """An optional package (:data:`OPTIONAL_MODULES`) is not installed: the message names it and the extra to install."""


def not_installed(module: str) -> str:
    """What to say of the optional ``module`` missing: ``torch is not installed; pip install "rauslicer[models]"``."""
    package, extra = OPTIONAL_MODULES[module]
    return f'{package} is not installed; pip install "rauslicer[{extra}]"'


def missing_extra(error: BaseException) -> MissingExtraError | None:
    """``error`` as :class:`MissingExtraError` when it is an optional package failing to import (``import torch``
    without the models extra), else None (a core package missing stays a bug)."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        module = error.name.partition(".")[0]
        if module in OPTIONAL_MODULES:
            return MissingExtraError(not_installed(module))
    return None


def require(*modules: str) -> None:
    """Import optional ``modules`` before any work of a run that needs them: :class:`MissingExtraError` for one not
    installed (or one that misses an optional package of its own)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            refusal = missing_extra(error)
            if refusal is None:
                raise
            raise refusal from None
