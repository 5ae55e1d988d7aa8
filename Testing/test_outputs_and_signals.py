"""What ``rau`` guarantees about its outputs and about being stopped: every output format reads
back, files respect the umask, bugs say "internal error" with a saved traceback, Ctrl-C and
SIGTERM end without a traceback or a leftover file, and an interrupted evaluation keeps what it has."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import slicerio
from bad_input_cases import inputs, template  # noqa: F401  (fixtures)
from chat_server import ChatServer
from test_bad_input import REF_SPACING, TGT_SPACING, run_cli, segment, snapshot

from rau.errors import UnavailableError
from rau.io import read_image, read_segmentation, write_image
from rau.vlm.backend import create_backend
from rau.vlm.families import QWEN2_5_VL
from rau.vlm.server import ServerBackend

LOGIC = Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic"


def test_seg_nrrd_out_is_a_slicer_segmentation_with_unicode_names(inputs, monkeypatch, capsys):
    (inputs / "ref_mask.labels.csv").write_text("value,name,r,g,b\n255,Fötaler Kopf 頭,0.9,0.7,0.2\n", encoding="utf-8")
    status, error = run_cli(segment(out="Ergebnis/Fötus.seg.nrrd"), inputs, monkeypatch, capsys)
    assert status == 0, error
    written = inputs / "Ergebnis/Fötus.seg.nrrd"
    assert sorted(p.name for p in written.parent.iterdir()) == ["Fötus.result.json", "Fötus.seg.nrrd"]
    assert slicerio.read_segmentation(str(written))["segments"][0]["id"] == "Segment_255"
    segmentation = read_segmentation(written)
    assert segmentation.labels.names == ["Fötaler Kopf 頭"]
    assert segmentation.masks["Fötaler Kopf 頭"].sum() > 100
    assert json.loads((written.parent / "Fötus.result.json").read_text(encoding="utf-8"))["structures"][0]["name"] == "Fötaler Kopf 頭"


def test_png_out_for_a_2d_target_and_files_respect_the_umask(inputs, monkeypatch, capsys):
    previous = os.umask(0o027)
    try:
        status, error = run_cli(segment("--seg-nrrd", out="out/result.png"), inputs, monkeypatch, capsys)
    finally:
        os.umask(previous)
    assert status == 0, error
    label_map = read_image(inputs / "out/result.png")
    assert label_map.shape == read_image(inputs / "tgt.png").shape and set(np.unique(label_map.array)) == {0, 255}
    for path in (inputs / "out").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_labels_too_large_for_a_png_out_are_refused_leaving_no_folder(inputs, monkeypatch, capsys):
    """Label 70000 fits a NIfTI (32 bits) but no PNG: refused with exit 2, naming --out, nothing left behind."""
    mask = read_image(inputs / "ref_mask.png", float(REF_SPACING), label_map=True)
    write_image(mask.with_array((mask.array > 0).astype(np.uint32) * 70000), inputs / "big_mask.nrrd")
    status, error = run_cli(segment(labels="big_mask.nrrd", out="new/deeper/result.png"), inputs, monkeypatch, capsys)
    assert status == 2 and "--out new/deeper/result.png: a picture holds values up to 65535, these go up to 70000" in error, error
    assert not (inputs / "new").exists()
    status, error = run_cli(segment(labels="big_mask.nrrd", out="new/result.nii.gz"), inputs, monkeypatch, capsys)
    assert status == 0 and read_image(inputs / "new/result.nii.gz").array.max() == 70000, error


def test_a_bug_is_an_internal_error_with_its_traceback_saved(inputs, monkeypatch, capsys):
    import rau.commands.segment

    def broken(*args, **kwargs):
        raise TypeError("a bug in the engine")

    monkeypatch.setattr(rau.commands.segment, "checked_engine", broken)
    before = snapshot(inputs)
    status, error = run_cli(segment(), inputs, monkeypatch, capsys)
    assert status == 70
    assert "internal error (TypeError: a bug in the engine); please report it with " in error and "Traceback" not in error
    report = Path(error.rsplit("please report it with ", 1)[1].strip())
    assert "Traceback" in report.read_text() and "a bug in the engine" in report.read_text()
    report.unlink()
    assert snapshot(inputs) == before


def test_ctrl_c_in_process_says_cancelled(inputs, monkeypatch, capsys):
    import rau.commands.segment

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rau.commands.segment, "checked_engine", interrupted)
    before = snapshot(inputs)
    assert run_cli(segment(), inputs, monkeypatch, capsys) == (130, "rau segment: cancelled\n")
    assert snapshot(inputs) == before


def test_a_manifest_saved_by_excel_is_read(inputs, monkeypatch, capsys):
    before = snapshot(inputs)
    status, error = run_cli(["evaluate", "bom.csv", "--json", "scores/bom.json"], inputs, monkeypatch, capsys)
    assert status == 0, error
    assert json.loads((inputs / "scores/bom.json").read_text())["summary"]["cases"] == 1
    assert {k: v for k, v in snapshot(inputs).items() if not k.startswith("scores")} == before


# --- real signals to a real process ------------------------------------------------------------
SLOW_WRITE = """
import sys, time
import rau.io.run_outputs as run_outputs
real = run_outputs.write_label_table
def slow(labels, path):
    real(labels, path)
    print("WRITING", flush=True)
    for _ in range(1200):  # short sleeps: a signal the kernel hands to another thread is acted on within 0.1 s
        time.sleep(0.1)
run_outputs.write_label_table = slow
from rau.cli import main
sys.exit(main(sys.argv[1:]))
"""

SLOW_CASES = """
import sys, time
import rau.evaluation.runner as runner
real = runner.score_run
calls = []
def second_case_waits(*args, **kwargs):
    calls.append(args)
    if len(calls) == 2:
        print("CASE", flush=True)
        for _ in range(1200):
            time.sleep(0.1)
    return real(*args, **kwargs)
runner.score_run = second_case_waits
from rau.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start(script: str, args: list[str], folder: Path) -> subprocess.Popen:
    """``rau`` in a real child process, with one step slowed so a signal lands inside it.

    The child gets Ctrl-C's default handling even when the tests run in a background job
    (which starts children with SIGINT ignored).
    """
    environment = {**os.environ, "PYTHONPATH": str(LOGIC)}
    restore_ctrl_c = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731  (Python then installs its own)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], cwd=folder, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=restore_ctrl_c)


def wait_for(process: subprocess.Popen, word: str) -> None:
    for line in process.stdout:
        if line.strip() == word:
            return
    pytest.fail(f"the child ended before {word}: {process.wait()} {process.stderr.read()}")


@pytest.mark.parametrize("signal_number, status, message", [(signal.SIGINT, 130, "cancelled"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_while_writing_leaves_no_file_and_no_traceback(inputs, signal_number, status, message):
    before = snapshot(inputs)
    process = start(SLOW_WRITE, segment("--seg-nrrd"), inputs)
    wait_for(process, "WRITING")
    assert any(p.name.startswith(".") for p in (inputs / "out").iterdir())  # the temporary files exist now
    process.send_signal(signal_number)
    error = process.communicate(timeout=60)[1]  # reads stderr while waiting: a full pipe cannot stall the child
    assert process.returncode == status
    assert f"rau segment: {message}" in error and "Traceback" not in error
    assert [p for p in (inputs / "out").rglob("*")] == []
    assert {k: v for k, v in snapshot(inputs).items() if k != "out"} == before


def test_interrupted_evaluation_writes_the_finished_cases_and_says_so(inputs):
    rows = ["ref.png,ref_mask.png,tgt.png,tgt_mask.png", "tgt.png,tgt_mask.png,ref.png,ref_mask.png"]
    spacings = [f"{REF_SPACING},{TGT_SPACING}", f"{TGT_SPACING},{REF_SPACING}"]
    manifest = "reference_image,reference_labels,target_image,target_labels,reference_spacing,target_spacing\n"
    (inputs / "two.csv").write_text(manifest + "".join(f"{r},{s}\n" for r, s in zip(rows, spacings)))
    process = start(SLOW_CASES, ["evaluate", "two.csv", "--json", "scores.json"], inputs)
    wait_for(process, "CASE")
    process.send_signal(signal.SIGINT)
    error = process.communicate(timeout=60)[1]
    assert process.returncode == 130
    assert "interrupted after 1 of 2 cases; scores.json holds those finished" in error and "Traceback" not in error
    document = json.loads((inputs / "scores.json").read_text())
    assert document["interrupted"] is True and [case["status"] for case in document["cases"]] == ["ok", "not_run"]
    assert document["summary"]["cases"] == 1
    assert [line.split(",")[3] for line in (inputs / "scores.csv").read_text().splitlines()[1:]] == ["detected", "not_run"]
    assert not [p for p in inputs.iterdir() if p.name.startswith(".")]


# --- the VLM server client ---------------------------------------------------------------------
MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "Is the liver visible?"}]}]


def test_a_refused_connection_is_retried_until_the_server_is_up():
    with ChatServer(lambda body: "") as gone:
        port = gone.httpd.server_address[1]
    servers = []

    def start_late():
        time.sleep(0.6)
        servers.append(ChatServer(lambda body: "yes", port=port).__enter__())

    threading.Thread(target=start_late).start()
    try:
        reply = ServerBackend(f"http://127.0.0.1:{port}", "m", QWEN2_5_VL, timeout=5).generate(MESSAGES, 4)
    finally:
        for server in servers:
            server.__exit__(None, None, None)
    assert reply.text == "yes"


def test_vlm_timeout_is_an_option_and_names_itself():
    def slow(body):
        time.sleep(1.5)
        return "late"

    with ChatServer(slow) as server:
        backend = create_backend({"vlm_server": server.url, "vlm_model": "Qwen/Qwen2.5-VL-7B-Instruct", "vlm_timeout": 0.3})
        assert backend.timeout == 0.3
        with pytest.raises(UnavailableError, match=r"gave no answer within 0.3 s \(--vlm-timeout\)"):
            backend.generate(MESSAGES, 4)


def test_an_oversized_reply_is_refused():
    with ChatServer(lambda body: "x" * (17 * 2**20)) as server:
        with pytest.raises(UnavailableError, match="sent more than 16 MB; refused"):
            ServerBackend(server.url, "m", QWEN2_5_VL, timeout=10).generate(MESSAGES, 4)


def test_a_skewed_image_is_not_written_with_its_axes_silently_straightened(tmp_path):
    from rau.errors import InputError
    from rau.image import Image
    from rau.io import write_image

    skewed = Image(np.zeros((2, 3, 4), np.uint8), direction=[[1, 0.3, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(InputError, match="is not orthonormal"):
        write_image(skewed, tmp_path / "skewed.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path):
    """``rau ... | head -1``: before, exit 70 "internal error (BrokenPipeError)" with a traceback file."""
    script = textwrap.dedent("""
        import argparse, sys
        from rau import cli
        def chatty(args):
            for line in range(200000):
                print(f"line {line}")
        cli.parse_arguments = lambda argv: (argparse.Namespace(run="__main__:chatty"), "rau chatty")  # as a parser names its command
        sys.exit(cli.main([]))
    """)
    logic = str(Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": logic})
    assert process.stdout.readline() == b"line 0\n"
    process.stdout.close()
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == b""


def test_python_dash_m_rau_runs_the_command_line():
    logic = str(Path(__file__).resolve().parents[1] / "RAUSlicer" / "Logic")
    run = subprocess.run([sys.executable, "-m", "rau", "segment", "--target"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": logic}, timeout=120)
    assert run.returncode == 2 and "rau segment: error: argument --target: expected one argument" in run.stderr  # before: no rau.__main__


CTRL_C_WHILE_NUMPY_LOADS = """
import signal, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            sys.meta_path.remove(self)
            signal.raise_signal(signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("entry", ["import runpy; runpy.run_module('rau', run_name='__main__', alter_sys=True)",  # python -m rau
                                   "from rau.cli import main; sys.exit(main())"])  # the rau command pip installs
def test_ctrl_c_while_rau_loads_says_cancelled(entry, tmp_path):
    """Before: rau/__init__.py imported numpy (0.5 s) before rau.cli.main could catch Ctrl-C: a KeyboardInterrupt traceback."""
    process = start(CTRL_C_WHILE_NUMPY_LOADS + entry, ["segment", "--target", "target.png"], tmp_path)
    assert (process.wait(timeout=120), process.stderr.read()) == (130, "rau: cancelled\n")


def test_a_failure_reason_gives_bad_input_by_its_message_and_a_bug_as_one():
    from rau.errors import InputError, failure_reason

    assert failure_reason(InputError("a.png: not a readable image")) == "a.png: not a readable image"
    assert failure_reason(TypeError("bad operand")) == "internal error (TypeError: bad operand)"
