"""What training says when --data is no pairs dataset, or pairs made for another model."""

from __future__ import annotations

import pytest

from rau.errors import InputError
from rau.train.dataset import read_card
from rau.train.model import check_family
from rau.vlm.families import QWEN2_5_VL


def test_a_data_folder_that_does_not_exist_is_named_so(tmp_path):
    """Before: "nowhere is not a pairs dataset (no card.json)", naming neither the option nor the missing folder."""
    with pytest.raises(InputError) as error:
        read_card(tmp_path / "nowhere")
    assert str(error.value).startswith(f"--data {tmp_path / 'nowhere'}: no such folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"^--data .*empty is not a pairs dataset \(no card.json\)"):
        read_card(tmp_path / "empty")


def test_pairs_for_another_family_name_it_and_its_size_limits():
    """Before: the refusal printed raw ModelFamily(name=..., factor=..., ...) reprs."""
    other = QWEN2_5_VL.with_pixel_limits(4 * 28 * 28, 64 * 28 * 28)
    with pytest.raises(InputError) as error:
        check_family(other, QWEN2_5_VL)
    said = str(error.value)
    assert "ModelFamily(" not in said
    assert f"qwen2.5-vl (image sides multiples of 28, {4 * 28 * 28} to {64 * 28 * 28} pixels" in said
    assert f"{QWEN2_5_VL.min_pixels} to {QWEN2_5_VL.max_pixels} pixels" in said
