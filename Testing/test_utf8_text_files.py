"""Text files are read and written as UTF-8 whatever the system's locale (Windows' cp1252, ``LC_ALL=C``'s ASCII)."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO, script_environment

from rau.evaluation.manifest import read_manifest

C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
"""A locale whose text encoding is ASCII, as ``open`` uses without ``encoding=``: another than UTF-8, as Windows' cp1252."""

WRITE_MANIFEST = """
import sys
from rau.evaluation.manifest import write_manifest
write_manifest(sys.argv[1], [{"reference_image": "M\\u00fcller/ref.png", "reference_labels": "\\u60a3\\u8005/ref_labels.png",
                              "target_image": "t.png", "target_labels": "t_labels.png"}])
"""
SOURCES = ["RAUSlicer/Logic", "RAUSlicer/RAUSlicerLib", "RAUSlicer/RAUSlicer.py", "benchmarks", "protocols"]


def test_a_manifest_with_names_the_locale_cannot_encode_is_written_as_utf8(tmp_path):
    """Before: written in the locale's encoding (``UnicodeEncodeError`` here, a half-written file; on Windows cp1252,
    which :func:`read_manifest` refuses as not UTF-8, or the same error for a Chinese name)."""
    manifest = tmp_path / "cases.csv"
    for name in ("Müller/ref.png", "患者/ref_labels.png", "t.png", "t_labels.png"):  # reading it checks that they are there
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name, encoding="utf-8")  # no two the same
    written = subprocess.run([sys.executable, "-c", WRITE_MANIFEST, str(manifest)], capture_output=True, text=True,
                             env={**script_environment(), **C_LOCALE})
    assert written.returncode == 0, written.stderr
    assert "Müller/ref.png,患者/ref_labels.png" in manifest.read_text(encoding="utf-8")
    (case,) = read_manifest(manifest, truth=False)
    assert [case.references[0].image.name, case.references[0].labels.parent.name] == ["ref.png", "患者"]


def _text_file_calls(tree: ast.AST):
    """The calls in ``tree`` that open a file as text (``open(...)`` without a ``b`` mode, ``PATH.open(...)``,
    ``.read_text()``, ``.write_text(...)``) and give no ``encoding=``: the locale's encoding then."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or any(keyword.arg in ("encoding", None) for keyword in node.keywords):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr in ("read_text", "write_text"):
            yield node
        elif (isinstance(function, ast.Name) and function.id == "open") or (
                isinstance(function, ast.Attribute) and function.attr == "open" and isinstance(function.value, ast.BinOp)):
            given = [*node.args[1 if isinstance(function, ast.Name) else 0:][:1], *(k.value for k in node.keywords if k.arg == "mode")]
            mode = given[0].value if given and isinstance(given[0], ast.Constant) else "r"
            if "b" not in mode:
                yield node


def test_every_text_file_is_opened_with_an_encoding():
    """Before: a manifest, benchmark tables and protocol files were written and read in the locale's encoding."""
    files = [path for source in SOURCES for path in sorted((REPO / source).rglob("*.py") if (REPO / source).is_dir() else [REPO / source])]
    assert len(files) > 100
    found = [f"{path.relative_to(REPO)}:{call.lineno}" for path in files
             for call in _text_file_calls(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []
