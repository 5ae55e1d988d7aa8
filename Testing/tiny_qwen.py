"""A tiny random-weight Qwen2.5-VL with a locally trained tokenizer and the real processor.

``build_tiny_qwen(folder) -> folder`` writes a model folder that the production loader
(:mod:`rau.models.loader`) and ``AutoProcessor`` read like any downloaded Qwen2.5-VL:
config + safetensors, a byte-level BPE tokenizer trained here with ``tokenizers`` (with
Qwen's special tokens and a Qwen-style chat template), and the real Qwen2.5-VL image,
video and text processors. No network is used. The tests take it as the ``tiny_qwen`` fixture (conftest.py);
it imports without pytest, for the README's small CPU run.

Its image processor takes at most ``MAX_PIXELS`` (64 patches of 28x28, 2 x 2 merged
patches each): RAU sizes its pictures within the processor's limits
(:func:`rau.vlm.local.model_family`), so an HC18 slice is shown at 252x168 (54 image
tokens, not the 551 of Qwen's own limit) and the tests run the model on short inputs.
``build_tiny_qwen(folder, max_pixels=...)`` sets another limit (``benchmarks/bench_vlm.py`` counts prompt tokens
with Qwen2.5-VL's own, :data:`rau.vlm.families.QWEN2_5_VL`).
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

MAX_PIXELS = 64 * 28 * 28

_CORPUS = [
    "You are an expert in medical image anatomy. Image 1 is the reference. Image 2 is the target.",
    "Each structure is outlined in color and marked with its number: 1: liver 2: spleen 3: head",
    'Answer with JSON only: [{"label": "liver", "present": true, "bbox_2d": [12, 34, 56, 78]}]',
    '{"label": "spleen", "present": false} {"label": "head"} Which reference structure is boxed in yellow?',
    "0 1 2 3 4 5 6 7 8 9 10 100 250 504 1000 [ ] { } , : \" yes no true false visible pixels width height",
]


def train_tokenizer(folder: Path, vocab_size: int = 400):
    """A byte-level BPE tokenizer with Qwen's special tokens, saved as a fast tokenizer in ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(_CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def build_tiny_qwen(folder, seed: int = 0, max_pixels: int = MAX_PIXELS) -> Path:
    """Write a tiny random Qwen2.5-VL (model, tokenizer, processor taking pictures of at most ``max_pixels``) into
    ``folder``; return it."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=14,
            spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1],
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(folder)
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=4 * 28 * 28, max_pixels=max_pixels),
        video_processor=Qwen2VLVideoProcessor(),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    return folder
