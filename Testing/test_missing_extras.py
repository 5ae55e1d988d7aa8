"""A package of an extra not installed (``pip install rauslicer`` without ``[models]``, ``[server]`` ...): bad input
naming the command, the package and the extra to install, before anything is printed or written; one table
(:data:`rau.extras.OPTIONAL_MODULES`) that covers every extra of pyproject.toml."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO, script_environment
from rau.extras import OPTIONAL_MODULES, missing_extra

HC18 = REPO / "RAUSlicer" / "Logic" / "rau" / "sample_data" / "hc18"
DEV_ONLY = {"test"}  # the extra that runs the tests: rau never imports it


def rau_without(module: str, arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``rau ARGUMENTS`` run in ``cwd`` by a new process where importing ``module`` fails as where its extra is not
    installed (a module of that name first on the path raises ModuleNotFoundError)."""
    blocked = cwd.parent / f"{cwd.name}-without-{module}"
    blocked.mkdir()
    (blocked / f"{module}.py").write_text(f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n")
    environment = script_environment()
    environment["PYTHONPATH"] = os.pathsep.join([str(blocked), environment["PYTHONPATH"]])
    return subprocess.run([sys.executable, "-m", "rau", *arguments], capture_output=True, text=True, cwd=cwd, env=environment, timeout=300)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_of_every_extra_has_its_extra_in_the_table():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    table = {(normalized(package), extra) for package, extra in OPTIONAL_MODULES.values()}
    for extra, requirements in extras.items():
        if extra not in DEV_ONLY:
            for requirement in requirements:
                assert (normalized(re.match(r"[A-Za-z0-9._-]+", requirement).group()), extra) in table, requirement


def test_a_missing_core_package_stays_a_bug():
    assert missing_extra(ModuleNotFoundError("No module named 'scipy'", name="scipy")) is None
    assert str(missing_extra(ModuleNotFoundError("no", name="transformers.models"))) == 'transformers is not installed; pip install "rauslicer[models]"'


def test_segment_with_sam2_without_the_models_extra_is_refused_naming_it(tmp_path):
    """Before: exit 70, "internal error (ModuleNotFoundError: No module named 'huggingface_hub')"."""
    done = rau_without("huggingface_hub", ["segment", "--engine", "registration+sam2", "--reference", str(HC18 / "000_HC.png"),
                                           "--reference-labels", str(HC18 / "000_HC_mask.png"), "--target", str(HC18 / "041_HC.png"),
                                           "--out", "out/x.nii.gz"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == 'rau segment: error: huggingface_hub is not installed; pip install "rauslicer[models]"\n'
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


def test_device_without_torch_names_the_extra(tmp_path):
    done = rau_without("torch", ["segment", "--engine", "registration+sam2", "--device", "cuda", "--reference", str(HC18 / "000_HC.png"),
                                 "--reference-labels", str(HC18 / "000_HC_mask.png"), "--target", str(HC18 / "041_HC.png"),
                                 "--out", "out/x.nii.gz"], tmp_path)
    assert done.returncode == 2 and list(tmp_path.iterdir()) == []
    assert done.stderr == 'rau segment: error: --device cuda: torch is not installed; pip install "rauslicer[models]"\n'


def test_serve_without_the_server_extra_is_refused_before_it_says_its_address(tmp_path):
    """Before: "rau serve: http://127.0.0.1:8765 ..." printed as if up, then exit 70 (No module named 'uvicorn')."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = rau_without("uvicorn", ["serve", "--port", str(port), "--work-dir", "work"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == 'rau serve: error: uvicorn is not installed; pip install "rauslicer[server]"\n'
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


def test_train_without_the_models_extra_is_refused_naming_it(tmp_path):
    done = rau_without("huggingface_hub", ["train", "sft", "--model", "Qwen/Qwen2.5-VL-3B-Instruct", "--data", "pairs", "--out", "adapter"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == 'rau train sft: error: huggingface_hub is not installed; pip install "rauslicer[models]"\n'
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


CORE_MODULES = {"numpy", "scipy", "SimpleITK", "slicerio", "nrrd", "PIL", "tqdm", "skimage", "nibabel", "pydicom"}
"""The modules of pyproject.toml's dependencies (pynrrd: nrrd, Pillow: PIL, scikit-image: skimage)."""


def test_every_package_rau_imports_is_core_or_in_the_table():
    """A module of an extra missing from the table would be a crash (exit 70) again where that extra is not installed."""
    imported = set()
    for path in (REPO / "RAUSlicer" / "Logic" / "rau").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.partition(".")[0])
    others = imported - set(sys.stdlib_module_names) - CORE_MODULES - {"rau", "__future__"}
    assert others and others <= set(OPTIONAL_MODULES), others - set(OPTIONAL_MODULES)
