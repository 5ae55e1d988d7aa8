"""The benchmarks' --help shows their docstrings as written: a ``*`` list stays one item a line."""

from __future__ import annotations

import ast

from conftest import REPO


def test_a_docstring_with_a_list_is_shown_as_written():
    """Before: bench_registration, bench_correction and bench_sam2_gpu ran their lists into one paragraph."""
    run_together = []
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        listed = any(line.startswith("* ") for line in (ast.get_docstring(ast.parse(source)) or "").splitlines())
        if listed and "formatter_class=argparse.RawDescriptionHelpFormatter" not in source:
            run_together.append(script.name)
    assert run_together == []
