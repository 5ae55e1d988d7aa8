"""Shared pytest fixtures: paths to the real data the tests read, tiny models, and the lock on Ray instances."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(REPO / "benchmarks"))  # where the shared data lies: one rule for the tests and the benchmarks

from ray_instances import ray_instances_lock  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402


def script_environment() -> dict[str, str]:
    """This process's environment with ``rau`` importable: for running the repository's scripts in a subprocess."""
    return {**os.environ, "PYTHONPATH": str(REPO / "RAUSlicer" / "Logic")}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (HC18, TotalSegmentator fixtures, Colin27); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def slicerio_data() -> Path:
    """The chest CT and 7-segment segmentation that ship inside the slicerio package."""
    import slicerio

    return Path(slicerio.__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_sam2(tmp_path_factory):
    """Folders of tiny random SAM2 models: ``random``, ``always`` (object always present), ``never``."""
    from tiny_sam2 import save_tiny_sam2

    root = tmp_path_factory.mktemp("sam2")
    return {name: save_tiny_sam2(root / name, None if name == "random" else name) for name in ("random", "always", "never")}


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory) -> Path:
    """A session-wide tiny Qwen2.5-VL folder (:func:`tiny_qwen.build_tiny_qwen`)."""
    pytest.importorskip("torchvision")
    from tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny_qwen"))


@pytest.fixture(scope="session")
def pairs(shared_data, tiny_qwen, tmp_path_factory) -> Path:
    """The fine-tuning tests' pairs folder (:func:`train_fixtures.build_pairs`), built once per session: read-only."""
    from train_fixtures import build_pairs

    return build_pairs(shared_data, tiny_qwen, tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="session")
def sft_adapter(pairs, tiny_qwen, tmp_path_factory) -> Path:
    """The fine-tuning tests' 4-step SFT run (:func:`train_fixtures.train_sft_adapter`), trained once per session: a
    test that changes it works on a copy."""
    from train_fixtures import train_sft_adapter

    return train_sft_adapter(tiny_qwen, pairs, tmp_path_factory.mktemp("sft") / "adapter")


@pytest.fixture
def starts_ray():
    """For a test that starts a Ray instance (here or in a process of its own): it waits while a test that needs none runs."""
    with ray_instances_lock(alone=False):
        yield


@pytest.fixture
def no_ray_instance():
    """For a test that needs no Ray instance on this machine: no other test starts one while it runs."""
    with ray_instances_lock(alone=True):
        yield
