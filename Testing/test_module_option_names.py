"""The module's logic names an engine option the panel sets by the panel's field, not by the command-line flag the
panel never shows (slicer-core MRML; a tiny random-weight SAM2 saved to disk and read by the production loader)."""

from __future__ import annotations

import shutil

import pytest
from slicer_scene import disk_inputs, mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")

from rau.errors import OptionError  # noqa: E402
from rau.io.atomic import OutputExistsError  # noqa: E402
from rau.models.loader import ModelNotAvailableError  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402


@pytest.fixture
def run_disk(mrml_scene):
    """Run the module's logic on a 2D disk (reference = target) with the given engine options."""
    (reference, reference_segmentation, target), _ = disk_inputs(mrml_scene)
    logic = load_rauslicer().RAUSlicerLogic()

    def run(engine, options):
        return logic.process(reference, reference_segmentation, target, ["disk"], engine, {"device": "cpu", "deformable": False, **options})

    return run, mrml_scene


def damaged_copy(model, folder):
    """A copy of the saved SAM2 ``model`` folder whose weights file is cut short."""
    shutil.copytree(model, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return folder


@pytest.mark.parametrize("kind", ["missing", "empty", "cut-weights"])
def test_an_unusable_sam2_model_is_named_by_the_panel_field(run_disk, tmp_path, tiny_sam2, kind):
    """Before: 'ModelNotAvailableError --sam2-model /…/empty has no config.json …', a flag the panel never shows (now
    refused before the run, as the command line refuses it: test_module_option_checks.py)."""
    run, scene = run_disk
    model = {"missing": tmp_path / "missing", "empty": tmp_path, "cut-weights": damaged_copy(tiny_sam2["random"], tmp_path / "cut")}[kind]
    with pytest.raises(OptionError) as refused:
        run("registration+sam2", {"sam2_model": str(model)})
    assert str(refused.value).startswith(f"'SAM2 model' (Model settings) {model}")
    assert "--sam2-model" not in str(refused.value)
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1  # the reference's only: no partial result


def test_a_wrong_option_value_is_named_by_the_panel_field(run_disk):
    """Before: '--vlm-server URL must …' / '--device must be …'."""
    run, _ = run_disk
    with pytest.raises(OptionError, match=r"^'VLM server URL' \(Model settings\) URL must start with http:// or https://"):
        run("registration", {"vlm_server": "gpu-box:8000"})
    with pytest.raises(OptionError, match=r"^'Device' must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"):
        run("registration", {"device": "gpu"})


def test_the_command_line_keeps_its_flags(tmp_path):
    """The same refusal outside the panel still names the flag."""
    from rau.sam2.segmenter import Sam2Segmenter

    with pytest.raises(ModelNotAvailableError, match=rf"^--sam2-model {tmp_path}"):
        Sam2Segmenter(model=str(tmp_path), device="cpu").model


@pytest.mark.parametrize("error", [OptionError("--vlm-model x: bad"), OutputExistsError("--device")],
                         ids=["OptionError", "OutputExistsError"])
def test_the_panel_rewords_the_error_itself_and_keeps_its_traceback(error):
    """Before: the panel raised ``type(error)(said)`` from None: an OutputExistsError, made from a path, said
    "'Device' exists; … exists; …" with its .path corrupted, and the traceback of the error was lost."""
    panelWording = load_rauslicer().panelWording
    path = getattr(error, "path", None)

    def fail():
        raise error

    with pytest.raises(type(error)) as raised:
        with panelWording():
            fail()
    assert raised.value is error
    assert str(error) in ("'VLM model' (Model settings) x: bad", "'Device' exists; replace it with --overwrite (in Python: overwrite=True)")
    assert getattr(error, "path", None) == path
    assert any(frame.name == "fail" for frame in raised.traceback)
