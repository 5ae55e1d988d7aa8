"""Static checks of the Slicer module that need no Slicer: compile, imports, .ui names, CMake lists, metadata."""

from __future__ import annotations

import ast
import json
import py_compile
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "RAUSlicer"
MODULE_FILE = MODULE / "RAUSlicer.py"
SHELL_FILES = [MODULE_FILE, *sorted((MODULE / "RAUSlicerLib").glob("*.py"))]
UI_FILE = MODULE / "Resources" / "UI" / "RAUSlicer.ui"
RAU = MODULE / "Logic" / "rau"
SLICER_SIDE = {"slicer", "qt", "ctk", "vtk", "RAUSlicerLib"}
HEAVY = {"torch", "torchvision", "transformers", "SimpleITK", "numpy", "scipy", "PIL", "rau", "slicerio", "nrrd"}


def file_scope_imports(path: Path) -> set[str]:
    """Top-level module names imported outside any function or class body."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        for inner in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(inner, ast.Import):
                names |= {alias.name.split(".")[0] for alias in inner.names}
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0:
                names.add(inner.module.split(".")[0])
    return names


def all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_module_files_compile(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_module_files_import_only_stdlib_and_slicer_at_file_scope(path):
    allowed = set(sys.stdlib_module_names) | SLICER_SIDE
    offenders = sorted(file_scope_imports(path) - allowed)
    assert not offenders, f"{path.name} imports {offenders} at file scope; import them inside the function that needs them"
    assert not file_scope_imports(path) & HEAVY


def test_only_the_bridge_imports_slicer():
    offenders = [
        str(path.relative_to(RAU))
        for path in sorted(RAU.rglob("*.py"))
        if "mrml" not in path.relative_to(RAU).parts and all_imports(path) & {"slicer", "qt", "ctk", "vtk"}
    ]
    assert not offenders, f"only rau/mrml may import slicer/qt/ctk/vtk; also found in: {offenders}"


def ui_widget_names() -> set[str]:
    return {w.get("name") for w in ElementTree.parse(UI_FILE).iter("widget") if w.get("name")}


def test_every_widget_the_code_uses_is_in_the_ui():
    used = {name for path in SHELL_FILES for name in re.findall(r"self\.ui\.(\w+)", path.read_text(encoding="utf-8"))}
    missing = sorted(used - ui_widget_names())
    assert used and not missing, f"the panel uses widgets missing from {UI_FILE.name}: {missing}"


def test_every_parameter_the_ui_binds_exists_in_the_parameter_node():
    tree = ast.parse(MODULE_FILE.read_text(encoding="utf-8"))
    wrapper = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "RAUSlicerParameterNode")
    fields = {n.target.id for n in wrapper.body if isinstance(n, ast.AnnAssign)}
    bound = {
        p.findtext("string")
        for p in ElementTree.parse(UI_FILE).iter("property")
        if p.get("name") == "SlicerParameterName"
    }
    assert bound and not bound - fields, f"the .ui binds unknown parameters: {sorted(bound - fields)}"


def test_each_panel_option_s_widget_is_bound_to_its_parameter_and_sets_an_engine_option():
    sys.path.insert(0, str(MODULE / "Logic"))
    sys.path.insert(0, str(MODULE))
    from RAUSlicerLib.option_names import PANEL_OPTIONS
    from rau.options import EngineOptions

    root = ElementTree.parse(UI_FILE).getroot()
    bound = {w.get("name"): p.findtext("string") for w in root.iter("widget") for p in w.iter("property")
             if p.get("name") == "SlicerParameterName"}
    fields = {panel.widget: panel.parameter for option, panel in PANEL_OPTIONS.items() if option != "device"}
    assert fields.items() <= bound.items()  # the device combo is set in code: "auto" shows an empty device
    assert PANEL_OPTIONS["vlm_adapter"].parameter == "vlmAdapter"
    assert set(PANEL_OPTIONS) <= set(EngineOptions.__dataclass_fields__)


def test_ui_connects_every_mrml_widget_to_the_scene():
    root = ElementTree.parse(UI_FILE).getroot()
    mrml = {w.get("name") for w in root.iter("widget") if w.get("class") in ("qMRMLNodeComboBox", "qSlicerMarkupsPlaceWidget")}
    connected = {c.findtext("receiver") for c in root.iter("connection") if c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    assert mrml and not mrml - connected, f"not given the scene: {sorted(mrml - connected)}"


def test_the_volume_selectors_offer_no_volume_that_is_no_image():
    """Before, diffusion-weighted and diffusion tensor volumes were offered (MRML counts them scalar volumes), then refused."""
    root = ElementTree.parse(UI_FILE).getroot()
    for name in ("referenceVolumeSelector", "targetVolumeSelector"):
        widget = next(w for w in root.iter("widget") if w.get("name") == name)
        hidden = {s.text for p in widget.iter("property") if p.get("name") == "hideChildNodeTypes" for s in p.iter("string")}
        assert {"vtkMRMLLabelMapVolumeNode", "vtkMRMLDiffusionWeightedVolumeNode", "vtkMRMLDiffusionTensorVolumeNode"} <= hidden, name


def cmake_listed(path: Path) -> set[str]:
    """Paths listed in a CMake file (tokens that look like files), with ${MODULE_NAME} expanded."""
    text = re.sub(r"#.*", "", path.read_text(encoding="utf-8")).replace("${MODULE_NAME}", "RAUSlicer")
    return {token for token in re.findall(r"[\w./+-]+\.\w+", text) if "/" in token or token.endswith(".py")}


def packaged_files() -> set[str]:
    files = {"RAUSlicer.py"}
    for folder in ("Logic/rau", "RAUSlicerLib", "Resources"):
        for path in (MODULE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(str(path.relative_to(MODULE)))
    return files


def test_module_cmake_lists_every_file_it_packages():
    listed = cmake_listed(MODULE / "CMakeLists.txt")
    missing = sorted(packaged_files() - listed)
    stale = sorted(path for path in listed if not (MODULE / path).is_file())
    assert not missing, "add to RAUSlicer/CMakeLists.txt (SCRIPTS for .py, RESOURCES otherwise):\n  " + "\n  ".join(missing)
    assert not stale, "RAUSlicer/CMakeLists.txt lists files that do not exist:\n  " + "\n  ".join(stale)
    text = (MODULE / "CMakeLists.txt").read_text(encoding="utf-8")
    assert "slicerMacroBuildScriptedModule" in text and "WITH_GENERIC_TESTS" in text


def test_extension_metadata():
    root = (REPO / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"project\(RAUSlicer\)", root)
    for key in ("EXTENSION_HOMEPAGE", "EXTENSION_DESCRIPTION", "EXTENSION_ICONURL", "EXTENSION_CONTRIBUTORS"):
        assert re.search(rf'set\({key} "[^"]+"\)', root), key
    assert 'set(EXTENSION_CATEGORY "Segmentation")' in root
    assert 'set(EXTENSION_DEPENDS "PyTorch")' in root
    assert "add_subdirectory(RAUSlicer)" in root
    entry = json.loads((REPO / "RAUSlicer.json").read_text(encoding="utf-8"))
    assert {"$schema", "category", "scm_url", "scm_revision", "build_dependencies", "build_subdirectory", "tier"} <= set(entry)
    assert entry["build_dependencies"] == ["PyTorch"] and entry["category"] == "Segmentation"
    s4ext = dict(line.split(" ", 1) for line in (REPO / "RAUSlicer.s4ext").read_text().splitlines() if line and line[0] != "#" and " " in line)
    assert s4ext["depends"] == "PyTorch" and s4ext["category"] == "Segmentation"


def test_requirements_leave_slicer_packages_alone():
    sys.path.insert(0, str(MODULE))
    try:
        from RAUSlicerLib.dependencies import SLICER_OWNED, requirement_lines
    finally:
        sys.path.remove(str(MODULE))
    lines = requirement_lines()
    names = {re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower() for line in lines}
    assert not names & {name.lower() for name in SLICER_OWNED}, "requirements.txt must not replace Slicer's or PyTorch's packages"
    unbounded = [line for line in lines if "==" not in line and "<" not in line]
    assert not unbounded, f"give every requirement a ceiling: {unbounded}"
    assert "transformers" in names and "slicerio" in names
    assert "peft" in names, "the panel's VLM adapter folder needs peft"


def test_the_shell_defaults_are_the_cores():
    """The module imports nothing of rau at file scope, so its parameter node and Logic write the core's
    default engine, flag level and device as literals; they must stay equal to rau's."""
    from rau.engines import DEFAULT_ENGINE
    from rau.mrml.results import LOW_CONFIDENCE

    tree = ast.parse(MODULE_FILE.read_text(encoding="utf-8"))
    written = {"engine": set(), "engineName": set(), "lowConfidence": set()}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and node.target.id in written:  # parameter node fields
            written[node.target.id].add(node.value.value)
        if isinstance(node, ast.FunctionDef):  # Logic method defaults
            arguments = node.args.args[len(node.args.args) - len(node.args.defaults):]
            for argument, default in zip(arguments, node.args.defaults):
                if argument.arg in written:
                    written[argument.arg].add(default.value)
    assert written["engine"] | written["engineName"] == {DEFAULT_ENGINE}
    assert written["lowConfidence"] == {LOW_CONFIDENCE}
    from rau.options import DEFAULTS
    from RAUSlicerLib.options_panel import DEFAULT_DEVICE

    assert DEFAULT_DEVICE == DEFAULTS.device  # the device combo's item for an empty device


def test_the_shell_names_no_engine_but_in_its_defaults():
    """Before, the self-test ran and checked the engine "registration" written as a literal, beside the defaults the
    test above guards. Every other file of the shell imports rau when it runs: it names an engine as rau does
    (``DEFAULT_ENGINE``), never as a literal."""
    from rau.engines import ENGINES

    for path in SHELL_FILES[1:]:
        literals = {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not literals & set(ENGINES), f"{path.name} writes an engine name: {sorted(literals & set(ENGINES))}"


SLICER_PYTHON = {"5.8": (3, 9), "5.10": (3, 12), "5.12": (3, 12)}
"""The Python each Slicer release ships (Slicer's SuperBuild/External_python.cmake at its tag)."""


def test_the_readme_s_minimum_slicer_has_the_python_rau_needs():
    """Before: "It needs Slicer 5.8 or newer", whose Python 3.9 cannot install rau (requires-python >=3.11)."""
    minimum = re.search(r"It needs Slicer (\d+\.\d+) or newer", (REPO / "README.md").read_text(encoding="utf-8")).group(1)
    needed = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8")).groups()
    assert SLICER_PYTHON[minimum] >= tuple(map(int, needed)), f"Slicer {minimum} ships Python {SLICER_PYTHON[minimum]}"


def test_the_developers_file_map_names_every_part_of_the_core():
    """Before: the map under "For developers" left out references.py (which the "From Python" example imports),
    long_scan.py, body.py, demo.py and nine more."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For developers", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"[\w./]+", section))
    core = REPO / "RAUSlicer" / "Logic" / "rau"
    parts = {path.name for path in core.glob("*.py") if path.name not in ("__init__.py", "__main__.py")}
    parts |= {f"{path.name}/" for path in core.iterdir() if (path / "__init__.py").exists()}
    missing = {part for part in parts if part not in named and not any(word.startswith(part) for word in named)}
    assert not missing, f"README's file map leaves out: {sorted(missing)}"
