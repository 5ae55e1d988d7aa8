"""The benchmarks' --help shows their docstrings as written: a ``*`` list stays one item a line."""

from __future__ import annotations

import ast
import runpy
import sys

import pytest

from conftest import REPO


def listed_scripts():
    """The benchmark scripts whose docstring holds a ``*`` list, each with the first words of its items."""
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
        items = [line[:30] for line in docstring.splitlines() if line.startswith("* ")]
        if items:
            yield script, items


@pytest.mark.parametrize("script, items", list(listed_scripts()), ids=lambda value: getattr(value, "name", ""))
def test_a_docstring_with_a_list_is_shown_as_written(script, items, monkeypatch, capsys):
    """Before: bench_registration, bench_correction and bench_sam2_gpu ran their lists into one paragraph."""
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    monkeypatch.syspath_prepend(str(script.parent))
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(script), run_name="__main__")
    assert exited.value.code == 0
    shown = capsys.readouterr().out.splitlines()
    assert all(any(line.startswith(item) for line in shown) for item in items)
