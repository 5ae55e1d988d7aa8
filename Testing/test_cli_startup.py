"""The ``rau`` command's start: its help and a refused argument load no engine machinery (each ``rau`` process, and
each worker of ``rau evaluate --jobs`` and ``rau batch``, used to spend about a second importing SciPy and the rest)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ENGINE_MACHINERY = {"scipy", "SimpleITK", "PIL", "skimage", "torch", "tqdm", "fastapi"}

HELP_AND_A_REFUSED_ARGUMENT = textwrap.dedent("""
    import contextlib, io, sys
    from rau.cli import parse_arguments
    for argv in (["--help"], ["segment", "--help"], ["train", "grpo", "--help"], ["segment", "--target"]):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
            parse_arguments(argv)
    print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
""")


def test_the_help_and_a_refused_argument_load_no_engine_machinery():
    logic = str(Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic")
    run = subprocess.run([sys.executable, "-c", HELP_AND_A_REFUSED_ARGUMENT], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": logic})
    loaded = set(run.stdout.split())
    assert "rau" in loaded and not loaded & ENGINE_MACHINERY, loaded & ENGINE_MACHINERY
