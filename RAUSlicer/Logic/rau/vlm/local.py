"""The VLM in this process: transformers ``AutoProcessor`` + image-text-to-text model, optional LoRA adapter."""

from __future__ import annotations

from pathlib import Path

from rau.models.loader import ModelSource, load_model, load_processor, resolve
from rau.vlm.backend import Backend, Reply
from rau.vlm.families import ModelFamily, family_for
from rau.vlm.prompts import images_of


class TransformersBackend(Backend):
    """Qwen2.5-VL, Qwen3-VL or a local folder of either, loaded through :mod:`rau.models.loader`."""

    def __init__(self, source: ModelSource, device: str | None = None, dtype=None, adapter=None, family: ModelFamily | None = None):
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

        config = AutoConfig.from_pretrained(str(resolve(source)))
        family = family or family_for(config.model_type)
        self.processor = load_processor(AutoProcessor, source)
        self.model = load_model(AutoModelForImageTextToText, source, device, dtype)
        if adapter:
            self.model = load_adapter(self.model, adapter)
        size = getattr(self.processor.image_processor, "size", None) or {}
        self.family = family.with_pixel_limits(size.get("shortest_edge"), size.get("longest_edge"))
        self.calls = 0

    def inputs(self, messages: list[dict]):
        """The processor's tensors for a conversation (token ids, pixels, grid, ``mm_token_type_ids``)."""
        placeholders = [
            {**message, "content": [{"type": "image"} if part["type"] == "image" else part for part in message["content"]]}
            for message in messages
        ]
        text = self.processor.apply_chat_template(placeholders, add_generation_prompt=True, tokenize=False)
        return self.processor(text=[text], images=images_of(messages) or None, return_tensors="pt").to(self.model.device)

    def generate(self, messages: list[dict], max_new_tokens: int) -> Reply:
        import torch

        inputs = self.inputs(messages)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        prompt_length = inputs["input_ids"].shape[1]
        answer = output[0, prompt_length:]
        self.calls += 1
        return Reply(self.processor.decode(answer, skip_special_tokens=True), prompt_length, int(answer.shape[0]))


def load_adapter(model, adapter):
    """Layer a LoRA adapter folder (saved by peft, e.g. by ``rau train sft``) onto ``model``."""
    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a LoRA adapter folder (no adapter_config.json)")
    try:
        from peft import PeftModel
    except ImportError as error:
        raise RuntimeError("loading a LoRA adapter needs peft: pip install 'rauslicer[train]'") from error
    return PeftModel.from_pretrained(model, str(folder)).eval()
