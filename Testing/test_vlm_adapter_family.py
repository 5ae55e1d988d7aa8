"""An adapter ``rau train`` trained on one model family, loaded onto another: refused only when the two write boxes in
different conventions (pixels, or normalized to 0-1000)."""

import json

import pytest

from rau.vlm.local import AdapterError, check_adapter_family


def _folders(tmp_path, trained: str, model_type: str):
    adapter, model = tmp_path / "adapter", tmp_path / "model"
    adapter.mkdir(exist_ok=True)
    model.mkdir(exist_ok=True)
    (adapter / "rau_adapter.json").write_text(json.dumps({"family": trained, "base_model": "x"}))
    (model / "config.json").write_text(json.dumps({"model_type": model_type}))
    return adapter, model


def test_an_adapter_of_another_family_with_the_same_box_convention_is_not_refused(tmp_path):
    """Before: "trained on a qwen2-vl model, which writes boxes normalized to 0-1000, but ... is a qwen3-vl model, which
    writes them normalized to 0-1000: its boxes would be misread"."""
    check_adapter_family(*_folders(tmp_path, "qwen2-vl", "qwen3_vl"), None)
    adapter, model = _folders(tmp_path, "qwen2-vl", "qwen2_5_vl")
    with pytest.raises(AdapterError, match=f"{adapter}: the adapter was trained on a qwen2-vl model, which writes boxes normalized to "
                                           f"0-1000, but {model} is a qwen2.5-vl model, which writes them in pixels"):
        check_adapter_family(adapter, model, None)
