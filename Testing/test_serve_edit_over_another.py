"""A hand edit that paints one structure over another, sent to a real ``rau serve`` on loopback (as the Slicer module
sends it before a correction), is taken as a session here takes it (:meth:`rau.session.Session.edit`)."""

from __future__ import annotations

import numpy as np
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.engines import Request, create_engine
from rau.engines.base import Prompt
from rau.io import read_image
from rau.io.label_tables import read_label_table
from rau.io.segmentations import read_segmentation
from rau.references import load_reference
from rau.serve.client import Client
from rau.serve.remote import RemoteEngine


def edited_and_corrected(engine, request: Request):
    """``engine``'s result after "left" is painted over a block of "right" and then corrected with an inside click
    far from the paint; and the painted block."""
    result = engine.run(request)
    left, right = result.get("left").mask, result.get("right").mask
    block = np.zeros_like(right)
    block[0, 20:28, 34:42] = True
    assert (block <= right).all() and not (block & left).any()
    result.session.edit("left", left | block)
    result.session.reprompt("left", Prompt(points=[(12, 40, 0)], labels=[1]))
    return result, block


def test_a_hand_edit_over_another_structure_gives_the_server_session_and_its_downloads_the_voxels_a_session_here_has(server, tmp_path):
    """Before, the server's result took the edit giving way to "right" and its session went on from that: the next
    correction's answer lacked every painted voxel ("0 of 64"), where a session here kept all of them."""
    (image, labels, _), target, table = write_two_halves(tmp_path)
    request = Request([load_reference(image, labels, label_table=read_label_table(table))], read_image(target))
    here, block = edited_and_corrected(create_engine("registration", {"deformable": False}), request)
    there, _ = edited_and_corrected(RemoteEngine(Client(server[0]), "registration", {"deformable": False}), request)
    painted = int((there.session.results["left"].mask & block).sum())
    assert painted == block.sum(), f"painted voxels in the server's corrected left: {painted} of {block.sum()}"
    for name, answer in here.session.results.items():
        assert np.array_equal(there.session.results[name].mask, answer.mask), name
    downloaded = read_segmentation(Client(server[0]).download(there.session.id, "seg_nrrd", tmp_path / "server.seg.nrrd"))
    left, right = here.session.results["left"].mask, here.session.results["right"].mask
    assert np.array_equal(downloaded.masks["right"], right) and right[block].all()  # it keeps them, as in the sessions
    # the answer, written as rau correct writes it: it gives way where it newly takes voxels of "right", not where it was painted
    assert np.array_equal(downloaded.masks["left"], left & ~(right & ~block)) and left[block].all()
