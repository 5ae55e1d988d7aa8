"""A benchmark script's ``main`` run in the test's process, for a run it refuses before any work: no process start
(about a second each, most of these tests' time); the scripts' own runs, as users start them, are other tests'."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from conftest import REPO


def refused(monkeypatch, capsys, script: str, *arguments) -> subprocess.CompletedProcess:
    """``benchmarks/<script>.py`` with ``arguments``, from the repository folder: its exit status (it must end by
    ``SystemExit``; any other exception, a traceback, fails the test) and what it printed."""
    main = importlib.import_module(script).main
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *map(str, arguments)])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main()
    monkeypatch.undo()
    said = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, stop.value.code, said.out, said.err)
