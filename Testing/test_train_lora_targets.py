"""Which layers ``rau train`` puts LoRA on (:meth:`rau.train.model.LoraSettings.config`), for each family it reads."""

from __future__ import annotations

import pytest

from rau.train.model import LoraSettings

TEXT = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
            max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]})


def _tiny(family: str):
    """A tiny random model of ``family``, built from its config."""
    import torch
    import transformers

    vision = {"qwen2_vl": dict(depth=1, embed_dim=32, mlp_ratio=2, num_heads=2, hidden_size=32, patch_size=14),
              "qwen2_5_vl": dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, patch_size=14,
                                 fullatt_block_indexes=[0]),
              "qwen3_vl": dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, patch_size=16,
                               num_position_embeddings=64, deepstack_visual_indexes=[0])}[family]
    text = {**TEXT, "head_dim": 16} if family == "qwen3_vl" else TEXT
    config = transformers.AutoConfig.for_model(family, text_config=text, vision_config=vision)
    torch.manual_seed(0)
    return transformers.AutoModelForImageTextToText.from_config(config)


def _linear_layers(model, where: str) -> set[str]:
    """The names of the nn.Linear layers of ``model`` whose name holds ``where``."""
    import torch

    return {name for name, module in model.named_modules() if where in name and isinstance(module, torch.nn.Linear)}


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_train_vision_adapts_every_linear_layer_of_the_vision_blocks(family):
    """Before: Qwen3-VL's vision MLP (mlp.linear_fc1/linear_fc2) and Qwen2-VL's (mlp.fc1/fc2) got no LoRA, only attention."""
    from peft import get_peft_model

    pytest.importorskip("torchvision")
    model = _tiny(family)
    vision, language = _linear_layers(model, "visual.blocks."), _linear_layers(model, "language_model.layers.")
    adapted = {name.rsplit(".lora_A", 1)[0].replace("base_model.model.", "", 1)
               for name, _ in get_peft_model(model, LoraSettings(train_vision=True).config()).named_modules() if name.endswith(".lora_A")}
    assert vision and vision <= adapted, sorted(vision - adapted)
    assert language and language <= adapted, sorted(language - adapted)
    assert not adapted & _linear_layers(model, "merger")


def test_without_train_vision_the_vision_tower_gets_no_lora():
    from peft import get_peft_model

    model = get_peft_model(_tiny("qwen3_vl"), LoraSettings().config())
    assert not any("visual" in name for name, _ in model.named_modules() if name.endswith(".lora_A"))
