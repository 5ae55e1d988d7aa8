"""What every VLM backend offers, and choosing one from engine options.

A backend answers one conversation (:mod:`rau.vlm.prompts`) with text. Two exist:
:class:`rau.vlm.local.TransformersBackend` (the model in this process) and
:class:`rau.vlm.server.ServerBackend` (an OpenAI-compatible chat-completions server).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from rau.errors import OptionError
from rau.models.loader import ModelSource, option_named
from rau.options import EngineOptions, flag
from rau.validation.options import secret_from_environment
from rau.vlm.families import ModelFamily, family_for

API_KEY_VARIABLE = "RAU_VLM_API_KEY"


@dataclass
class Reply:
    """A model's answer, how many prompt / answer tokens it took (None when unknown), and whether it was cut short at
    the ``max_new_tokens`` asked for (before the model ended it)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cut_short: bool = False


def cut_at_limit(tokens, max_new_tokens: int, end_tokens) -> bool:
    """Whether the generated ``tokens`` were cut short at their limit ``max_new_tokens``: as many as that, the last
    none of the model's ``end_tokens``."""
    return len(tokens) >= max_new_tokens and not (len(tokens) and int(tokens[-1]) in end_tokens)


class Backend(abc.ABC):
    """Answers conversations; ``family`` says how the model sizes images and writes boxes."""

    family: ModelFamily
    calls: int = 0
    served_model: str | None = None
    """The model a server's replies name, an API key it echoes left out (None for a local model, or a server that names none)."""

    @abc.abstractmethod
    def generate(self, messages: list[dict], max_new_tokens: int) -> Reply:
        """Greedy answer to one conversation."""


def create_backend(options: EngineOptions | dict) -> Backend:
    """The backend named by engine options ``vlm_server``, ``vlm_model`` (:func:`vlm_source`), ``vlm_adapter``, ``vlm_family``, ``device``.

    With ``vlm_server`` the images go to that server only; its API key comes from the
    environment variable ``RAU_VLM_API_KEY``. Otherwise the model runs in this process; one that cannot be loaded
    is refused naming ``--vlm-model`` or ``--vlm-adapter``. A dict is checked as :meth:`EngineOptions.from_dict`.
    """
    options = EngineOptions.of(options)
    family = chosen_family(options)
    source = vlm_source(options)
    check_adapter_is_local(options)
    if source is None:
        from rau.vlm.server import ServerBackend

        return ServerBackend(options.vlm_server, options.vlm_model, family, api_key=api_key_from_environment(), timeout=options.vlm_timeout)
    from rau.vlm.local import AdapterError, TransformersBackend

    with option_named(flag("vlm_model"), options.vlm_model), option_named(flag("vlm_adapter"), options.vlm_adapter, (AdapterError,)):
        return TransformersBackend.load(source, device=options.device, adapter=options.vlm_adapter, family=family)


def check_adapter_is_local(options: EngineOptions) -> None:
    """Refuse ``vlm_adapter`` with ``vlm_server`` (:class:`OptionError`): an adapter is loaded into a local model; a
    server's model is served with its adapter already."""
    if options.vlm_adapter and options.vlm_server:
        raise OptionError(f"{flag('vlm_adapter')} applies to a local model; load the adapter on the server instead")


def chosen_family(options: EngineOptions) -> ModelFamily | None:
    """The model family ``vlm_family`` names, else a ``vlm_server`` model's by its name (:class:`OptionError` when
    unknown); None for a local model without ``vlm_family``, whose config.json tells."""
    if options.vlm_family:
        return family_for(options.vlm_family, "--vlm-family")
    return family_for(options.vlm_model) if options.vlm_server else None


def api_key_from_environment() -> str | None:
    """The VLM server's API key from ``RAU_VLM_API_KEY`` (:func:`~rau.validation.options.secret_from_environment`)."""
    return secret_from_environment(API_KEY_VARIABLE)


def vlm_source(options: EngineOptions) -> ModelSource | None:
    """Where the model of a local backend comes from (``vlm_model``, downloads into ``model_cache``);
    None with ``vlm_server``, whose model runs elsewhere."""
    if options.vlm_server:
        return None
    return ModelSource(options.vlm_model, cache_dir=options.model_cache)
