"""An installed torch older than transformers uses (2.6) is as good as none: the model engines say so, and
"Install dependencies" upgrades it. The installed version is read as Python reads it: from a distribution's metadata
on the path (here one older than the real torch, found first)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[1] / "RAUSlicer"
sys.path.insert(0, str(MODULE))

from RAUSlicerLib import dependencies  # noqa: E402

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed here")


def installed_torch(monkeypatch, tmp_path, version):
    """Make ``version`` the torch version found first on the path (its metadata, as pip writes it)."""
    info = tmp_path / f"torch-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_an_old_torch_leaves_the_model_engines_unavailable_saying_which_it_found(monkeypatch, tmp_path):
    """Before: torch was found, so every engine was offered; transformers then disabled PyTorch (< 2.6) and a run failed
    with "requires the PyTorch library" though torch was installed."""
    installed_torch(monkeypatch, tmp_path, "2.5.1+cu121")
    reasons = dependencies.engine_availability(dependencies.engine_choices())
    assert reasons["registration"] == ""
    for name in ("rau", "registration+sam2", "sam2-memory", "vlm-box"):
        assert reasons[name] == "needs torch>=2.6, found 2.5.1+cu121: use 'Install dependencies'"
    assert not any(dependencies.engine_availability(dependencies.engine_choices(), server=True).values())


@pytest.mark.parametrize("version, old", [("2.5.1+cu121", True), ("1.13.0", True), ("2.6.0", False), ("2.10.0", False), ("3.0", False),
                                          ("2.6.0+cu124", False), ("2.6.0rc1", True), ("2.6.0a0+git1234", True), ("garbage", True)])
def test_the_torch_version_is_judged_as_transformers_judges_it(monkeypatch, tmp_path, version, old):
    """Before, a 2.6 pre-release (an NVIDIA container's 2.6.0a0+git...) or an unreadable version passed, which
    transformers disables."""
    installed_torch(monkeypatch, tmp_path, version)
    assert dependencies.old_torch() == (version if old else None)
    assert dependencies.TORCH_REQUIREMENT == ">=2.6"
