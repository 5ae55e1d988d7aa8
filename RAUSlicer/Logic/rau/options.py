"""Engine options: the one table of their names, types, defaults and help texts.

:class:`EngineOptions` is that table. The command line (:mod:`rau.commands.engine_options`
makes one ``--flag`` per field), the Slicer panel, the benchmarks and every engine's
``from_options`` build or read this one object; nothing else writes a default, and other
modules name options only to pick some of them: which each engine reads (:data:`rau.engines.ENGINE_OPTIONS`,
checked against the engines' ``from_options`` by Testing/test_engine_options_read.py) and which a server's client
may set (:data:`rau.serve.options.CLIENT_OPTIONS`). An unknown key, a value of the wrong type or one out of range raises
:class:`rau.errors.OptionError` naming the option.

To add an option, add one field below with :func:`option` (default, help, and ``choices``,
``minimum`` or ``check`` when they apply; a model, revision or URL checks :func:`rau.validation.non_empty_path`, a
folder :func:`rau.validation.folder_path`) and read it in the engine that uses it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import numbers
import re
import typing
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Optional

from rau import validation
from rau.errors import InputError, OptionError, ServerError
from rau.user_warnings import warnings_worded
from rau.vlm.families import FAMILY_NAMES

FUSION_METHODS = ("local", "vote", "staple")
DEFAULT_FUSION = "vote"
"""Measured on HC18 multi-reference, 20 targets, consensus-ranked top 5 of 59 (README, "Multi-reference"): vote 0.841,
STAPLE 0.840, local 0.848. Vote was kept as the default; local is within 0.01 of it."""


def option(default, help: str, *, choices: tuple | None = None, minimum: float | None = None, cli: bool = True,
           metavar: str | None = None, check=None):
    """One row of the table: a dataclass field carrying its help text and checks.

    ``check(value, flag)`` is a validator from :mod:`rau.validation` (returns the value, raises
    :class:`OptionError`). ``cli=False`` keeps an option off the command line (set by commands, not users).
    """
    metadata = {"help": help, "choices": choices, "minimum": minimum, "cli": cli, "metavar": metavar, "check": check}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class EngineOptions:
    """Every option an engine reads; each engine uses the ones that apply to it."""

    top_k: int = option(5, "references used per structure, best-ranked first: fused by registration (from 3; with vote "
                           "or staple, 2 give the best-ranked one's labels), held in SAM2's memory by the SAM2 engines; "
                           "the VLM sees the best one", minimum=1)
    fusion: str = option(DEFAULT_FUSION, "registration: how the top-k references' labels are fused: local (each reference "
                                         "votes where it locally matches the target), vote (ties: the best-ranked decides, so "
                                         "2 references give the best-ranked one's labels) or staple (from 3 references; "
                                         "2 are voted)", choices=FUSION_METHODS)
    deformable: bool = option(True, "registration: the dense displacement-field stage after the affine one; vessels: the B-spline bend after the affine fit")
    sam2_model: str = option("base-plus", "SAM2: tiny, small, base-plus, large, medsam2, a Hugging Face id or a local "
                                          "folder (SAM2, SAM2.1 or SAM 3 tracker; see 'rau models list')",
                             check=validation.non_empty_path)
    sam2_revision: Optional[str] = option(None, "SAM2: Hugging Face revision (branch, tag or commit)", metavar="REV",
                                          check=validation.non_empty_path)
    model_cache: Optional[str] = option(None, "folder for downloaded model weights (default: the Hugging Face cache)", metavar="DIR",
                                        check=validation.folder_path)
    device: str = option("auto", "torch device for models: auto (CUDA, MPS, else CPU), cpu, cuda, cuda:1, mps", check=validation.device_name)
    slice_axis: str = option("auto", "SAM2: volume axis to slice along (auto: coarsest spacing)", choices=("auto", "i", "j", "k"))
    window: Optional[tuple[float, float]] = option(None, "SAM2: intensity window, e.g. -160 240 for abdominal CT "
                                                         "(default: 0.5-99.5 percentiles)", metavar=("LOW", "HIGH"),
                                                  check=validation.check_window)
    slice_margin: int = option(2, "SAM2: slices tracked beyond a structure's localized extent (registration boxes; from a VLM's key slices SAM2 follows a structure through the volume)", minimum=0)
    vlm_model: str = option("Qwen/Qwen2.5-VL-7B-Instruct", "VLM: Hugging Face id or local folder; with --vlm-server, the served model name",
                            check=validation.non_empty_path)
    vlm_server: Optional[str] = option(None, "VLM: OpenAI-compatible server (vLLM, SGLang); images go to this URL only; "
                                             "API key from RAU_VLM_API_KEY", metavar="URL", check=validation.server_url)
    vlm_adapter: Optional[str] = option(None, "VLM: LoRA adapter folder (e.g. from rau train sft)", metavar="DIR",
                                        check=validation.non_empty_path)
    vlm_family: Optional[str] = option(None, "VLM: coordinate convention when the model name does not tell",
                                       choices=FAMILY_NAMES)
    vlm_per_structure: bool = option(False, "VLM: one request per structure instead of one per target")
    vlm_timeout: float = option(180.0, "VLM server: seconds to wait for one answer (a 7B model on one GPU answers in seconds "
                                       "to a minute; at most a day)", metavar="S", check=validation.waiting_seconds)
    keep_transfers: bool = option(False, "registration: keep every reference's own masks (for evaluation)", cli=False)

    def __post_init__(self):
        hints = type_hints(type(self))
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            normalised = _checked(spec.name, value, hints[spec.name], spec.metadata)
            if normalised is not value:
                object.__setattr__(self, spec.name, normalised)

    @classmethod
    def from_dict(cls, values: dict | None = None) -> "EngineOptions":
        """Options from ``{name: value}``; names not given keep their defaults, unknown names raise."""
        values = dict(values or {})
        known = [spec.name for spec in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            hints = [f"{key!r}" + (f" (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(key, known, 1)) else "")
                     for key in unknown]
            raise OptionError(f"unknown engine option {', '.join(hints)}; known options: {', '.join(known)}")
        return cls(**values)

    @classmethod
    def of(cls, options: "EngineOptions | dict | None") -> "EngineOptions":
        """``options`` as they are, a dict (or None) read by :meth:`from_dict`: what every function that takes
        engine options in either form works with."""
        return options if isinstance(options, EngineOptions) else cls.from_dict(options)

    def replace(self, **changes) -> "EngineOptions":
        """A copy with ``changes`` applied (checked like :meth:`from_dict`)."""
        return self.from_dict({**self.as_dict(), **changes})

    def as_dict(self) -> dict:
        """Every option by name (as a result JSON records them)."""
        return {spec.name: getattr(self, spec.name) for spec in dataclasses.fields(self)}

    def with_absolute_folders(self) -> "EngineOptions":
        """A copy whose model, adapter and cache options that name an existing local path name it absolutely
        (a run re-opened from another folder finds them); Hugging Face ids and aliases are unchanged."""
        import os

        changes = {name: os.path.abspath(value) for name in ("sam2_model", "vlm_model", "vlm_adapter", "model_cache")
                   if (value := getattr(self, name)) and os.path.exists(value)}
        return self.replace(**changes)


def given_and_checked(options: "EngineOptions | dict | None") -> tuple["EngineOptions", dict]:
    """``options`` as :class:`EngineOptions` (a dict checked as :meth:`EngineOptions.from_dict`), and those of them
    given, by name: each key of a dict, a default too; of an :class:`EngineOptions`, which cannot tell a default given
    from one left out, those changed from the default."""
    checked = EngineOptions.of(options)
    defaults = EngineOptions()
    given = [name for name in (options or {})] if isinstance(options, dict) else \
        [spec.name for spec in option_fields() if getattr(checked, spec.name) != getattr(defaults, spec.name)]
    return checked, {name: getattr(checked, name) for name in given}


def option_fields() -> tuple[dataclasses.Field, ...]:
    """The table's rows, in order (name, default, ``metadata['help']`` ...)."""
    return dataclasses.fields(EngineOptions)


def checked_option(name: str, value):
    """``value`` checked as the option ``name`` (type, choices, minimum, check), as :class:`EngineOptions` checks it:
    for an engine built without one (Python, the Slicer console); else :class:`OptionError` in the same words."""
    spec = next(spec for spec in option_fields() if spec.name == name)
    return _checked(name, value, type_hints(EngineOptions)[name], spec.metadata)


@functools.cache
def type_hints(options_class: type) -> MappingProxyType:
    """The fields' types of an options class (read-only), worked out once per class: :func:`typing.get_type_hints`
    evaluates every annotation anew at each call (4 ms, on each structure the registration engine fused)."""
    return MappingProxyType(typing.get_type_hints(options_class))


def flag(name: str) -> str:
    """The command-line spelling of an option: ``top_k`` -> ``--top-k``; a switch on by default is the flag that
    turns it off: ``deformable`` -> ``--no-deformable``."""
    switched_on = any(spec.name == name and spec.default is True for spec in option_fields())
    return ("--no-" if switched_on else "--") + name.replace("_", "-")


def in_words(message: str, names: dict[str, str | None]) -> str:
    """``message`` naming each engine option of ``names`` as an interface shows it (``names[option]``: the server's
    JSON field, the Slicer panel's field), not by its command-line flag: ``option top_k (--top-k)`` becomes
    ``option NAME``, ``--top-k (top_k)`` and ``--top-k`` become ``NAME`` (not inside a path: ``/models/--top-k/x`` and
    ``C:\\models\\--top-k\\x`` stay). ``names[option]`` None: the interface cannot set it, so the flag given as an aside
    or an alternative (``(--vlm-timeout)``, ``or --vlm-family``) is left out. ``NAME`` may hold the flag itself (the
    engine server operator's: :data:`rau.serve.options.OPERATOR_NAMES`): each is replaced once."""
    for name, words in names.items():
        cli = rf"(?<![\w/\\-]){re.escape(flag(name))}(?![\w-])"  # not inside a path or a word
        if words is None:
            message = re.sub(rf"\s*\({cli}\)|,? or {cli}", "", message)
            continue
        named = rf"(option ){re.escape(name)} \({cli}\)|{cli} \({re.escape(name)}\)|{cli}"
        message = re.sub(named, lambda found: (found.group(1) or "") + words, message)
    return message


def said_in(error: BaseException, names: dict[str, str | None]) -> BaseException:
    """``error`` itself (its traceback kept), an :class:`InputError` or an engine server's refusal
    (:class:`rau.errors.ServerError`: what its job said, as its warnings) whose message is all it says (not one
    made from a path) reworded to name each option of ``names`` as an interface shows it (:func:`in_words`); others
    unchanged."""
    if isinstance(error, (InputError, ServerError)) and error.args == (str(error),):
        error.args = (in_words(str(error), names),)
    return error


@contextlib.contextmanager
def worded_for(names: dict[str, str | None]):
    """A context in which the warnings said (:func:`rau.user_warnings.warnings_worded`) and the error raised name each
    option of ``names`` as an interface shows it (:func:`in_words`, :func:`said_in`): for a front end other than the
    command line."""
    with warnings_worded(lambda message: in_words(message, names)):
        try:
            yield
        except Exception as error:
            said_in(error, names)
            raise


def value_type(hint) -> type:
    """The type of an option's values without ``Optional`` (``tuple`` for pairs)."""
    arguments = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_origin(hint) is typing.Union else [hint]
    return typing.get_origin(arguments[0]) or arguments[0]


def _checked(name: str, value, hint, metadata):
    """``value`` if it fits the option (a list becomes a tuple, an int a float); else OptionError."""
    where = f"option {name} ({flag(name)})"
    optional = type(None) in typing.get_args(hint)
    if value is None:
        if optional:
            return value
        raise OptionError(f"{where}: a value is required")
    kind = value_type(hint)
    if kind is tuple:
        if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_number(v) for v in value):
            raise OptionError(f"{where}: expected two numbers, got {value!r}")
        value = tuple(float(v) for v in value)
    elif kind is float and _is_number(value):
        value = float(value)
    elif kind is int and _is_number(value) and isinstance(value, numbers.Integral):
        value = int(value)  # numpy's integers too
    elif kind in (bool, int) and not isinstance(value, kind) or kind is int and isinstance(value, bool):
        raise OptionError(f"{where}: expected {kind.__name__}, got {value!r}")
    elif not isinstance(value, kind):
        raise OptionError(f"{where}: expected {kind.__name__}, got {value!r}")
    if metadata["choices"] is not None and value not in metadata["choices"]:
        raise OptionError(f"{where}: {value!r} is not one of {', '.join(map(str, metadata['choices']))}")
    if metadata["minimum"] is not None and value < metadata["minimum"]:
        raise OptionError(f"{where}: must be at least {metadata['minimum']}, got {value}")
    if kind is int:
        value = validation.non_negative_integer(value, flag(name))  # at most MAX_COUNT, as every count of the command line
    return metadata["check"](value, flag(name)) if metadata["check"] else value


def _is_number(value) -> bool:
    """A real number (numpy's included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


DEFAULTS = EngineOptions()
"""The defaults, for shells that show them (e.g. as the Slicer panel's placeholder texts)."""
