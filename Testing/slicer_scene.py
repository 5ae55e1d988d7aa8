"""Pytest fixtures for MRML tests on the ``slicer-core`` wheel (no Slicer application).

The wheel has MRML, the module logics and ``slicer.util`` but no ``slicer.app`` or
``slicer.modules``. :func:`mrml_scene` builds what the application would: a scene,
an application logic, the Colors, Volumes and Segmentations logics bound to both,
and publishes ``slicer.mrmlScene`` / ``slicer.modules`` for ``slicer.util``. It
fails the test when VTK or MRML logged an error (they log instead of raising).

Import the fixtures into a test module: ``from slicer_scene import mrml_scene, vtk_errors``.
"""

from __future__ import annotations

import types

import pytest

slicer = pytest.importorskip("slicer", reason="the slicer-core wheel is not installed")
vtk = pytest.importorskip("vtk")


class VTKLog:
    """Collects VTK/MRML error and warning messages through the output window."""

    def __init__(self):
        self.window = vtk.vtkStringOutputWindow()
        self.previous = vtk.vtkOutputWindow.GetInstance()
        vtk.vtkOutputWindow.SetInstance(self.window)
        self.start = 0

    @property
    def text(self) -> str:
        """Everything logged since the last :meth:`clear`."""
        return self.window.GetOutput()[self.start :]

    def errors(self) -> list[str]:
        """Logged error blocks (VTK prefixes each with ``ERROR:``)."""
        return [block.strip() for block in self.text.split("\n\n") if block.strip().startswith("ERROR")]

    def clear(self) -> None:
        """Forget what was logged so far (after an error a test expects)."""
        self.start = len(self.window.GetOutput())

    def close(self) -> None:
        vtk.vtkOutputWindow.SetInstance(self.previous)


@pytest.fixture
def vtk_errors():
    """A :class:`VTKLog`; the test fails if errors remain logged at its end (call ``clear()`` after expected ones)."""
    log = VTKLog()
    yield log
    errors = log.errors()
    log.close()
    assert not errors, "VTK/MRML logged errors:\n" + "\n".join(errors)


def _bind(logic, scene, application_logic, module_name):
    logic.SetMRMLApplicationLogic(application_logic)
    logic.SetMRMLScene(scene)
    application_logic.SetModuleLogic(module_name, logic)
    return logic


@pytest.fixture
def mrml_scene(vtk_errors):
    """A fresh MRML scene with Colors, Volumes and Segmentations logics, published as ``slicer.mrmlScene``."""
    scene = slicer.vtkMRMLScene()
    application_logic = slicer.vtkSlicerApplicationLogic()
    application_logic.SetMRMLScene(scene)
    colors = _bind(slicer.vtkSlicerColorLogic(), scene, application_logic, "Colors")
    volumes = _bind(slicer.vtkSlicerVolumesLogic(), scene, application_logic, "Volumes")
    segmentations = _bind(slicer.vtkSlicerSegmentationsModuleLogic(), scene, application_logic, "Segmentations")
    vtk_errors.clear()  # the color logic reports that it has no share folder of colour files; harmless here
    previous = {name: getattr(slicer, name, None) for name in ("mrmlScene", "modules")}
    slicer.mrmlScene = scene
    slicer.modules = types.SimpleNamespace(
        colors=types.SimpleNamespace(logic=lambda: colors),
        volumes=types.SimpleNamespace(logic=lambda: volumes),
        segmentations=types.SimpleNamespace(logic=lambda: segmentations),
    )
    yield scene
    scene.Clear(True)
    for logic in (segmentations, volumes, colors):
        logic.SetMRMLScene(None)
    application_logic.SetMRMLScene(None)
    for name, value in previous.items():
        if value is None:
            delattr(slicer, name)
        else:
            setattr(slicer, name, value)


def store_from(node, start) -> None:
    """Store a volume node's voxels from the index ``start`` (i, j, k) on, as a crop by ``vtkExtractVOI`` keeps them,
    leaving each voxel where it was in the world (its IJK-to-RAS moved to make up for it)."""
    import numpy as np
    from slicer.util import arrayFromVTKMatrix, vtkMatrixFromArray

    shift = vtk.vtkImageTranslateExtent()
    shift.SetTranslation(*start)
    shift.SetInputData(node.GetImageData())
    shift.Update()
    ijk_to_ras = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(ijk_to_ras)
    back = np.eye(4)
    back[:3, 3] = -np.asarray(start, float)
    node.SetIJKToRASMatrix(vtkMatrixFromArray(arrayFromVTKMatrix(ijk_to_ras) @ back))
    node.SetAndObserveImageData(shift.GetOutput())


def warp(scene, name: str = "warp"):
    """A non-linear (grid) transform node, a displacement grid of zeros (MRML counts it non-linear all the same)."""
    grid = vtk.vtkImageData()
    grid.SetDimensions(3, 3, 3)
    grid.SetOrigin(-100, -100, -100)
    grid.SetSpacing(100, 100, 100)
    grid.AllocateScalars(vtk.VTK_DOUBLE, 3)
    transform = slicer.vtkOrientedGridTransform()
    transform.SetDisplacementGridData(grid)
    node = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", name)
    node.SetAndObserveTransformFromParent(transform)
    return node


def loaded_by_slicer(scene, node_class: str, storage, path):
    """A node of ``node_class`` that ``storage``, Slicer's reader, loaded from ``path``."""
    node = scene.AddNewNodeByClass(node_class)
    scene.AddNode(storage)
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    return node


def disk_inputs(scene):
    """A 2D reference picture with one disk, its segmentation (one segment, ``disk``) and a target that is the same
    picture, as nodes of ``scene``: ``(reference, reference segmentation, target), image``."""
    import numpy as np

    from rau.image import Image
    from rau.labels import LabelSet, Segmentation
    from rau.mrml import add_segmentation_node, add_volume_node

    rows, cols = np.mgrid[:64, :64]
    disk = (rows - 30) ** 2 + (cols - 34) ** 2 < 12**2
    image = Image((100.0 + 80.0 * disk)[None].astype(np.float32), (1.0, 1.0, 1.0), ndim=2)
    segmentation = Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), LabelSet.from_values([1], {1: "disk"}), {"disk": disk[None]})
    reference = add_volume_node(image, "reference", scene)
    reference_segmentation = add_segmentation_node(segmentation, "reference segmentation", scene, reference)
    return (reference, reference_segmentation, add_volume_node(image, "target", scene)), image
