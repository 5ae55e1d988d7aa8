"""Checks of the engine options before any work, shared by the command line, the server and the Slicer module: the
models and device an engine needs (:func:`check_models`), and the warning that an option given changes nothing
(:func:`warn_ignored`)."""

from __future__ import annotations

from rau.engines import Engine, create_engine, engine_class, top_k_beyond_pool, unused_options
from rau.errors import InputError, OptionError, about
from rau.extras import not_installed, require
from rau.options import EngineOptions, flag
from rau.user_warnings import warn
from rau.vlm.backend import check_adapter_is_local, chosen_family, vlm_source


def warn_unused_options(name: str, given: dict, references: int | None = None) -> list[str]:
    """Warn of each engine option in ``given`` (``{name: value}`` the user gave) that engine ``name`` does not read, or
    not with the others given or with ``references`` references per target at most (:func:`rau.engines.unused_options`;
    :func:`warn_ignored`), then that ``--top-k`` asks for more references than that, so all are used
    (:func:`rau.engines.top_k_beyond_pool`). The warnings said, as :func:`warn_ignored` returns them."""
    said = warn_ignored(unused_options(name, given, references))
    if note := top_k_beyond_pool(name, given, references):
        warn(note)
        said.append(note)
    return said


def warn_ignored(reasons: dict[str, str], scoped: bool = False) -> list[str]:
    """Warn (:func:`rau.user_warnings.warn`) that each engine option in ``reasons`` (names the user gave, each with why:
    ``the registration engine does not use it``) is ignored: it changes nothing, and a script that gives it keeps
    working. ``scoped``: each reason names first what it applies to (``for abdominal_ct: ...``), not the whole run.
    The warnings said, for a run of many cases to record in each case's result JSON."""
    said = [f"{flag(option)} is ignored{' ' if scoped else ': '}{reason}" for option, reason in reasons.items()]
    for message in said:
        warn(message)
    return said


def check_models(name: str, options: EngineOptions) -> None:
    """Refuse an unusable ``--sam2-model``, local ``--vlm-model`` or ``--vlm-adapter`` (or one with ``--vlm-server``:
    :func:`check_adapter_is_local`, or one trained on a model of another family: :func:`check_adapter_family`), a VLM family it cannot tell
    (:func:`chosen_family`), a ``--device`` this machine lacks, or a bad ``RAU_TORCH_THREADS``, for engine ``name``
    before any work, without building the engine or reading weights: :class:`OptionError` naming the option and the
    problem."""
    from rau.models.loader import ModelNotAvailableError, resolve

    engine = engine_class(name)
    if engine.uses_vlm:
        check_adapter_is_local(options)
    try:
        if engine.uses_sam2 or (engine.uses_vlm and vlm_source(options)):
            from rau.models.inference import inference_threads

            inference_threads()
            check_device_option(options.device)
        if engine.uses_sam2:
            from rau.sam2.model import check_sam2, model_source

            option, value = flag("sam2_model"), options.sam2_model
            check_sam2(model_source(options.sam2_model, options.sam2_revision, options.model_cache))
        family = chosen_family(options) if engine.uses_vlm else None
        if engine.uses_vlm and (source := vlm_source(options)):
            from rau.models.loader import VLM_MODULES
            from rau.vlm.local import check_adapter_family, check_adapter_folder, check_family_option, check_vlm_folder

            require(*VLM_MODULES)
            option, value = flag("vlm_model"), options.vlm_model
            folder = resolve(source)
            check_vlm_folder(folder)
            check_family_option(folder, family)
            if options.vlm_adapter:
                try:
                    check_adapter_folder(options.vlm_adapter)
                    check_adapter_family(options.vlm_adapter, folder, family)
                except InputError as error:
                    raise OptionError(f"{flag('vlm_adapter')} {about(options.vlm_adapter, error)}") from None
    except ModelNotAvailableError as error:
        raise OptionError(f"{option} {about(value, error)}") from None


def check_device_option(device: str) -> None:
    """Refuse a ``--device`` this machine lacks (a GPU kind it has not, or PyTorch missing): :class:`OptionError`."""
    from rau.models.loader import ModelNotAvailableError, check_device

    try:
        check_device(device)
    except ModelNotAvailableError as error:
        raise OptionError(f"{flag('device')} {device}: {error}") from None
    except ImportError:
        raise OptionError(f"{flag('device')} {device}: {not_installed('torch')}") from None


def checked_engine(name: str, options: EngineOptions) -> Engine:
    """The engine ``name`` built from ``options``, its models checked first (:func:`check_models`)."""
    check_models(name, options)
    return create_engine(name, options)
