"""Which engines can run here, and the explicit "Install dependencies" action.

Checks use ``importlib.util.find_spec`` so nothing heavy (torch, transformers) is imported
to find out; the packages checked are those of ``Resources/requirements.txt``, the one list
the panel installs. Installing happens only when the user asks, on the main thread: torch through
Slicer's PyTorch extension, then ``Resources/requirements.txt`` without replacing the
packages Slicer ships (SimpleITK, numpy, requests, pydicom) or the PyTorch extension's torch.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tempfile
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[1] / "Resources" / "requirements.txt"
IMPORT_NAMES = {"pillow": "PIL", "pynrrd": "nrrd", "scikit-image": "skimage"}
"""The module a package of the requirements is imported as, where the two names differ (package name :func:`normalised`)."""
SLICER_OWNED = ("SimpleITK", "numpy", "requests", "pydicom", "torch", "torchvision")
TORCH_MINIMUM = "2.6"
"""The oldest torch the model engines can use: transformers (Resources/requirements.txt) disables an older one."""
TORCH_REQUIREMENT = ">=" + TORCH_MINIMUM


def missing_modules(modules) -> list[str]:
    """The modules of ``modules`` that cannot be imported here (found without importing them)."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def old_torch() -> str | None:
    """The installed torch's version when transformers would judge it older than :data:`TORCH_MINIMUM` (as it
    compares versions: a 2.6 pre-release, or a version it cannot read, is older), else None (also when none is)."""
    from packaging.version import InvalidVersion, Version  # Slicer's Python has it, as transformers needs it

    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        return version if Version(version) < Version(TORCH_MINIMUM) else None
    except InvalidVersion:
        return version


def core_modules() -> tuple[str, ...]:
    """The modules, in the order of ``Resources/requirements.txt``, of its packages that ``rau`` cannot do without
    (those no extra of ``rau.extras.OPTIONAL_MODULES`` brings): what reading and writing the files needs here."""
    from rau.extras import OPTIONAL_MODULES

    optional = {normalised(package) for package, _extra in OPTIONAL_MODULES.values()}
    packages = (normalised(re.match(r"[A-Za-z0-9._-]+", line).group()) for line in requirement_lines())
    return tuple(IMPORT_NAMES.get(package, package) for package in packages if package not in optional)


def normalised(package: str) -> str:
    """A package name as pip compares names (PEP 503): lower-case, each run of ``-``, ``_`` and ``.`` one ``-``."""
    return re.sub(r"[-_.]+", "-", package).lower()


def engine_choices() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, label, Python modules it needs) for every engine of ``rau.engines.ENGINES``, in its order.

    The engine modules leave torch and transformers unimported at file scope, so reading their ``label`` and
    ``requires`` is cheap. They do import core packages (scipy, Pillow): an engine whose module fails for one not
    installed is listed under its name, needing the core packages (its label and other needs are in that module).
    """
    import rau
    from rau.engines import ENGINES, engine_class

    core = core_modules()
    choices = []
    for name in ENGINES:
        try:
            engine = engine_class(name)
        except ModuleNotFoundError as error:
            missing = (error.name or "").partition(".")[0]
            if not missing or missing == rau.__name__:  # a module of rau itself missing is a broken copy: a bug
                raise
            choices.append((name, name, tuple(dict.fromkeys(core + (missing,)))))
            continue
        choices.append((name, engine.label or name, core + tuple(engine.requires)))
    return choices


def engine_availability(choices, server: bool = False) -> dict[str, str]:
    """Engine name -> '' when it can run, else the reason it cannot (for a disabled combo item).

    With a ``server`` the engines run there; this computer still reads and writes the files (:func:`core_modules`)."""
    reasons = {}
    old = old_torch()
    core = core_modules()
    for name, _label, modules in choices:
        needed = core if server else modules
        missing = missing_modules(needed)
        if old and "torch" in needed and "torch" not in missing:
            missing.append(f"torch{TORCH_REQUIREMENT}, found {old}")
        reasons[name] = f"needs {', '.join(missing)}: use 'Install dependencies'" if missing else ""
    return reasons


def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    """The requirement specifiers of a requirements file (comments and blanks dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def install_question(torch: bool = True) -> str:
    """What "Install dependencies" asks before installing (PyTorch only with ``torch``)."""
    first = "PyTorch through the PyTorch extension (a download of up to a few GB), then: " if torch else ""
    return (f"RAUSlicer will install {first}" + ", ".join(requirement_lines()) + ".\nSlicer's own SimpleITK, numpy, "
            "requests and pydicom are kept. Continue?")


def install_dependencies(torch: bool = True) -> str:
    """Install torch (PyTorch extension; not when ``torch`` is False: engines on a server) and the requirements;
    return a summary. Main thread only, after the user confirmed.

    Raises ``RuntimeError`` with a user-facing message when a step cannot be done.
    """
    import slicer

    if torch:
        _install_torch()
    requirements = requirement_lines()
    packaging = _slicer_packaging()
    if packaging is not None:  # the user confirmed in the panel: no second dialog
        packaging.pip_ensure(packaging.load_requirements(str(REQUIREMENTS)), skip_packages=list(SLICER_OWNED),
                             prompt_install=False, requester="RAUSlicer")
    else:  # Slicer 5.10 (slicer.packaging came in 5.12): pip, held to Slicer's own packages by a constraints file
        _pip_install_keeping(slicer.util.pip_install)
    return f"Installed {'PyTorch and: ' if torch else ''}" + ", ".join(requirements)


def slicer_pins() -> list[str]:
    """``name==version`` of each installed package of :data:`SLICER_OWNED`: pip constraints that make pip refuse,
    rather than replace, a requirement that needs another version of one."""
    pins = []
    for name in SLICER_OWNED:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def _pip_install_keeping(pip_install) -> None:
    """``pip_install`` (``slicer.util.pip_install``) the requirements under the constraints of :func:`slicer_pins`."""
    with tempfile.TemporaryDirectory(prefix="rauslicer-pip-") as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in slicer_pins()), encoding="utf-8")
        pip_install(["-r", str(REQUIREMENTS), "-c", str(constraints)])


def _install_torch() -> None:
    try:
        import PyTorchUtils
    except ImportError as error:
        raise RuntimeError(
            "RAUSlicer gets PyTorch through the PyTorch extension. Install 'PyTorch' from the "
            "Extensions Manager, restart Slicer, then press 'Install dependencies' again."
        ) from error
    torch_logic = PyTorchUtils.PyTorchUtilsLogic()
    if not torch_logic.torchInstalled() or old_torch():  # an older torch is upgraded: transformers would disable it
        if torch_logic.installTorch(askConfirmation=True, torchVersionRequirement=TORCH_REQUIREMENT) is None:
            raise RuntimeError("PyTorch was not installed (cancelled or failed); see the Python console.")


def _slicer_packaging():
    """Slicer's package manager module (``slicer.packaging`` or ``slicer.pydeps``), or None."""
    for name in ("slicer.packaging", "slicer.pydeps"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "pip_ensure"):
            return module
    return None
