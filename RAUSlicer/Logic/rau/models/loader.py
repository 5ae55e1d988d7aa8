"""One loader for every model: a Hugging Face id or a local folder, offline-aware, with device and dtype.

torch and transformers are imported inside the functions, so ``import rau`` stays light.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rau.errors import UnavailableError, about, one_line, system_reason
from rau.extras import require
from rau.io.json_text import parse_json
from rau.user_warnings import warn_once


class ModelNotAvailableError(UnavailableError):
    """The model cannot be used: not on this machine and not downloadable, or its folder is damaged or of another kind."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: ``name`` is a Hugging Face id (``org/model``) or a local folder."""

    name: str
    revision: str | None = None
    cache_dir: str | None = None

    @property
    def is_local(self) -> bool:
        """Whether the model names a folder on this computer (not a Hugging Face id or alias)."""
        return Path(self.name).expanduser().is_dir()


def offline() -> bool:
    """True when Hugging Face downloads are switched off (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def looks_like_path(name: str) -> bool:
    """Whether a model name that is no folder here was meant as one (refused as missing, not looked up on the Hugging
    Face hub): it starts as a path does (``.``, ``/``, ``~``, a backslash or a drive letter: ``C:/models/sam2``), holds
    a backslash, or more than the one slash of a hub id (``org/name``). A hub id holds none of these, on any system."""
    stripped = name.strip("/")
    return bool(name.startswith((".", "/", "~", "\\")) or "\\" in name or re.match(r"[A-Za-z]:", name) or stripped.count("/") > 1)


def resolve(source: ModelSource) -> Path:
    """A local folder holding the model's files: the folder itself, or the Hugging Face cache snapshot.

    Downloads only when online; raises :class:`ModelNotAvailableError` with instructions otherwise.
    """
    if source.is_local:
        folder = Path(source.name).expanduser()
        if not has_file(folder, "config.json"):
            if has_file(folder, "adapter_config.json"):  # e.g. rau train's OUT given as the model
                raise ModelNotAvailableError(f"{folder} has no config.json: it holds a LoRA adapter, not a model; give it as the adapter "
                                             "(--adapter, or --vlm-adapter for rau segment) and its base model as the model")
            raise ModelNotAvailableError(f"{folder} has no config.json; point to a folder saved with save_pretrained()")
        return folder
    if Path(source.name).expanduser().is_file():
        raise ModelNotAvailableError(f"{source.name} is a file, not a model folder; pass the folder holding its config.json and weights")
    if looks_like_path(source.name):
        raise ModelNotAvailableError(f"model folder {source.name} does not exist")
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                source.name,
                revision=source.revision,
                cache_dir=source.cache_dir,
                local_files_only=offline(),
            )
        )
    except Exception as error:  # hub errors come in many classes; all mean "not here"
        _refuse_mistyped_folder(source)
        revision = f" --revision {source.revision}" if source.revision else ""
        how = (
            f"download it on a machine with internet access (hf download {source.name}{revision} --local-dir FOLDER) "
            f"and copy FOLDER here, then pass that folder instead of the id"
        )
        cache = f"the cache folder {source.cache_dir} (--model-cache)" if source.cache_dir else "the cache"
        state = (f"offline mode is on (HF_HUB_OFFLINE=1) and it is not in {cache}" if offline()
                 else f"it is not in {cache} and the download failed: {one_line(str(error)).rstrip('.')}")
        raise ModelNotAvailableError(f"model {source.name!r} is not available: {state}. To use it, {how}.") from error


def has_file(folder: Path, name: str) -> bool:
    """Whether the model folder ``folder`` holds a file ``name``; one the system does not let us look into (no
    permission) raises :class:`ModelNotAvailableError` naming it, not the file looked for."""
    try:
        return (Path(folder) / name).is_file()
    except OSError as error:
        raise ModelNotAvailableError(f"{folder}: cannot look into this folder ({system_reason(error)})") from None


def _refuse_mistyped_folder(source: ModelSource) -> None:
    """Name a mistyped local folder as such: an id that is no model here but whose first part is a local folder
    (``models/qwen2``) was meant as a folder more likely than as a Hugging Face id."""
    given = Path(source.name).expanduser()
    if given.parent != Path(".") and given.parent.is_dir():
        raise ModelNotAvailableError(f"no local folder {source.name} exists ({given.parent} holds no {given.name!r}), nor is it a Hugging Face "
                                     "model available here; check the folder name") from None


def pick_device(requested: str | None = None, quiet: bool = False) -> str:
    """``cuda`` when present, else Apple ``mps``, else ``cpu`` (with a warning to the user, once per run, unless
    ``quiet``); an explicit choice wins (:func:`check_device`)."""
    import torch

    if requested and requested != "auto":
        check_device(requested)
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    if not quiet:
        warn_once("no GPU found: running on the CPU, which is much slower (device cpu chooses it without this warning)")
    return "cpu"


def check_device(requested: str | None) -> None:
    """Raise :class:`ModelNotAvailableError` when ``requested`` names a GPU kind this machine lacks (auto and cpu pass)."""
    if not requested or requested in ("auto", "cpu"):
        return
    import torch

    for kind, present, gpu in (("cuda", torch.cuda.is_available, "CUDA GPU"), ("mps", _mps_available, "Apple MPS GPU")):
        if requested.startswith(kind) and not present():
            raise ModelNotAvailableError(f"device {kind!r} was requested but no {gpu} is available")
    index = requested.removeprefix("cuda:")
    if requested.startswith("cuda:") and index.isdigit() and int(index) >= torch.cuda.device_count():
        raise ModelNotAvailableError(f"device {requested!r} was requested but this machine has {torch.cuda.device_count()} CUDA GPU(s)")


def _mps_available() -> bool:
    import torch

    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def default_dtype(device: str):
    """bfloat16 on CUDA, float32 elsewhere."""
    import torch

    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def load_model(model_class, source: ModelSource, device: str | None = None, dtype=None):
    """``model_class.from_pretrained`` on the resolved folder, in eval mode on ``device``.

    Unreadable weights, weights that do not fill the model (missing or of another shape, which transformers would
    replace with random ones) or that it leaves unused (a config of fewer layers: transformers drops them, save those its
    model class ignores on purpose), and weights that hold NaN or infinite numbers (:func:`check_finite`) raise
    :class:`ModelNotAvailableError` naming the folder.
    """
    from huggingface_hub.errors import StrictDataclassError
    from safetensors import SafetensorError

    folder = resolve(source)
    device = pick_device(device)
    try:
        with quiet_transformers():
            model, info = model_class.from_pretrained(
                str(folder), dtype=dtype or default_dtype(device), ignore_mismatched_sizes=True, output_loading_info=True
            )
    except (OSError, SafetensorError) as error:
        raise ModelNotAvailableError(f"{folder}: cannot read the model weights ({error})") from error
    except (AttributeError, TypeError, ValueError, KeyError, StrictDataclassError, RecursionError) as error:  # transformers builds the model from config.json
        raise ModelNotAvailableError(f"{folder}: its config.json does not describe a {model_class.__name__} "
                                     f"({type(error).__name__}: {' '.join(str(error).split())})") from error
    missing, unused = sorted(info["missing_keys"]), sorted(info["unexpected_keys"])
    mismatched = sorted(f"{key} is {tuple(have)}, not {tuple(want)}" for key, have, want in info["mismatched_keys"])
    if missing or mismatched or unused:
        raise ModelNotAvailableError(
            f"{folder}: the weights do not fit its config.json ({len(missing)} tensors missing, {len(mismatched)} of another shape, "
            f"{len(unused)} unused: {'; '.join((missing + mismatched + unused)[:3])} ...); the checkpoint is incomplete or belongs "
            "to another model"
        )
    model = model.to(device).eval()
    check_finite(tensors_of(model), folder)
    return model


@contextlib.contextmanager
def quiet_transformers():
    """transformers' progress bars and warnings off (its load report of weights that do not fit runs to hundreds of
    lines): :func:`load_model` reports a model that does not fit in one line, and one that fits loads without a word."""
    from transformers.utils import logging as transformers_logging

    verbosity, bars = transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()


def check_weights(folder: Path) -> None:
    """Raise :class:`ModelNotAvailableError` when ``folder`` holds no weights file, or naming a ``.safetensors`` file
    that :func:`check_safetensors` refuses, or a ``pytorch_model*.bin`` that :func:`check_torch_weights` refuses, or a
    shard that the checkpoint's index names and the folder lacks; only headers, directories and the index are read (torch
    files mapped), so this is quick for any size."""
    if not weight_files(folder):
        raise ModelNotAvailableError(f"{folder} holds no model weights (model.safetensors); copy the whole model folder")
    for index in sorted(Path(folder).glob("*.index.json")):  # a checkpoint in shards lists them all
        shards = read_json(index).get("weight_map", {})
        missing = sorted({name for name in shards.values() if isinstance(name, str) and not (Path(folder) / name).is_file()})
        if missing:
            raise ModelNotAvailableError(f"{index} names {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not in "
                                         f"{folder}; copy the whole model folder")
    for weights in weight_files(folder):
        if weights.suffix == ".safetensors":
            check_safetensors(weights)
        else:
            check_torch_weights(weights)


WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")
"""The names of a model folder's weights files: safetensors, or PyTorch checkpoints."""


def weight_files(folder: Path) -> list[Path]:
    """The weights files in the model folder ``folder`` (:data:`WEIGHT_FILES`), by name."""
    return sorted(path for pattern in WEIGHT_FILES for path in Path(folder).glob(pattern))


FINGERPRINT_SAMPLE = 1 << 16
"""Bytes a fingerprint reads at the start, middle and end of each weights file."""


def fingerprint(folder: Path) -> str:
    """What the model in ``folder`` is, cheaply: a hash of its config.json's settings and of each weights file's name,
    size and three :data:`FINGERPRINT_SAMPLE` samples (start, middle, end). The same model in another folder (a copy, a
    download of its Hub id, the cache's snapshot) has the same fingerprint, another model of the same shape almost surely
    not; multi-GB weights are not read whole. An unreadable file raises :class:`ModelNotAvailableError` naming it."""
    digest = hashlib.sha256(json.dumps(read_config(folder), sort_keys=True).encode())
    for weights in weight_files(folder):
        try:
            size = weights.stat().st_size
            digest.update(f"{weights.name}\0{size}\0".encode())
            with open(weights, "rb") as handle:
                for offset in (0, max(0, size // 2 - FINGERPRINT_SAMPLE // 2), max(0, size - FINGERPRINT_SAMPLE)):
                    handle.seek(offset)
                    digest.update(handle.read(FINGERPRINT_SAMPLE))
        except OSError as error:
            raise ModelNotAvailableError(f"{weights}: cannot read the model weights ({system_reason(error)})") from None
    return digest.hexdigest()


def check_torch_weights(weights: Path) -> None:
    """Raise :class:`ModelNotAvailableError` naming a ``pytorch_model*.bin`` that cannot be read, is not whole (cut off
    or damaged) or holds no state dict (names of tensors: one tensor, say, which transformers would take for a config
    problem). torch's zip files are mapped, not read, so this is quick for any size; an old-style pickle is read."""
    import zipfile

    import torch

    check_readable(weights)
    if not _whole_torch_file(weights):
        raise ModelNotAvailableError(f"{weights}: cannot read the model weights (not a whole PyTorch checkpoint: cut off or damaged)")
    try:
        loaded = torch.load(weights, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(weights))
    except Exception as error:  # a file that is no torch checkpoint fails in many classes (EOFError, UnpicklingError, ...)
        raise ModelNotAvailableError(f"{weights}: cannot read the model weights ({torch_load_reason(error)})") from None
    if not isinstance(loaded, dict) or not all(isinstance(name, str) and isinstance(value, torch.Tensor) for name, value in loaded.items()):
        raise ModelNotAvailableError(f"{weights}: not a model's weights (it holds a {type(loaded).__name__}, not a state dict of named "
                                     "tensors); copy the whole model folder")


def torch_load_reason(error: Exception) -> str:
    """Why ``torch.load(..., weights_only=True)`` refused a file, in a few words (PyTorch's own message is many lines
    of advice on loading untrusted code)."""
    unsafe = re.search(r"[Uu]nsupported (?:global: )?GLOBAL (\S+)", str(error))  # also a module PyTorch blocks (posix.system)
    if unsafe:
        return f"it holds an object of class {unsafe.group(1)}; only plain weights are loaded"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return "not a file torch.save wrote, or cut short"


def check_safetensors(weights: Path, what: str = "model") -> None:
    """Raise :class:`ModelNotAvailableError` naming a ``.safetensors`` file whose header cannot be read or that is
    shorter than its header says (cut off); only the header is read. ``what``: whose weights they are, as the message
    says. (Numbers that are not finite are found once loaded: :func:`check_finite`.)"""
    from safetensors import SafetensorError, safe_open

    check_readable(weights, what)
    try:
        with safe_open(str(weights), "pt"):
            pass
    except (OSError, SafetensorError) as error:
        raise ModelNotAvailableError(f"{weights}: cannot read the {what} weights ({error})") from error


def check_readable(weights: Path, what: str = "model") -> None:
    """Raise :class:`ModelNotAvailableError` naming a weights file the system does not let us open (no permission: the
    readers that come after would call it missing), as the system says it."""
    try:
        with open(weights, "rb"):
            pass
    except OSError as error:
        raise ModelNotAvailableError(f"{weights}: cannot read the {what} weights ({system_reason(error)})") from None


def check_finite(tensors, folder, what: str = "model", error=ModelNotAvailableError, advice: str | None = None) -> None:
    """Raise ``error`` naming ``folder`` and the first of ``tensors`` (``(name, tensor)`` pairs, a loaded model's
    parameters and buffers) holding a NaN or infinite number: a damaged copy, which a model runs with and answers
    nothing. Checked in memory after loading, which costs little beside it. ``advice``: what to do (default: copy the
    folder again)."""
    damaged = first_non_finite(tensors)
    if damaged is not None:
        raise error(f"{folder}: the {what} weights hold NaN or infinite values (tensor {damaged} first): "
                    f"{advice or f'the copy is damaged; copy the {what} folder again'}")


def first_non_finite(tensors) -> str | None:
    """The name of the first of ``tensors`` (``(name, tensor)`` pairs) holding a NaN or infinite number, or None."""
    return next((name for name, tensor in tensors if not _finite(tensor)), None)


def tensors_of(model) -> list:
    """A model's parameters and buffers, ``(name, tensor)``: what :func:`check_finite` checks."""
    return [*model.named_parameters(), *model.named_buffers()]


def _finite(tensor) -> bool:
    """Whether a tensor's numbers are all finite (whole numbers always are; 8-bit floats are widened for torch to
    check), taken in parts of 16 M numbers: no mask as large as a model's largest tensor is made beside it."""
    if not tensor.is_floating_point():
        return True
    parts = tensor.reshape(-1).split(1 << 24)
    return all(bool((part.half() if part.element_size() == 1 else part).isfinite().all()) for part in parts)


@contextlib.contextmanager
def option_named(option: str, value, errors=(ModelNotAvailableError,)):
    """A context in which an error of ``errors`` (a model found unusable while it loads) is raised again led by the
    option that named the model, ``OPTION VALUE: ...`` (the value once: :func:`rau.errors.about`), as
    :func:`rau.engines.checks.check_models` names what it finds before any work."""
    try:
        yield
    except errors as error:
        raise type(error)(f"{option} {about(value, error)}") from None


def _whole_torch_file(path: Path) -> bool:
    """Whether a ``.bin`` checkpoint is whole: torch's zip archive with its directory at the end (a cut-off file has
    none), or an old-style pickle, which only loading can check."""
    import zipfile

    with open(path, "rb") as handle:
        head = handle.read(2)
    return zipfile.is_zipfile(path) or head[:1] == b"\x80"


VLM_MODULES = ("torch", "torchvision", "transformers")
"""The optional packages a vision-language model in this process needs (:func:`rau.extras.require`): transformers'
Qwen processors need torchvision, and without it raise an ImportError of their own that names no missing module."""


def load_processor(processor_class, source: ModelSource):
    """``processor_class.from_pretrained`` on the resolved folder (processors, tokenizers); a folder whose processor
    or tokenizer files are missing or damaged raises :class:`ModelNotAvailableError` naming it, a package it needs not
    installed :class:`~rau.extras.MissingExtraError` (:data:`VLM_MODULES`)."""
    require(*VLM_MODULES)
    folder = resolve(source)
    try:
        return processor_class.from_pretrained(str(folder))
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as error:  # JSONDecodeError is a ValueError; RecursionError: JSON nested too deep
        raise ModelNotAvailableError(f"{folder}: cannot load its processor or tokenizer ({type(error).__name__}: "
                                     f"{str(error).splitlines()[0] if str(error) else ''})") from None


PROCESSOR_FILES = ("processor_config.json", "video_preprocessor_config.json", "preprocessor_config.json")


def read_config(folder: Path) -> dict:
    """The model's ``config.json`` as a dict."""
    return read_json(Path(folder) / "config.json")


def read_text(path: Path) -> str:
    """The text of one of the model's files; an unreadable one raises naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise ModelNotAvailableError(f"{path}: cannot read this model file ({error})") from error


def read_json(path: Path) -> dict:
    """A JSON object from one of the model's files; unreadable or broken files raise naming the file."""
    try:
        document = parse_json(read_text(path))
    except ValueError as error:
        raise ModelNotAvailableError(f"{path}: cannot read this model file ({error})") from error
    if not isinstance(document, dict):
        raise ModelNotAvailableError(f"{path}: not a JSON object")
    return document


FRAME_SETTINGS = ("image_mean", "image_std", "size")


def processor_settings(folder: Path, keys=FRAME_SETTINGS) -> dict:
    """The settings named ``keys`` (default: ``image_mean``, ``image_std`` and ``size``) from the checkpoint's processor
    files, where it has them.

    Looks in ``processor_config.json`` (also inside its ``video_processor``/``image_processor`` parts),
    ``video_preprocessor_config.json`` and ``preprocessor_config.json``, first found wins per key.
    """
    found: dict = {}
    for name in PROCESSOR_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        document = read_json(path)
        for part in (document, document.get("video_processor") or {}, document.get("image_processor") or {}):
            for key in keys:
                if key in part and key not in found:
                    found[key] = part[key]
    return found
