"""Engine availability as the panel shows it: found without importing torch or transformers."""

from __future__ import annotations

import importlib.metadata
import re
import importlib.util
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[1] / "RAUSlicer"
sys.path.insert(0, str(MODULE))

from RAUSlicerLib import dependencies  # noqa: E402
from rau.engines import ENGINES  # noqa: E402
from rau.extras import OPTIONAL_MODULES  # noqa: E402


def test_the_panel_offers_every_registered_engine_with_its_label():
    choices = dependencies.engine_choices()
    assert [name for name, _label, _modules in choices] == list(ENGINES)
    labels = {name: label for name, label, _modules in choices}
    assert labels["rau"] == "RAU (VLM boxes + SAM2)" and labels["registration"] == "Registration"


def test_without_torch_only_registration_is_offered(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    reasons = dependencies.engine_availability(dependencies.engine_choices())
    assert reasons["registration"] == ""
    for name in ("rau", "registration+sam2", "sam2-memory", "vlm-box"):
        assert "needs torch" in reasons[name] and "Install dependencies" in reasons[name]


def test_listing_the_engines_imports_no_model_package():
    code = ("import sys; sys.path[:0] = [%r, %r]; from RAUSlicerLib import dependencies; dependencies.engine_choices(); "
            "print(sorted({'torch', 'transformers'} & set(sys.modules)))" % (str(MODULE), str(MODULE / "Logic")))
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed here")
def test_with_everything_installed_all_engines_are_offered():
    assert not any(dependencies.engine_availability(dependencies.engine_choices()).values())


def test_with_a_server_engines_need_only_the_file_libraries_here(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name in ("torch", "slicerio") else real(name))
    local = dependencies.engine_availability(dependencies.engine_choices())
    remote = dependencies.engine_availability(dependencies.engine_choices(), server=True)
    assert "torch" in local["rau"]
    assert all("needs slicerio" in reason and "torch" not in reason for reason in remote.values())  # read and write the files here


def test_the_install_question_names_pytorch_only_when_it_installs_it():
    local, remote = dependencies.install_question(torch=True), dependencies.install_question(torch=False)
    assert local.startswith("RAUSlicer will install PyTorch through the PyTorch extension") and "PyTorch" not in remote
    assert all(line in remote for line in dependencies.requirement_lines())


def test_without_slicer_packaging_pip_is_held_to_slicer_s_own_packages(monkeypatch):
    """Before: Slicer 5.10 (no slicer.packaging) ran a plain pip install of the requirements, free to replace
    Slicer's numpy, SimpleITK or requests though the install question says they are kept."""
    calls = []

    def pip_install(args):  # slicer.util.pip_install: reads the constraints file while it exists
        constraints = args[args.index("-c") + 1] if "-c" in args else None
        calls.append((args, Path(constraints).read_text(encoding="utf-8").split() if constraints else None))

    monkeypatch.setitem(sys.modules, "slicer", types.SimpleNamespace(util=types.SimpleNamespace(pip_install=pip_install)))
    dependencies.install_dependencies(torch=False)
    [(args, pins)] = calls
    assert args[:2] == ["-r", str(dependencies.REQUIREMENTS)]
    installed = {name: importlib.metadata.version(name) for name in ("numpy", "requests")}
    assert pins is not None and {f"{name}=={version}" for name, version in installed.items()} <= set(pins)
    assert all(pin.split("==")[0] in dependencies.SLICER_OWNED for pin in pins)


def consent_module(monkeypatch, asked):
    """``RAUSlicerLib.consent`` over stand-ins of qt and slicer: licence accepted, every question answered No and
    recorded in ``asked``."""
    class MessageBox:
        Yes, No = 1, 2

        def __init__(self, _parent):
            pass

        def setText(self, text):
            asked.append(text)

        def exec_(self):
            return self.No

        setWindowTitle = setStandardButtons = setDefaultButton = setCheckBox = lambda self, *_: None

    settings = types.SimpleNamespace(value=lambda key, default: key.endswith("licenceAccepted"), setValue=lambda *_: None)
    qt = types.SimpleNamespace(QSettings=lambda: settings, QMessageBox=MessageBox, QCheckBox=lambda _text: None)
    util = types.SimpleNamespace(toBool=bool, mainWindow=lambda: None, confirmOkCancelDisplay=lambda *_a, **_k: True)
    monkeypatch.setitem(sys.modules, "qt", qt)
    monkeypatch.setitem(sys.modules, "slicer", types.SimpleNamespace(util=util))
    spec = importlib.util.spec_from_file_location("consent_under_test", MODULE / "RAUSlicerLib" / "consent.py")
    module = importlib.util.module_from_spec(spec)  # not in sys.modules: later imports get the real one
    spec.loader.exec_module(module)
    return module


def test_images_are_said_to_go_to_the_vlm_server_only_for_engines_that_ask_a_vlm(monkeypatch):
    """Before: with a VLM server entered, sam2-memory, registration+sam2 and vessels+sam2 asked to send the images
    to it, though they never contact it."""
    from rau.engines import engine_class
    from rau.options import EngineOptions

    asked = []
    consent = consent_module(monkeypatch, asked)
    options = EngineOptions(vlm_server="http://vlm.example:8000")
    for name in ("sam2-memory", "registration+sam2", "vessels+sam2", "registration"):
        assert consent.confirmModelUse(options, "", engine_class(name)) and not asked, name
    for name in ("rau", "vlm-box"):
        assert not consent.confirmModelUse(options, "", engine_class(name))
        assert "http://vlm.example:8000" in asked.pop()
    assert not consent.confirmModelUse(options, "http://engines.example:8765", engine_class("sam2-memory"))
    assert "http://engines.example:8765" in asked.pop()  # an engine server gets the images whatever the engine


def availability_without(package: str) -> subprocess.CompletedProcess:
    """The panel's engine check (``engine_availability(engine_choices())``, as ``_fillEngineCombo`` runs it) in a new
    Python where ``package`` cannot be imported, as where it is not installed (None in sys.modules: import and
    find_spec both answer that it is absent)."""
    code = ("import sys; sys.modules[%r] = None; sys.path[:0] = [%r, %r]\n"
            "from RAUSlicerLib.dependencies import engine_availability, engine_choices\n"
            "for name, reason in engine_availability(engine_choices()).items(): print(name, '|', reason)"
            % (package, str(MODULE), str(MODULE / "Logic")))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("package", ["scipy", "PIL", "tqdm"])
def test_a_missing_core_package_is_said_to_need_installing(package):
    """Before: without scipy or Pillow, ``engine_choices`` raised ModuleNotFoundError (importing the engine modules),
    so the panel's set-up stopped before it connected "Install dependencies"; without tqdm every engine was offered."""
    done = availability_without(package)
    assert done.returncode == 0, done.stderr
    reasons = dict(line.split(" | ", 1) for line in done.stdout.splitlines())
    assert set(reasons) == set(ENGINES)
    for name, reason in reasons.items():
        assert reason.startswith("needs ") and package in reason and reason.endswith("use 'Install dependencies'"), name
        assert reason.count(package) == 1, reason  # before: "needs scipy, scipy" for an engine whose module needs it


def test_requirements_are_matched_to_rau_s_extras_by_their_normalised_names(tmp_path, monkeypatch):
    """Package names are compared as pip compares them (PEP 503): ``Huggingface.Hub`` is the extra's huggingface_hub."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("SciPy>=1.10\nHuggingface.Hub>=1.0\nscikit_image>=0.26\n", encoding="utf-8")
    lines = dependencies.requirement_lines(requirements)
    monkeypatch.setattr(dependencies, "requirement_lines", lambda: lines)
    assert dependencies.core_modules() == ("scipy", "skimage")


def test_the_panel_checks_every_core_package_that_it_installs():
    """The modules checked on this computer are those of Resources/requirements.txt that no extra of rau brings."""
    core = set(dependencies.core_modules())
    assert {"slicerio", "nrrd", "scipy", "PIL", "tqdm", "skimage", "nibabel"} == core


def requirement_bounds(lines) -> dict[str, str]:
    """Package (normalised name) -> its lower bound (``>=1.10``, ``==5.24.0``) in requirement specifiers."""
    bounds = {}
    for line in lines:
        name, specifiers = re.match(r"([A-Za-z0-9._-]+)\s*(.*)", line).groups()
        lower = re.search(r"(>=|==)\s*([^,;\s]+)", specifiers)
        bounds[re.sub(r"[-_.]+", "-", name).lower()] = lower.group(2) if lower else ""
    return bounds


def test_requirements_txt_agrees_with_pyproject():
    """The panel installs Resources/requirements.txt, pip installs pyproject.toml: the same packages, from the same
    oldest version, but for those Slicer ships itself."""
    project = tomllib.loads((MODULE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = requirement_bounds(project["dependencies"])
    extras = requirement_bounds(line for lines in project["optional-dependencies"].values() for line in lines)
    panel = requirement_bounds(dependencies.requirement_lines())
    slicer_owned = {name.lower() for name in dependencies.SLICER_OWNED}
    brought = {re.sub(r"[-_.]+", "-", package).lower() for package, _extra in OPTIONAL_MODULES.values()}  # by an extra's package
    assert {name: bound for name, bound in wanted.items() if name not in slicer_owned} == {
        name: bound for name, bound in panel.items() if name in wanted}
    for name, bound in panel.items():
        if name not in wanted:  # a model package: the panel's pin must be one pyproject's extra allows
            assert name in extras or name in brought, f"requirements.txt installs {name}, which pyproject.toml does not list"
            assert bound.startswith(extras.get(name, "")), (name, bound, extras[name])
