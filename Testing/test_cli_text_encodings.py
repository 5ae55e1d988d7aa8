"""Names a console or a locale cannot encode: a finished run never fails for want of showing a name (Windows' cp1252
when output is redirected, ASCII under ``LC_ALL=C``), and a UTF-8 name this system's locale cannot hold is refused as
such, not as text in another encoding nor as a missing file. The ``rau`` command runs in a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import script_environment
from test_cli_evaluate import blobs  # noqa: F401  (fixture)

from rau.cli import main

CJK = ["右冠状动脉", "脾脏"]
HEADER = "reference_image,reference_labels,target_image,target_labels,label_table\n"
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


@pytest.fixture
def named_pair(blobs, tmp_path):  # noqa: F811
    """The blobs' reference and target pictures with their masks, their structures named in Chinese by ``names.csv``."""
    for name in ("r1.png", "r1_mask.png", "t.png", "t_mask.png"):
        shutil.copy(blobs / name, tmp_path / name)
    (tmp_path / "names.csv").write_text(f"value,name\n1,{CJK[0]}\n2,{CJK[1]}\n", encoding="utf-8")
    (tmp_path / "cases.csv").write_text(HEADER + "r1.png,r1_mask.png,t.png,t_mask.png,names.csv\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    return tmp_path


def rau(folder, *args, **environment) -> subprocess.CompletedProcess:
    """``python -m rau.cli ARGS`` in ``folder`` with ``environment`` added; its output as bytes."""
    return subprocess.run([sys.executable, "-m", "rau.cli", *args], cwd=folder, capture_output=True, timeout=300,
                          env={**script_environment(), **environment})


def test_evaluate_with_names_the_console_cannot_encode_finishes_and_writes_its_results(named_pair):
    """Before: ``rau evaluate: internal error (UnicodeEncodeError: 'charmap' codec can't encode ...)``, exit 70, no JSON."""
    done = rau(named_pair, "evaluate", "cases.csv", "--no-deformable", "--json", "out/scores.json", PYTHONIOENCODING="cp1252")
    assert done.returncode == 0, done.stderr.decode("cp1252")
    scores = json.loads((named_pair / "out/scores.json").read_text(encoding="utf-8"))
    assert [s["structure"] for s in scores["cases"][0]["structures"]] == CJK
    with open(named_pair / "out/scores.csv", newline="", encoding="utf-8") as handle:
        assert {row["structure"] for row in csv.DictReader(handle)} >= set(CJK)
    assert "\\u53f3\\u51a0" in done.stdout.decode("cp1252")  # shown as escapes, not lost


def test_segment_with_names_the_console_cannot_encode_exits_0(named_pair):
    """Before: every output written, then exit 70 when the result's line was printed."""
    done = rau(named_pair, "segment", "--reference", "r1.png", "--reference-labels", "r1_mask.png", "--label-table", "names.csv",
               "--target", "t.png", "--structures", CJK[0], "--no-deformable", "--out", "out/t.nii.gz", PYTHONIOENCODING="cp1252")
    assert done.returncode == 0, done.stderr.decode("cp1252")
    result = json.loads((named_pair / "out/t.result.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in result["structures"]] == [CJK[0]] and result["structures"][0]["found"]
    assert CJK[0] in (named_pair / "out/t.labels.csv").read_text(encoding="utf-8")


class FullDiskConsole(io.StringIO):
    """Standard output redirected to a file on a full disk: every write fails."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_evaluate_writes_its_results_before_printing_the_table(named_pair, monkeypatch, capsys):
    """A table that cannot be printed loses no computed result. Before: the table first, then the JSON (none)."""
    monkeypatch.chdir(named_pair)
    monkeypatch.setattr(sys, "stdout", FullDiskConsole())
    assert main(["evaluate", "cases.csv", "--no-deformable", "--json", "out/scores.json"]) == 70
    assert "No space left on device" in capsys.readouterr().err
    assert [s["structure"] for s in json.loads((named_pair / "out/scores.json").read_text(encoding="utf-8"))["cases"][0]["structures"]] == CJK
    assert (named_pair / "out/scores.csv").is_file()


def c_locale_encoding() -> str:
    return subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"], capture_output=True,
                          text=True, env={**script_environment(), **C_LOCALE}).stdout.strip()


needs_ascii_c_locale = pytest.mark.skipif(c_locale_encoding() != "ascii", reason="the C locale of this system is not ASCII")


@needs_ascii_c_locale
@pytest.mark.parametrize("given", [["--structures", "Vésicule biliaire"], ["--target", "Müller.png"]])
def test_a_utf8_name_the_locale_cannot_hold_is_refused_saying_how_to_run(named_pair, given):
    """Before: ``V\\xe9sicule biliaire: this name is not UTF-8 text (written in another encoding); rename the file``."""
    shutil.copy(named_pair / "t.png", named_pair / "Müller.png")
    arguments = {"--target": "t.png", **dict([given])}
    done = rau(named_pair, "segment", "--reference", "r1.png", "--reference-labels", "r1_mask.png", "--label-table", "names.csv",
               *[word for pair in arguments.items() for word in pair], "--out", "out/t.nii.gz", **C_LOCALE)
    shown = given[1].encode("ascii", "backslashreplace").decode()
    assert done.returncode == 2
    assert done.stderr.decode() == (f"rau: error: {shown}: this system's locale (ascii) cannot hold this name; run rau with "
                                    "PYTHONUTF8=1 set, or under a UTF-8 locale (e.g. LANG=C.UTF-8)\n")
    assert not any((named_pair / "out").iterdir())


@needs_ascii_c_locale
def test_a_manifest_s_file_the_locale_cannot_name_is_not_said_to_be_missing(named_pair):
    """Before: ``cases.csv line 2: target_image M\\xfcller.png does not exist`` for a file that is there."""
    shutil.copy(named_pair / "t.png", named_pair / "Müller.png")
    (named_pair / "cases.csv").write_text(HEADER + "r1.png,r1_mask.png,Müller.png,t_mask.png,names.csv\n", encoding="utf-8")
    done = rau(named_pair, "evaluate", "cases.csv", "--json", "out/scores.json", **C_LOCALE)
    assert done.returncode == 2
    assert done.stderr.decode() == ("rau evaluate: error: cases.csv line 2: target_image M\\xfcller.png: this system's locale (ascii) "
                                    "cannot hold this name; run rau with PYTHONUTF8=1 set, or under a UTF-8 locale (e.g. LANG=C.UTF-8)\n")
    assert not any((named_pair / "out").iterdir())
