"""Messages that list structure or segment names quote each as Python writes it (:func:`rau.labels.names_in_words`),
as every other message names structures: a name may hold commas, spaces or "and". Before, these listed them bare."""

from __future__ import annotations

import types

import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)
from test_cli import hc18_case, segment_args  # noqa: F401  (fixture)
from test_correction_overwrite import vessel_session
from test_module_sessions import disk_scene  # noqa: F401  (fixture)

from rau.cli import main
from rau.engines.base import Prompt
from rau.errors import InputError


def test_a_session_refuses_a_structure_it_lacks_quoting_those_it_has():
    """Before: "no structure 'third' in this result; available: first, second"."""
    with pytest.raises(InputError, match="no structure 'third' in this result; available: 'first' and 'second'$"):
        vessel_session().reprompt("third", Prompt(points=[(1.0, 1.0, 0.0)], labels=[1]))


def test_rau_correct_refuses_a_structure_the_result_lacks_quoting_those_it_has(hc18_case, capsys):  # noqa: F811
    """Before: "--structure 'brain' is not in .../run.result.json; it has: fetal head"."""
    assert main(segment_args(hc18_case, hc18_case / "out" / "run.nii.gz", "--no-deformable")) == 0
    capsys.readouterr()
    assert main(["correct", str(hc18_case / "out" / "run.result.json"), "--structure", "brain", "--outside", "10,10",
                 "--out", str(hc18_case / "out" / "fixed.nii.gz")]) == 2
    assert "run.result.json; it has: 'fetal head'\n" in capsys.readouterr().err


def test_the_panel_names_the_segment_it_could_not_undo_quoted(disk_scene, monkeypatch):
    """Before: "Could not undo disk." (the title of the panel's error dialog)."""
    import contextlib

    import slicer
    from RAUSlicerLib.correction_panel import CorrectionPanel
    from test_module_logic import job_panel

    _, _, logic, run, _, _ = disk_scene
    titles = []

    @contextlib.contextmanager
    def error_dialog(message, **_):  # the dialog itself needs Qt; its title is what is checked
        titles.append(message)
        with contextlib.suppress(ValueError):
            yield

    monkeypatch.setattr(slicer.util, "tryWithErrorDisplay", error_dialog)
    panel = job_panel(logic, CorrectionPanel)
    panel._parameterNode = types.SimpleNamespace(outputSegmentation=run())
    panel.ui.segmentComboBox = types.SimpleNamespace(currentIndex=0, currentText="disk", itemData=lambda _index: "disk")
    panel.onUndo()  # nothing to undo yet
    assert titles == ["Could not undo 'disk'."]
