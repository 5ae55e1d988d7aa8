"""Propagate only where it does something: a SAM2 session carries corrections through the slices; the other engines'
corrections already act in 3D, so their sessions refuse it (here and through a server) and the panel disables it."""

from __future__ import annotations

import numpy as np
import pytest
from serve_helpers import running_server
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import InputError  # noqa: E402
from rau.image import Image  # noqa: E402
from rau.labels import LabelSet, Segmentation, Structure  # noqa: E402
from rau.mrml import add_segmentation_node, add_volume_node  # noqa: E402
from rau.serve.app import ServerConfig  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


@pytest.fixture
def volume_inputs(mrml_scene):
    """A 3D reference with one box structure, and a target that is the same volume."""
    image = Image(np.random.default_rng(0).normal(size=(6, 30, 40)).astype(np.float32), spacing=(0.9, 1.4, 3.0))
    labels = np.zeros(image.shape, np.uint8)
    labels[1:5, 5:20, 5:25] = 1
    image = image.with_array(image.array + 4.0 * labels)
    reference = add_volume_node(image, "reference", mrml_scene)
    segmentation = Segmentation.from_label_map(image.with_array(labels), LabelSet((Structure("liver", 1),)))
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", mrml_scene, reference)
    return reference, reference_segmentation, add_volume_node(image, "target", mrml_scene)


def refused_unchanged(session):
    """Propagate on ``session`` is refused, leaving the answer and no undo step."""
    before = session.results["liver"]
    with pytest.raises(InputError, match="nothing to propagate for 'liver'"):
        session.propagate("liver")
    assert session.results["liver"] is before and not session.can_undo("liver")


def test_a_registration_result_does_not_propagate(volume_inputs):
    """Before: Propagate was enabled on every volume result; for registration it wrote the same mask, said a
    confidence, and added an Undo step that undid nothing."""
    logic = load_rauslicer().RAUSlicerLogic()
    node = logic.process(*volume_inputs, ["liver"], "registration", {"deformable": False})
    session = logic.correction(node).result.session
    assert not session.propagates and not logic.canPropagate(node)
    refused_unchanged(session)


def test_only_an_engine_that_carries_corrections_propagates():
    from rau.correction.session import CorrectorSession
    from rau.sam2.session import Sam2Session
    from rau.serve.remote import RemoteSession
    from rau.vessels.session import VesselSession

    assert [cls.propagates.fget(object.__new__(cls)) for cls in (CorrectorSession, VesselSession, Sam2Session)] == [False, False, True]
    assert RemoteSession.propagates  # a server that does not say: its session is asked


def test_a_server_session_says_whether_it_propagates(volume_inputs, tmp_path):
    """Before: a remote session always 'propagated' (each propagate a round trip that changed nothing)."""
    logic = load_rauslicer().RAUSlicerLogic()
    with running_server(ServerConfig(work_dir=tmp_path / "work")) as (url, app):
        node = logic.process(*volume_inputs, ["liver"], "registration", {"deformable": False}, server=url)
        session = logic.correction(node).result.session
        assert app.state.server.jobs[session.id].record()["propagates"] is False
        assert not session.propagates and not logic.canPropagate(node)
        refused_unchanged(session)
