"""The VLM in this process: transformers ``AutoProcessor`` + image-text-to-text model, optional LoRA adapter."""

from __future__ import annotations

from pathlib import Path

from rau.errors import InputError, OptionError, UnavailableError, one_line
from rau.io.json_text import parse_json, read_json_object
from rau.models.inference import inference
from rau.models.loader import (ModelNotAvailableError, ModelSource, check_finite, check_safetensors, check_weights, fingerprint,
                               load_model, load_processor, processor_settings, read_config, read_json, read_text, resolve,
                               tensors_of)
from rau.user_warnings import ignore_deprecated_checkpointing_reads, model_warnings, say_again, warn
from rau.validation import not_a_folder
from rau.vlm.backend import Backend, Reply, cut_at_limit
from rau.vlm.families import SUPPORTED, ModelFamily, family_for
from rau.vlm.prompts import images_of


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
"""Where a model folder keeps its image processor's settings (the Hub's files, or those transformers 5 saves); one is needed."""
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
"""Where a model folder keeps its chat template, unless its tokenizer's or processor's settings hold it."""
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
DESCRIPTION = "rau_adapter.json"
"""What ``rau train`` wrote an adapter's base model into, in its ``OUT`` and in each of its checkpoints."""


class AdapterError(InputError, FileNotFoundError):
    """A --vlm-adapter folder is not a LoRA adapter, or its weights are damaged."""


class TransformersBackend(Backend):
    """A loaded Qwen2.5-VL / Qwen3-VL model and its processor; :meth:`load` reads one through :mod:`rau.models.loader`.

    Build one directly around a model already in memory, such as the one being fine-tuned.
    """

    def __init__(self, model, processor, family: ModelFamily, said: list[str] | None = None):
        """``said``: what loading the model warned of, which each answer says again (a warm engine's every run records
        it: :func:`~rau.user_warnings.model_warnings`); none for a model built in memory."""
        self.model, self.processor, self.family, self.said = model, processor, family, said or []
        self.calls = 0

    @classmethod
    def load(cls, source: ModelSource, device: str | None = None, dtype=None, adapter=None, family: ModelFamily | None = None):
        """The model at ``source`` (a LoRA ``adapter`` folder on top); ``family`` overrides the one its config names."""
        from transformers import AutoModelForImageTextToText, AutoProcessor

        folder = resolve(source)
        check_vlm_folder(folder)
        check_family_option(folder, family)
        if adapter:
            check_adapter_family(adapter, folder, family)
        with model_warnings() as said:
            processor = load_processor(AutoProcessor, source)
            model = load_model(AutoModelForImageTextToText, source, device, dtype)
            if adapter:
                model = load_adapter(model, adapter)
                warn_other_base(adapter, source)
        return cls(model, processor, model_family(source, processor, family), said)

    def inputs(self, messages: list[dict]):
        """The processor's tensors for a conversation (token ids, pixels, grid, ``mm_token_type_ids``)."""
        placeholders = [
            {**message, "content": [{"type": "image"} if part["type"] == "image" else part for part in message["content"]]}
            for message in messages
        ]
        text = self.processor.apply_chat_template(placeholders, add_generation_prompt=True, tokenize=False)
        return self.processor(text=[text], images=images_of(messages) or None, return_tensors="pt").to(self.model.device)

    def generate(self, messages: list[dict], max_new_tokens: int) -> Reply:
        say_again(self.said)
        inputs = self.inputs(messages)
        from transformers import LogitsProcessorList

        with inference():
            # greedy: a larger max_new_tokens changes none of the tokens generated before a smaller one would have cut
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                         logits_processor=LogitsProcessorList([refuse_non_finite_scores]))
        prompt_length = inputs["input_ids"].shape[1]
        answer = output[0, prompt_length:]
        self.calls += 1
        cut_short = cut_at_limit(answer, max_new_tokens, end_tokens(self.model, self.processor))
        return Reply(self.processor.decode(answer, skip_special_tokens=True), prompt_length, int(answer.shape[0]), cut_short)


def end_tokens(model, processor) -> set[int]:
    """The token ids that end ``model``'s answer: its generation config's ``eos_token_id`` (one or a list) and its
    tokenizer's, as TRL's GRPO trainer stops on both."""
    end = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    tokenizer_end = getattr(getattr(processor, "tokenizer", processor), "eos_token_id", None)
    ends = end if isinstance(end, (list, tuple)) else [end]
    return {token for token in [*ends, tokenizer_end] if token is not None}


def refuse_non_finite_scores(input_ids, scores):
    """A logits processor that stops generation when no token has a finite score: NaN logits still decode, to
    garbage read as "no answer", where the weights are damaged."""
    if not bool(scores.isfinite().any()):
        raise UnavailableError("the VLM (--vlm-model) gave no finite token scores: its weights hold NaN or infinite values "
                               "(a damaged checkpoint); copy the model folder again")
    return scores


def check_vlm_folder(folder: Path) -> None:
    """Refuse a folder whose config names no image-text-to-text model, that lacks its tokenizer, image processor or chat
    template, whose processor files are another model's (:func:`check_processor_fits`), whose chat template does not
    compile (:func:`check_chat_templates`), or whose weights are missing or cut off (:func:`rau.models.loader.check_weights`)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    model_type = read_config(folder).get("model_type")
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise ModelNotAvailableError(f"{folder}: model_type {model_type!r} is not a vision-language model (such as Qwen2.5-VL or Qwen3-VL)")
    missing = [name for name in TOKENIZER_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelNotAvailableError(f"{folder}: the tokenizer is missing ({', '.join(missing)}); copy it from the model's original folder")
    if not any((folder / name).is_file() for name in PROCESSOR_FILES):
        raise ModelNotAvailableError(f"{folder}: the image processor is missing ({' or '.join(PROCESSOR_FILES)}); copy it from the model's "
                                     "original folder")
    check_processor_fits(folder)
    check_chat_templates(folder)
    check_weights(folder)


VISION_GRID = (("patch_size", "patch_size"), ("temporal_patch_size", "temporal_patch_size"), ("merge_size", "spatial_merge_size"))
"""An image processor's setting and the config.json ``vision_config`` field it must equal: the processor cuts pictures
into the patches the vision encoder takes (Qwen2.5-VL: 14 px, Qwen3-VL: 16 px)."""


def check_processor_fits(folder: Path) -> None:
    """Refuse processor files whose patch sizes (:data:`VISION_GRID`) differ from config.json's: those of another model,
    which load and fail on the first picture. A setting either file leaves out is not compared."""
    vision = read_config(folder).get("vision_config") or {}
    settings = processor_settings(folder, tuple(setting for setting, _ in VISION_GRID))
    for setting, field in VISION_GRID:
        given = settings.get(setting)
        if given is not None and isinstance(vision, dict) and field in vision and given != vision[field]:
            raise ModelNotAvailableError(f"{folder}: its processor's {setting.replace('_', ' ')} {given} does not match config.json's "
                                         f"vision_config.{field} {vision[field]} (processor files of another model); copy them from "
                                         "the model's original folder")


def check_chat_templates(folder: Path) -> None:
    """Refuse a folder that keeps no chat template, or naming the file of one that does not compile (cut off or damaged),
    as transformers compiles it, before the model is loaded."""
    from jinja2 import TemplateError
    from transformers.utils.chat_template_utils import _compile_jinja_template  # what apply_chat_template compiles with

    templates = chat_templates(folder)
    if not templates:
        raise ModelNotAvailableError(f"{folder}: the chat template is missing ({' or '.join(CHAT_TEMPLATE_FILES)}, or a chat_template entry "
                                     f"in {TOKENIZER_FILES[1]}); copy it from the model's original folder")
    for path, template in templates:
        try:
            if not isinstance(template, str):
                raise TypeError(f"{type(template).__name__}, not text")
            _compile_jinja_template(template)
        except (TemplateError, TypeError) as error:
            raise ModelNotAvailableError(f"{path}: not a valid chat template ({one_line(str(error))}); copy it from the model's "
                                         "original folder") from None


def chat_templates(folder: Path) -> list[tuple[Path, object]]:
    """Each chat template ``folder`` keeps, with the file holding it: a file of its own, or an entry in its chat template's,
    tokenizer's or processor's settings (one template, or a list of named ones)."""
    found: list[tuple[Path, object]] = []
    text_file = folder / CHAT_TEMPLATE_FILES[0]
    if text_file.is_file():
        found.append((text_file, read_text(text_file)))
    for path in (folder / name for name in (CHAT_TEMPLATE_FILES[1], TOKENIZER_FILES[1], *PROCESSOR_FILES)):
        entry = read_json(path).get("chat_template") if path.is_file() else None
        named = entry if isinstance(entry, list) else [] if entry is None else [entry]
        found += [(path, item.get("template") if isinstance(item, dict) else item) for item in named]
    return found


def check_family_option(folder: Path, family: ModelFamily | None, option: str = "--vlm-family") -> None:
    """Refuse a ``family`` (``option``) other than the one the local model's config.json names: boxes would be read in
    another coordinate convention. A model_type of no known family takes the option as it is; without the option, it is
    refused (:func:`configured_family`)."""
    if family is None:
        configured_family(folder, family_option=option)
        return
    model_type = str(read_config(folder).get("model_type"))
    try:
        configured = family_for(model_type)
    except OptionError:
        return
    if configured.name != family.name:
        raise OptionError(f"{option} {family.name} contradicts {folder / 'config.json'}, whose model_type {model_type!r} is a "
                          f"{configured.name} model; leave {option} out for a local model")


def configured_family(folder: Path, family_option: str | None = None) -> ModelFamily:
    """The family the local model's config.json ``model_type`` names; :class:`ModelNotAvailableError` naming ``folder``
    when it names none RAU reads (a LLaVA ...), so it is refused before its weights are loaded; ``family_option``: the
    option that reads its boxes as a family's all the same, if the command has one."""
    model_type = read_config(folder).get("model_type")
    try:
        return family_for(str(model_type))
    except OptionError:
        hint = f"; the command line's {family_option} reads its boxes as one of them all the same" if family_option else ""
        raise ModelNotAvailableError(f"{folder}: config.json's model_type {model_type!r} is of no vision-language model family "
                                     f"RAU reads ({SUPPORTED}){hint}") from None


def check_trainable_folder(folder: Path) -> None:
    """Refuse a folder ``rau train`` cannot fine-tune: one :func:`check_vlm_folder` refuses, or of a family RAU does not
    read (:func:`configured_family`), by which it renders the pairs."""
    check_vlm_folder(folder)
    configured_family(folder)


def model_family(source: ModelSource, processor=None, family: ModelFamily | None = None) -> ModelFamily:
    """How the model at ``source`` sizes images and writes boxes.

    ``family`` (default: the one its config's ``model_type`` names) within its processor's
    pixel limits, so the processor never resizes RAU's images again. Training renders pairs
    with this family too.
    """
    from transformers import AutoProcessor

    if family is None:
        family = configured_family(resolve(source))
    if processor is None:
        processor = load_processor(AutoProcessor, source)
    size = getattr(processor.image_processor, "size", None) or {}
    return family.with_pixel_limits(size.get("shortest_edge"), size.get("longest_edge"))


def check_adapter_folder(adapter) -> Path:
    """The adapter's folder; :class:`AdapterError` when there is none, or it lacks ``adapter_config.json`` or weights,
    or they cannot be read (:func:`_check_adapter_files`)."""
    folder = Path(adapter).expanduser()
    if not folder.is_dir():
        raise AdapterError(f"{folder}: {not_a_folder(folder)}")
    if not (folder / "adapter_config.json").is_file():
        raise AdapterError(f"{folder} is not a LoRA adapter folder (no adapter_config.json)")
    if not any((folder / name).is_file() for name in ADAPTER_WEIGHTS):
        raise AdapterError(f"{folder}: the adapter weights are missing (no {' or '.join(ADAPTER_WEIGHTS)})")
    _check_adapter_files(folder)
    return folder


def _check_adapter_files(folder: Path) -> None:
    """:class:`AdapterError` naming an ``adapter_config.json`` that is not readable JSON, or ``.safetensors`` weights cut
    off or with a damaged header (:func:`rau.models.loader.check_safetensors`), before the model they go on is loaded."""
    config = folder / "adapter_config.json"
    try:
        parse_json(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AdapterError(f"{config}: not readable JSON ({error})") from None
    weights = folder / ADAPTER_WEIGHTS[0]
    try:
        if weights.is_file():
            check_safetensors(weights, "adapter")
    except ModelNotAvailableError as error:
        raise AdapterError(str(error)) from None


def other_base(adapter, source: ModelSource) -> str | None:
    """The base model ``rau train`` trained ``adapter`` on (:func:`described_base`) when that is not ``source``; None when
    it is, or for an adapter without that description, which is warned of as unchecked (:func:`_warn_unchecked_base`)."""
    described = described_base(adapter, source)
    if described is None:
        _warn_unchecked_base(adapter, source)
        return None
    trained_on, same = described
    return None if same else trained_on


def described_base(adapter, source: ModelSource) -> tuple[str, bool] | None:
    """(the base model ``adapter``'s :data:`DESCRIPTION` names: a ``rau train`` run's adapter or one of its checkpoints,
    whether that is ``source``); None without such a description. The model is compared by its
    :func:`~rau.models.loader.fingerprint`, so the same model in another folder or as its Hub id is; an adapter described
    before fingerprints were recorded is compared by the folder or id it names (then one id at another revision is)."""
    description = _description(adapter)
    trained_on = description.get("base_model")
    if not isinstance(trained_on, str):
        return None
    recorded = description.get("base_fingerprint")
    if isinstance(recorded, str):
        return trained_on, recorded == fingerprint(resolve(source))
    return trained_on, same_place(trained_on, source)


def same_place(trained_on: str, source: ModelSource) -> bool:
    """Whether ``source`` names the folder or Hub id ``trained_on`` (as a :data:`DESCRIPTION` names its base model)."""
    if source.is_local:
        return Path(trained_on).resolve() == Path(source.name).expanduser().resolve()
    return trained_on == source.name


def trained_on_words(trained_on: str, source: ModelSource, option: str = "") -> str:
    """What an adapter trained on ``trained_on``, not on ``source`` (given as ``option``), was trained on, in words: that
    folder or id, or, for the same one, the model that was there before its files changed."""
    if same_place(trained_on, source):
        return f"another model than the one now in {option}{source.name} (its files changed since)"
    return f"{trained_on}, not on {option}{source.name}"


def _warn_unchecked_base(adapter, source: ModelSource) -> None:
    """Say that the base model of ``adapter`` (one trained elsewhere, or its :data:`DESCRIPTION` lost) cannot be checked
    against ``source``, naming the one its peft ``adapter_config.json`` names, if any."""
    try:
        named = read_json_object(Path(adapter) / "adapter_config.json").get("base_model_name_or_path")
    except (OSError, ValueError):
        named = None
    said = f" (its adapter_config.json names {named})" if isinstance(named, str) and named else ""
    warn(f"the adapter {adapter} has no {DESCRIPTION}, so the base model it was trained on cannot be checked{said}; if that is not "
         f"{source.name}, its answers are not the ones it was trained to give")


def _description(adapter) -> dict:
    """What ``rau train`` wrote about ``adapter`` (its :data:`DESCRIPTION`); empty for an adapter trained elsewhere. One
    that cannot be read is refused, naming it: the base model and family it says cannot be checked."""
    path = Path(adapter) / DESCRIPTION
    if not path.exists():
        return {}
    try:
        return read_json_object(path)
    except (OSError, ValueError) as error:
        raise AdapterError(f"{adapter}: its {DESCRIPTION} is damaged or cut off ({error}), so the base model it was trained on cannot be "
                           "checked; restore it from the run the adapter came from, or remove it to load the adapter unchecked") from None


def check_adapter_family(adapter, folder: Path, family: ModelFamily | None) -> None:
    """Refuse an ``adapter`` that ``rau train`` trained on a model of a family (:data:`DESCRIPTION` names it) whose box
    convention (pixels, or 0-1000) is not that of the model in ``folder`` (``family``, default: the one its config.json
    names): its boxes would be read in this one's. Families of one convention pass here (another base model is warned of:
    :func:`warn_other_base`)."""
    recorded = _description(adapter).get("family")
    if not isinstance(recorded, str):
        return
    try:
        trained, model = family_for(recorded), family or family_for(str(read_config(folder).get("model_type")))
    except OptionError:  # a family this version does not know, or a model of none: nothing to compare
        return
    if trained.normalized_to != model.normalized_to:
        raise AdapterError(f"{adapter}: the adapter was trained on a {trained.name} model, which writes boxes {_convention(trained)}, "
                           f"but {folder} is a {model.name} model, which writes them {_convention(model)}: its boxes would be "
                           f"misread; load it onto a {trained.name} model, or train one on this model (rau train build-pairs --model {folder}, then sft)")


def _convention(family: ModelFamily) -> str:
    """How ``family`` writes box coordinates, in words."""
    return "in pixels" if family.normalized_to is None else f"normalized to 0-{family.normalized_to}"


def warn_other_base(adapter, source: ModelSource) -> None:
    """Say so when ``adapter`` was trained on another base model than ``source`` (:func:`other_base`): an adapter of the
    same shape loads onto another model without an error, but its answers are not the ones it was trained to give."""
    trained_on = other_base(adapter, source)
    if trained_on is not None:
        warn(f"the adapter {adapter} was trained on {trained_on_words(trained_on, source)}; if that is another model, "
             "its answers are not the ones it was trained to give")


def load_adapter(model, adapter, trainable: bool = False):
    """Layer a LoRA adapter folder (saved by peft, e.g. by ``rau train sft``) onto ``model``; ``trainable`` to train it further.
    Its weights are checked once loaded (NaN or infinite: :func:`rau.models.loader.check_finite`)."""
    folder = check_adapter_folder(adapter)
    from safetensors import SafetensorError

    try:
        from peft import PeftModel
    except ImportError as error:
        raise UnavailableError("loading a LoRA adapter needs peft: pip install peft (in Slicer: the module's Install dependencies)") from error
    base = {id(tensor) for _, tensor in tensors_of(model)}  # checked as the model loaded
    try:
        ignore_deprecated_checkpointing_reads()
        model = PeftModel.from_pretrained(model, str(folder), is_trainable=trainable)
    except (OSError, SafetensorError) as error:
        raise AdapterError(f"{folder}: cannot read the adapter weights ({error})") from error
    except (RuntimeError, ValueError, TypeError, KeyError) as error:  # shapes, target modules or a config that do not fit
        if "out of memory" in str(error).lower():  # torch.cuda.OutOfMemoryError is a RuntimeError: not the adapter's fault
            raise
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        reason = next((line for line in lines if "size mismatch" in line), lines[0])
        raise AdapterError(f"{folder} does not fit this model (was it trained on another base model, or do its adapter_config.json "
                           f"and weights disagree?): {reason[:300]}") from error
    check_finite([(name, tensor) for name, tensor in tensors_of(model) if id(tensor) not in base], folder, "adapter", AdapterError)
    return model if trainable else model.eval()
