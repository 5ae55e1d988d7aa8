"""Widget wiring that needs no Qt to check: what the panel refreshes and disables, read from the module's source, and
the combo selection over a stand-in combo."""

from __future__ import annotations

import ast
from pathlib import Path

from slicer_module import MODULE_FILE, load_rauslicer

JOB_PANEL = MODULE_FILE.parent / "RAUSlicerLib" / "job_panel.py"


def method(path: Path, name: str) -> ast.FunctionDef:
    return next(node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.FunctionDef) and node.name == name)


def assigned(function: ast.FunctionDef, nested=True) -> set[str]:
    """``ui.WIDGET.PROPERTY`` assigned in ``function`` (and the functions it defines, unless not ``nested``)."""
    body = ast.walk(function) if nested else (node for statement in function.body if not isinstance(statement, ast.FunctionDef)
                                              for node in ast.walk(statement))
    return {f"{target.value.attr}.{target.attr}" for node in body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute)}


def calls(function: ast.FunctionDef) -> set[str]:
    return {node.func.attr for node in ast.walk(function) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}


def test_install_dependencies_is_disabled_while_a_job_runs():
    """Before: it stayed enabled, so torch/transformers could be changed under a SAM2 run's worker."""
    assert "installDependenciesButton.enabled" in assigned(method(MODULE_FILE, "_updateButtons"))


def test_the_place_widgets_follow_prompt_nodes_changed_elsewhere():
    """Before: _showPromptNodes ran only when the parameter node was set or Update made the lists."""
    assert "_showPromptNodes" in calls(method(MODULE_FILE, "_onParameterNodeModified"))


def test_each_job_starts_with_a_plain_progress_format():
    """Before: the format was set per step and never reset, so a job showed the last job's step until its first."""
    assert "progressBar.format" in assigned(method(JOB_PANEL, "_startJob"), nested=False)


class Combo:
    def __init__(self, items, current):
        self.items, self.currentIndex = items, current

    def findData(self, value):
        return self.items.index(value) if value in self.items else -1

    findText = findData


def test_a_parameter_nodes_engine_the_combo_lacks_selects_none():
    """Before: the combo kept showing the previous engine while Run used the parameter node's."""
    combo = Combo(["registration", "sam2-memory"], 1)
    load_rauslicer().RAUSlicerWidget._selectComboData(combo, "an-engine-of-another-version")
    assert combo.currentIndex == -1
