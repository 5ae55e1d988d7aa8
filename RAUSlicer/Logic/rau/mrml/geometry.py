"""Scalar volume nodes <-> :class:`rau.image.Image`; where Slicer's RAS becomes LPS.

Slicer places voxels with an IJK-to-RAS matrix (plus any parent transform); ``rau``
uses an index-to-LPS matrix. The two differ by a sign flip of the first two world
axes, :data:`rau.image.RAS_FROM_LPS`, applied here (and to the reference geometry of a ``.seg.nrrd``
rau writes).

Dimensionality follows :meth:`rau.image.Image.from_grid` (a 1-slice volume node is a 2D
image). Toward Slicer, a 2D image is placed where its volume was (:meth:`Image.volume`),
and a volume node made from it gets the original layout and IJK-to-RAS back
(:meth:`Image.as_stored`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import slicer
import vtk
from vtk.util.numpy_support import get_vtk_array_type, vtk_to_numpy
from slicer.util import arrayFromVTKMatrix, arrayFromVolume, updateVolumeFromArray, vtkMatrixFromArray

from rau.boxes import Box
from rau.image import RAS_FROM_LPS, GeometryError, Image, colour_as_grey
from rau.io.images import header_grid


def lps_to_ras(points) -> np.ndarray:
    """LPS points ``(..., 3)`` to RAS (and RAS to LPS: the flip is symmetric)."""
    return np.asarray(points, dtype=float) * RAS_FROM_LPS.diagonal()[:3]


ras_to_lps = lps_to_ras
"""RAS points ``(..., 3)`` to LPS: the same flip, named for the way it is used."""


def image_ijk_to_ras(image: Image) -> np.ndarray:
    """The 4x4 IJK-to-RAS matrix Slicer needs for ``image``'s voxels (2D images: where their volume was)."""
    return RAS_FROM_LPS @ image.volume().index_to_world


def node_to_world(node, doing: str = "running RAUSlicer") -> np.ndarray:
    """4x4 matrix from the node's own frame to world RAS (identity without a parent transform).

    Non-linear parent transforms are refused: the error says to harden them (Transforms module) before ``doing``.
    """
    transform = node.GetParentTransformNode()
    if transform is None:
        return np.eye(4)
    if not transform.IsTransformToWorldLinear():
        raise GeometryError(
            f"{node.GetName()!r} is under the non-linear transform {transform.GetName()!r}; "
            f"harden it (Transforms module, 'Harden transform') before {doing}"
        )
    matrix = vtk.vtkMatrix4x4()
    transform.GetMatrixTransformToWorld(matrix)
    return arrayFromVTKMatrix(matrix)


def ijk_to_world(node) -> np.ndarray:
    """A volume node's 4x4 matrix from voxel indices to world RAS (parent transforms applied)."""
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return node_to_world(node) @ arrayFromVTKMatrix(matrix)


def voxels_to_world(node) -> np.ndarray:
    """A volume node's 4x4 matrix from the indices of its stored voxels to world RAS: its voxel array starts at its
    image data's extent start (not always IJK 0, e.g. a crop by ``vtkExtractVOI`` left in place)."""
    start = np.eye(4)
    start[:3, 3] = node.GetImageData().GetExtent()[0::2]
    return ijk_to_world(node) @ start


MOVED = "was moved or its geometry changed (a transform, or its origin, spacing or directions)"
"""What happened to a node whose voxels are no longer where they were read (:func:`volume_in_place`), said in refusals."""

REMOVED = "was removed from the scene"
"""What happened to a node the user deleted (``node.GetScene()`` is None), said in refusals."""


def volume_in_place(node, image: Image) -> bool:
    """Whether a volume node's voxels are still where ``image``, read from it, has them (no transform changed
    or hardened since, and its origin, spacing and directions as they were; :func:`order_on_grid`)."""
    return order_on_grid(node, image, loaded_grid(node)) is not None


PLACEMENT_TOLERANCE_MM = 1e-6
"""How far a volume node's voxel placement may be from a grid's and still lie on it (:func:`order_on_grid`)."""


def order_on_grid(node, grid: Image, file: Image | None) -> bool | None:
    """How a volume node's voxels lie on ``grid`` (its stored layout, :meth:`Image.as_stored`): False in the grid's
    very order; True with the grid's k axis (the file's third index) reversed, which is how Slicer holds a left-handed
    file (its directions' determinant < 0), taken only for ``file``, the grid of the file the node was loaded from
    (:func:`loaded_grid`; None: none), and then only so; None when not on ``grid`` in that one order (to
    :data:`PLACEMENT_TOLERANCE_MM`): a mirror or turn that maps the grid onto itself moved the voxels."""
    stored = grid.as_stored().volume()
    shape = tuple(reversed(node.GetImageData().GetDimensions()))
    if stored.shape != shape:
        return None
    file = file.as_stored().volume() if file is not None else None
    k_reversed = file is not None and np.linalg.det(file.direction) < 0 and file.shape == shape and placed_alike(
        image_ijk_to_ras(file), image_ijk_to_ras(stored))
    held_to_stored = np.eye(4)
    if k_reversed:
        held_to_stored[2, 2:] = (-1.0, shape[0] - 1)  # held k is the file's last-but-k
    return k_reversed if placed_alike(voxels_to_world(node), image_ijk_to_ras(stored) @ held_to_stored) else None


def placed_alike(index_to_world: np.ndarray, other: np.ndarray) -> bool:
    """Whether two 4x4 index-to-world matrices place every voxel alike (to :data:`PLACEMENT_TOLERANCE_MM`)."""
    return np.allclose(index_to_world, other, atol=PLACEMENT_TOLERANCE_MM)


def held_grid(node) -> Image:
    """The grid (:class:`Image` of zeros, 3D) a volume node's voxels lie on in world LPS, in the order Slicer holds them;
    a spacing that is not positive and finite is refused."""
    index_to_lps = RAS_FROM_LPS @ voxels_to_world(node)
    spacing = np.linalg.norm(index_to_lps[:3, :3], axis=0)
    if not np.all(np.isfinite(spacing) & (spacing > 0)):  # the direction below would divide by it
        raise GeometryError(f"volume {node.GetName()!r} has voxel spacing {tuple(float(v) for v in spacing)} mm; spacing "
                            "must be positive and finite (set it in the Volumes module, Volume Information)")
    direction = index_to_lps[:3, :3] / spacing
    shape = tuple(reversed(node.GetImageData().GetDimensions()))
    return Image(np.broadcast_to(np.uint8(0), shape), tuple(spacing), tuple(index_to_lps[:3, 3]), direction)


def check_volume_in_place(node, image: Image) -> None:
    """Refuse a volume node moved since ``image`` was read from it (e.g. while an engine ran)."""
    if not volume_in_place(node, image):
        raise GeometryError(f"{node.GetName()!r} {MOVED} after it was read; press Run again")


def image_from_volume_node(node) -> Image:
    """A copy of a scalar volume node's voxels with its world geometry (parent transform applied; index 0 is its first
    stored voxel, :func:`voxels_to_world`). A node whose voxels still lie on the grid of the file it was loaded from
    takes that file's geometry and voxel order as the command line reads them, bit for bit (:func:`file_geometry`).

    A volume with a single slice along any axis becomes a 2D image (:meth:`Image.from_grid`). A colour
    (vector) volume, as Slicer loads a colour PNG or JPEG, becomes grey (:func:`rau.image.colour_as_grey`).
    """
    if node is None or not node.IsA("vtkMRMLScalarVolumeNode"):
        raise GeometryError("expected a scalar volume, got nothing" if node is None else
                            f"{node.GetName()!r} is a {node.GetClassName()}, not a scalar volume")
    if node.GetImageData() is None or node.GetImageData().GetPointData().GetScalars() is None:  # none, or an empty one
        raise GeometryError(f"volume {node.GetName()!r} holds no voxels")
    held = held_grid(node)
    array = np.array(arrayFromVolume(node), copy=True)
    if array.ndim > 3:  # colour, or vectors; a diffusion tensor volume's are 3x3 per voxel: 9 components
        try:
            array = colour_as_grey(array.reshape(*array.shape[:3], -1))
        except GeometryError as error:
            raise GeometryError(f"volume {node.GetName()!r}: {error}") from None
    if (on_file := file_geometry(node)) is not None:
        grid, k_reversed = on_file
        return Image.from_grid(array[::-1] if k_reversed else array, grid.spacing, grid.origin, grid.direction)
    return Image.from_grid(array, held.spacing, held.origin, held.direction)


def file_geometry(node) -> tuple[Image, bool] | None:
    """The grid (in its stored layout) of the file a volume node was loaded from (:func:`loaded_grid`) when the node's
    voxels still lie on it as Slicer holds that file (not moved, no parent transform that moves them, no mirror onto
    itself), with whether Slicer holds its k axis reversed (a left-handed file; for a 1-slice file stored along i or j
    that axis is one of the picture's): :func:`order_on_grid`; else None.

    Slicer computes the IJK-to-RAS matrix again from the header and may give an oblique file's origin a step off the
    file's double-precision value; registration follows bits, so the module takes the file's own numbers."""
    grid = loaded_grid(node)  # its header read once
    k_reversed = order_on_grid(node, grid, grid) if grid is not None else None
    return (grid.as_stored(), k_reversed) if k_reversed is not None else None


def loaded_grid(node):
    """The grid (:class:`Image` of zeros) of the file a volume node was loaded from (its storage node's, header only,
    :func:`rau.io.images.header_grid`); None when it has no file, or one that is gone or unreadable."""
    storage = node.GetStorageNode()
    name = storage.GetFileName() if storage is not None else None
    return header_grid(name) if name and Path(name).is_file() else None


def image_from_oriented(data) -> Image:
    """A copy of a ``vtkOrientedImageData``'s voxels (e.g. a segment's binary labelmap) with its own grid, 3D (also of
    one slice): placed by its image-to-world matrix (world RAS), index 0 at its extent's start (a labelmap may be
    cropped to its segments)."""
    image_to_world = vtk.vtkMatrix4x4()
    data.GetImageToWorldMatrix(image_to_world)
    start = np.eye(4)
    start[:3, 3] = data.GetExtent()[0::2]
    index_to_lps = RAS_FROM_LPS @ arrayFromVTKMatrix(image_to_world) @ start
    spacing = np.linalg.norm(index_to_lps[:3, :3], axis=0)
    return Image.from_grid(np.array(oriented_array(data), copy=True), tuple(spacing), tuple(index_to_lps[:3, 3]),
                           index_to_lps[:3, :3] / spacing, ndim=3)


def add_volume_node(image: Image, name: str, scene=None, class_name: str = "vtkMRMLScalarVolumeNode"):
    """Add a volume node holding ``image`` (voxels and geometry, in the layout it was read in) to ``scene``
    (default ``slicer.mrmlScene``)."""
    scene = scene or slicer.mrmlScene
    image = image.as_stored()
    node = scene.AddNewNodeByClass(class_name, scene.GenerateUniqueName(name))
    node.SetIJKToRASMatrix(vtkMatrixFromArray(image_ijk_to_ras(image)))
    updateVolumeFromArray(node, np.ascontiguousarray(image.array))
    node.CreateDefaultDisplayNodes()
    return node


def oriented_image(image: Image, array: np.ndarray | None = None, world_to_frame: np.ndarray | None = None,
                   box: Box | None = None):
    """A ``vtkOrientedImageData`` on ``image``'s grid holding ``array`` (default: its voxels).

    It is placed in world RAS, or in the frame ``world_to_frame`` (4x4) maps world to, e.g. a
    transformed node's own frame. With ``box`` it holds only that part of the grid.
    """
    array = image.array if array is None else array
    if array.shape != image.shape:
        raise GeometryError(f"array shape {array.shape} differs from the image grid {image.shape}")
    box = box or Box((0, 0, 0), image.size)
    data = slicer.vtkOrientedImageData()
    data.SetExtent(*[bound for low, high in zip(box.lower, box.upper) for bound in (low, high - 1)])
    frame = np.eye(4) if world_to_frame is None else world_to_frame
    data.SetImageToWorldMatrix(vtkMatrixFromArray(frame @ image_ijk_to_ras(image)))
    data.AllocateScalars(get_vtk_array_type(array.dtype), 1)
    oriented_array(data)[:] = array[box.slices()]
    return data


def oriented_array(data) -> np.ndarray:
    """A ``(k, j, i)`` numpy view of a ``vtkImageData``'s scalars (shares memory)."""
    return vtk_to_numpy(data.GetPointData().GetScalars()).reshape(tuple(reversed(data.GetDimensions())))
