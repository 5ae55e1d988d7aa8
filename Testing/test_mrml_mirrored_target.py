"""A target loaded from a file and then mirrored onto its own grid (Volumes module's "Center Volume", then a flip
transform, set or hardened) on real slicer-core MRML: its voxels moved, though they still sit on the file's voxel
centres. Slicer holds a left-handed file with its k axis reversed; that one reordering, and only for such a file as
loaded, is the file's order. Before, any reordering onto the file's grid counted: a mirrored target was read as the
unmirrored file, and a result or correction made before the flip was placed on the voxels as they had been."""

from __future__ import annotations

import numpy as np
import pytest
from slicer_scene import mrml_scene, vtk_errors  # noqa: F401  (fixtures)

slicer = pytest.importorskip("slicer")
nibabel = pytest.importorskip("nibabel")

from rau.engines.base import Prompt  # noqa: E402
from rau.image import RAS_FROM_LPS  # noqa: E402
from rau.labels import Structure  # noqa: E402
from rau.mrml import Correction, add_result_node, image_from_volume_node  # noqa: E402
from rau.mrml.geometry import ijk_to_world, voxels_to_world  # noqa: E402
from rau.result import Result, StructureResult  # noqa: E402
from slicer.util import arrayFromVolume, vtkMatrixFromArray  # noqa: E402
from slicer_module import load_rauslicer  # noqa: E402
from test_mrml_correction import RecordingSession  # noqa: E402

MIRRORS = {"i": np.diag([-1.0, 1.0, 1.0, 1.0]), "k": np.diag([1.0, 1.0, -1.0, 1.0])}
"""Flips of RAS x (the right-handed file's i axis) and z (its k axis) about the origin."""


def loaded_target(folder, left_handed, centred_file=False):
    """A 12 x 10 x 4 volume of distinct values saved as NIfTI (LAS when ``left_handed``: x column negated; its centre on
    the world origin when ``centred_file``), loaded as Slicer loads it; and its file."""
    shape = np.array([12, 10, 4])
    affine = np.diag([-1.5 if left_handed else 1.5, 2.0, 3.0, 1.0])
    affine[:3, 3] = -affine[:3, :3] @ (shape - 1) / 2 if centred_file else (4.0, -7.0, 11.0)
    array = np.arange(shape.prod(), dtype=np.int16).reshape(shape)
    stored = nibabel.Nifti1Image(array, affine)
    stored.set_sform(affine, 1)
    stored.set_qform(affine, 1)
    path = folder / f"target_{'LAS' if left_handed else 'RAS'}.nii.gz"
    nibabel.save(stored, path)
    return slicer.modules.volumes.logic().AddArchetypeVolume(str(path), "target"), path


def centred_target(folder, left_handed, centred_by):
    """:func:`loaded_target` with its centre on the world origin: by its file, or by the Volumes module's
    "Center Volume" (its origin moved off the file's grid)."""
    target, _ = loaded_target(folder, left_handed, centred_file=centred_by == "file")
    centre = (ijk_to_world(target) @ np.r_[(np.array(target.GetImageData().GetDimensions()) - 1) / 2, 1])[:3]
    target.SetOrigin(*(np.array(target.GetOrigin()) - centre))  # for a centred file: no change
    return target


def mirror(scene, target, axis, harden):
    """Mirror ``target`` alone by a transform flipping ``axis`` (set on it, or hardened into its IJK-to-RAS)."""
    flip = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", f"flip {axis}")
    flip.SetMatrixTransformToParent(vtkMatrixFromArray(MIRRORS[axis]))
    target.SetAndObserveTransformNodeID(flip.GetID())
    if harden:
        target.SetIJKToRASMatrix(vtkMatrixFromArray(ijk_to_world(target)))
        target.SetAndObserveTransformNodeID(None)


# "k" for the left-handed file undoes Slicer's reversal of its k axis: its voxels lie on the file's grid in the file's
# own order, which is not how Slicer holds that file (before, read as the file: accepted)
CASES = [(False, "i"), (True, "i"), (False, "k"), (True, "k")]


@pytest.mark.parametrize("centred_by", ["file", "Center Volume"])
@pytest.mark.parametrize("harden", [False, True], ids=["set", "hardened"])
@pytest.mark.parametrize("left_handed, axis", CASES, ids=[f"{'LAS' if l else 'RAS'}-flip-{a}" for l, a in CASES])
def test_a_target_mirrored_onto_its_own_grid_after_run_refuses_the_result_and_corrections(mrml_scene, tmp_path, left_handed,
                                                                                           axis, harden, centred_by):
    target = centred_target(tmp_path, left_handed, centred_by)
    read = image_from_volume_node(target)  # what Run reads
    liver = Structure("liver", 1, (0.9, 0.5, 0.3))
    mask = np.zeros(read.shape, bool)
    mask[:2, 3:6, 4:9] = True
    result = Result(read, [StructureResult(liver, mask, 0.9, "test")], "test")
    result.session = RecordingSession(result, liver)
    correction = Correction(result, add_result_node(result, target), target_node=target)
    correction.update("liver", Prompt(points=[(5, 4, 1)], labels=[1]))  # in place: taken

    mirror(mrml_scene, target, axis, harden)
    with pytest.raises(ValueError, match="or its target was moved .* press Run again"):
        correction.update("liver", Prompt(points=[(2, 2, 1)], labels=[1]))
    with pytest.raises(ValueError, match="'target' was moved .* after it was read; press Run again"):
        load_rauslicer().RAUSlicerLogic().writeResult(result, target)  # a result of the target as it was before the flip


@pytest.mark.parametrize("left_handed, axis", CASES, ids=[f"{'LAS' if l else 'RAS'}-flip-{a}" for l, a in CASES])
def test_a_mirrored_target_is_read_as_slicer_holds_it_not_as_its_file(mrml_scene, tmp_path, left_handed, axis):
    """Each voxel where the user sees it: the node's array on the grid Slicer holds it on (before, the file's order
    and grid: the picture mirrored back)."""
    target, _ = loaded_target(tmp_path, left_handed, centred_file=True)
    mirror(mrml_scene, target, axis, harden=False)
    image = image_from_volume_node(target)
    assert np.allclose(RAS_FROM_LPS @ image.index_to_world, voxels_to_world(target), atol=1e-9)
    assert np.array_equal(image.array, arrayFromVolume(target))


def test_a_left_handed_file_as_loaded_is_read_in_its_own_order(mrml_scene, tmp_path):
    """Slicer holds its k axis reversed; read, it is the file's array on the file's grid (and stays in place)."""
    target, path = loaded_target(tmp_path, left_handed=True)
    image = image_from_volume_node(target)
    stored = nibabel.load(path)
    assert np.array_equal(image.array, np.asanyarray(stored.dataobj).T)
    assert np.allclose(RAS_FROM_LPS @ image.index_to_world, stored.affine, atol=1e-6)
    assert not np.allclose(voxels_to_world(target), stored.affine, atol=1e-6)  # Slicer's own order is another
