"""Writing a correction or an undo through a server, as the panel does it: the node is written on the GUI thread with
no round trip to the server; what the node wrote (``gave_way``, ``gave_up``) reaches the server's session in the
next job's work, off the GUI thread, and one that does not reach it fails that job, not the write."""

from __future__ import annotations

import types

import numpy as np
import pytest
from serve_helpers import running_server
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)
from test_module_server import segment_states, segments, three_structures

slicer = pytest.importorskip("slicer")

from rau.engines.base import Prompt  # noqa: E402
from rau.errors import InputError  # noqa: E402
from rau.serve.app import ServerConfig  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402

HEAD_OVER_SMALL = Prompt(points=[(48, 62, 0)], labels=[1])
"""An inside point that makes "head" take all of "small" and part of "other" (with overwrite)."""


def test_writing_a_correction_and_its_undo_asks_the_server_nothing_and_the_next_job_tells_it(mrml_scene, tmp_path):
    """Before: the write told the server's session what the node wrote, one round trip (60 s timeout) per segment on
    the GUI thread: a stalled server froze Slicer."""
    inputs, logic = three_structures(mrml_scene), load_rauslicer().RAUSlicerLogic()
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        session = logic.correction(node).result.session
        item = logic.correctionJob(node, "head", HEAD_OVER_SMALL, overwrite=True)(None)
        client, session.client = session.client, types.SimpleNamespace()  # no call reaches the server while writing
        logic.applyCorrection(node, "head", item, overwrite=True, prompt=HEAD_OVER_SMALL)
        session.client = client
        assert not segments(node, inputs[2])["small"].any()
        logic.undoJob(node, "head")(None)  # the next job's work tells the server first, then undoes there
        session.client = types.SimpleNamespace()
        logic.applyUndo(node, "head")
        session.client = client
        session.send_untold()  # what the next job's work does first
        segment_states(node, inputs[2], session, app.state.server.sessions.get(session.id).result)


def test_a_server_that_does_not_hear_of_a_written_correction_fails_the_next_job_which_changes_nothing(mrml_scene, tmp_path):
    """Before: a server that did not hear made the write fail after the node held the correction: "could not write the
    result", the prompts kept, the session closed; the next correction now says so, and changes nothing."""
    inputs, logic = three_structures(mrml_scene), load_rauslicer().RAUSlicerLogic()
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, _):
        node = logic.process(*inputs, None, "registration", {"deformable": False}, server=url)
        item = logic.correctionJob(node, "head", HEAD_OVER_SMALL, overwrite=True)(None)
    written = logic.applyCorrection(node, "head", item, overwrite=True)  # the server stopped: the write needs it not
    assert written.found and np.array_equal(segments(node, inputs[2])["head"], written.mask)
    before = segments(node, inputs[2])
    work = logic.correctionJob(node, "other", Prompt(points=[(70, 70, 0)], labels=[1]))
    with pytest.raises(InputError, match=r"^the server's session did not hear how '(head|small|other)' was written \(.*refused the connection.*\); "
                                         r"press Run again to correct it$"):
        work(None)
    assert logic.correction(node) is None
    assert all(np.array_equal(mask, before[n]) for n, mask in segments(node, inputs[2]).items())
