"""A server job's ``top_k`` and ``fusion`` with one reference: warned of as ``rau segment`` warns of ``--top-k`` and
``--fusion`` (nothing to rank or fuse), in the job's warnings and its result JSON, and no warm engine of their own
(real HTTP on loopback)."""

from __future__ import annotations

import json

from rau.cli import main
from rau.serve.client import Client
from test_serve import server, write_two_halves  # noqa: F401  (server: fixture)

NOTHING_TO_FUSE = "is ignored: the run has one reference per target: nothing to rank or fuse"


def test_a_one_reference_job_warns_of_top_k_and_fusion_as_rau_segment_does(server, tmp_path, capsys):  # noqa: F811
    """Before: the job's warnings were [] (``rau segment`` warns of both), and the options made a warm engine of their own."""
    reference, target, table = write_two_halves(tmp_path)
    client = Client(server[0])
    plain = client.wait(client.submit(target, [reference], "registration", options={"deformable": False}, label_table=table))
    chosen = {"deformable": False, "top_k": 3, "fusion": "staple"}
    job = client.submit(target, [reference], "registration", options=chosen, label_table=table)
    record = client.wait(job)
    said = [f"top_k {NOTHING_TO_FUSE}", f"fusion {NOTHING_TO_FUSE}"]
    assert plain["warnings"] == [] and record["warnings"] == said
    client.download(job, "result", tmp_path / "server.result.json")
    assert json.loads((tmp_path / "server.result.json").read_text())["warnings"] == said
    assert record["structures"] == plain["structures"] and len(client.info()["models_loaded"]) == 1

    out = tmp_path / "cli" / "halves.nii.gz"  # the same files and options on the command line
    assert main(["segment", "--reference", str(reference[0]), "--reference-labels", str(reference[1]), "--target", str(target),
                 "--label-table", str(table), "--no-deformable", "--top-k", "3", "--fusion", "staple", "--out", str(out)]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if NOTHING_TO_FUSE in line] == [
        f"warning: --top-k {NOTHING_TO_FUSE}", f"warning: --fusion {NOTHING_TO_FUSE}"]
