"""Engine availability as the panel shows it: found without importing torch or transformers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "RAUSlicer"))

from RAUSlicerLib import dependencies  # noqa: E402
from rau.engines import ENGINES  # noqa: E402


def test_every_panel_engine_is_registered_in_rau():
    assert {name for name, _label, _modules in dependencies.ENGINE_CHOICES} <= set(ENGINES)


def test_without_torch_only_registration_is_offered(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    reasons = dependencies.engine_availability(ENGINES)
    assert reasons["registration"] == ""
    for name in ("rau", "registration+sam2", "sam2-memory"):
        assert "needs torch" in reasons[name] and "Install dependencies" in reasons[name]


def test_engines_missing_from_rau_say_so():
    assert dependencies.engine_availability({"registration": "x"})["rau"] == "not part of this RAUSlicer version"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed here")
def test_with_everything_installed_all_engines_are_offered():
    assert not any(dependencies.engine_availability(ENGINES).values())
