"""The module checks the engine options before a run, as the command line does: models and device refused before any
engine work, in the panel's words (slicer-core MRML)."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ElementTree

import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import OptionError  # noqa: E402
from rau.user_warnings import collected_warnings  # noqa: E402
from slicer_module import MODULE_FILE, load_rauslicer  # noqa: E402

SERVER = "http://gpu-box:8000"


@pytest.fixture
def module():
    return load_rauslicer()


def test_a_bad_sam2_model_is_refused_before_any_engine_work(mrml_scene, module, tmp_path, monkeypatch):
    """Before: process() registered the reference and fused labels, then failed loading SAM2 (minutes on a CT)."""
    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = module.RAUSlicerLogic()
    ran = []
    monkeypatch.setattr(logic, "runEngine", lambda *args, **kwargs: ran.append(args))
    with pytest.raises(OptionError, match=rf"^'SAM2 model' \(Model settings\) {tmp_path}"):
        logic.process(reference, reference_segmentation, target, ["disk"], "registration+sam2", {"sam2_model": str(tmp_path), "device": "cpu"})
    assert not ran
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1


def test_a_standing_panel_setting_the_engine_does_not_read_is_not_warned_of(module):
    """The panel's settings stand from run to run (a SAM2 model set once stays for every registration run): unlike a
    command-line flag given for one run, one the chosen engine does not read is no news."""
    with collected_warnings() as said:
        module.RAUSlicerLogic.checkOptions("registration", {"device": "cpu", "sam2_model": "/my/sam2"})
    assert said == []


def test_with_an_engine_server_the_model_settings_are_not_checked_here(module, tmp_path):
    """The server uses and checks its operator's models and device (the panel disables their fields then)."""
    options = module.RAUSlicerLogic.engineOptions(type("Panel", (), {"device": "cpu", "sam2Model": str(tmp_path), "vlmModel": "",
                                                                     "vlmServer": "", "vlmAdapter": "", "engineServer": ""})())
    with collected_warnings() as said:
        module.RAUSlicerLogic.checkOptions("registration+sam2", options, SERVER)  # tmp_path holds no model: not refused
    assert said == []
    with pytest.raises(OptionError, match=r"^'SAM2 model' \(Model settings\)"):
        module.RAUSlicerLogic.checkOptions("registration+sam2", options)


def test_the_panel_disables_every_field_a_server_run_does_not_send(module):
    """The fields the logic says a server run does not send each name a widget of the panel, disabled with a server."""
    from RAUSlicerLib.option_names import PANEL_OPTIONS

    unsent = module.RAUSlicerLogic.serverUnsentOptions()
    assert unsent == ["device", "sam2_model", "vlm_model", "vlm_server", "vlm_adapter"]
    names = {w.get("name") for w in ElementTree.parse(MODULE_FILE.parent / "Resources" / "UI" / "RAUSlicer.ui").getroot().iter("widget")}
    assert {PANEL_OPTIONS[option].widget for option in unsent} <= names
    source = (MODULE_FILE.parent / "RAUSlicerLib" / "options_panel.py").read_text(encoding="utf-8")
    assert "serverUnsentOptions" in source and any(isinstance(node, ast.FunctionDef) and node.name == "_showServerOptions"
                                                   for node in ast.walk(ast.parse(source)))


def test_no_options_are_the_defaults_checked_as_given(module):
    """``logic.process(..., options=None)`` (its default): before, checkOptions gave None to the model check, which
    failed with an AttributeError instead of checking the default SAM2 model."""
    from rau.options import EngineOptions

    with pytest.raises(Exception) as none_given:
        module.RAUSlicerLogic.checkOptions("registration+sam2", None)
    with pytest.raises(Exception) as defaults_given:
        module.RAUSlicerLogic.checkOptions("registration+sam2", EngineOptions())
    assert type(none_given.value) is type(defaults_given.value) and str(none_given.value) == str(defaults_given.value)
    assert not isinstance(none_given.value, AttributeError)


def test_with_an_engine_server_a_field_it_does_not_send_is_not_read(module):
    """Before: an old 'not a url' in the disabled 'VLM server URL' refused every Run on an engine server, though the
    run never sends it; now the options leave out what the server run does not send, and a bad field without a server
    is still refused."""
    panel = module.RAUSlicerParameterNode()
    panel.device, panel.sam2Model, panel.vlmModel, panel.vlmServer, panel.vlmAdapter = "", "", "", "not a url", ""
    panel.engineServer = f" {SERVER} "
    options = module.RAUSlicerLogic.engineOptions(panel)
    assert options.vlm_server is None
    module.RAUSlicerLogic.checkOptions("registration", options, SERVER)
    panel.engineServer = ""
    with pytest.raises(OptionError, match=r"^'VLM server URL' \(Model settings\) .*http://"):
        module.RAUSlicerLogic.engineOptions(panel)


def test_a_server_model_of_no_known_family_is_refused_without_a_setting_the_panel_lacks(module):
    """Before: "... supported: ... (set --vlm-family for a server model with another name)", a setting the panel lacks."""
    with pytest.raises(OptionError) as refused:
        module.RAUSlicerLogic.checkOptions("vlm-box", {"vlm_server": "http://127.0.0.1:9/v1", "vlm_model": "mymodel"})
    assert str(refused.value).endswith("supported: Qwen2.5-VL, Qwen3-VL, Qwen2-VL; name a model of one of them"), refused.value
    assert "family" not in str(refused.value).split("supported")[1]
