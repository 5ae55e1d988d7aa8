"""A ``.seg.nrrd`` written at the cost of each structure's bounding box: the same layers, label values, extents and
bytes as slicerio.add_segment's rule gives, on real atlases, a picture, overlapping and empty structures and many blobs."""

import numpy as np
import pytest
import slicerio

from rau.image import Image
from rau.io import read_image, read_segmentation, write_seg_nrrd
from rau.io import segmentations
from rau.io.segment_layers import add_segment
from rau.labels import LabelSet, Segmentation


def _blobs(shape, count, seed) -> list[np.ndarray]:
    """``count`` random balls on a (k, j, i) grid of ``shape``, overlapping one another."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    blobs = []
    for _ in range(count):
        centre = rng.uniform(0, shape)[:, None, None, None]
        radius = rng.uniform(1.0, max(shape) / 4)
        blobs.append(((grid - centre) ** 2).sum(axis=0) <= radius**2)
    return blobs


def _atlas_slab(shared_data, name, first_value, slices=slice(70, 82)) -> Segmentation:
    """One of Colin27's atlases on 12 axial slices of its grid, a structure per value (those outside the slab empty)."""
    atlas = read_image(shared_data / "colin27_mni_atlases" / name)
    array = np.asarray(atlas.array)
    slab = array[slices]
    geometry = Image.from_grid(np.zeros(slab.shape, np.uint8), atlas.spacing, atlas.to_world([0, 0, slices.start]), atlas.direction)
    values = [int(value) for value in np.unique(array) if value]
    labels = LabelSet.from_values([first_value + index for index in range(len(values))],
                                  {first_value + index: f"{name.split('.')[0]} {value}" for index, value in enumerate(values)})
    return Segmentation(geometry, labels, {structure.name: slab == value for structure, value in zip(labels, values)})


def _merged(*parts: Segmentation) -> Segmentation:
    """The structures of segmentations on one grid, together."""
    return Segmentation(parts[0].geometry, LabelSet(tuple(s for part in parts for s in part.labels)),
                        {name: mask for part in parts for name, mask in part.masks.items()})


def _cases(shared_data, slicerio_data) -> dict:
    aal, brodmann = _atlas_slab(shared_data, "aal.nii.gz", 1), _atlas_slab(shared_data, "brodmann.nii.gz", 1000)
    folder = shared_data / "hc18_fetal_head_us"
    picture = read_image(folder / "images/000_HC.png", 0.0691)
    head = read_image(folder / "masks/000_HC_mask.png", 0.0691).array > 0
    half = head.copy()
    half[:, :, : head.shape[2] // 2] = False
    grid = Image(np.zeros((20, 24, 28), np.uint8), spacing=(0.8, 0.9, 1.5))
    blobs = _blobs(grid.shape, 60, seed=5)
    return {
        "slicer's overlapping file": read_segmentation(slicerio_data / "SegmentationOverlapping.seg.nrrd"),
        "two atlases, overlapping": _merged(aal, brodmann),
        "one atlas, apart, many empty": aal,
        "a picture (2D), overlapping": Segmentation(picture.with_array(np.zeros(picture.shape, np.uint8)),
                                                    LabelSet.from_values([1, 2], {1: "head", 2: "right half"}), {"head": head, "right half": half}),
        "60 blobs": Segmentation(grid, LabelSet.from_values(list(range(1, 61))), {f"label_{v}": blob for v, blob in zip(range(1, 61), blobs)}),
        "all empty": Segmentation(grid, LabelSet.from_values([3, 4]), {"label_3": np.zeros(grid.shape, bool), "label_4": np.zeros(grid.shape, bool)}),
    }


def test_seg_nrrd_is_written_byte_for_byte_as_with_slicerio_add_segment(shared_data, slicerio_data, tmp_path, monkeypatch):
    """Before, each structure went through slicerio.add_segment, which reads the whole grid per layer and structure:
    136.6 s for the AAL atlas on Colin27's 0.5 mm brain. The reference here is that path itself."""
    layers = {}
    for index, (case, segmentation) in enumerate(_cases(shared_data, slicerio_data).items()):
        write_seg_nrrd(segmentation, tmp_path / f"{index}.seg.nrrd")
        with monkeypatch.context() as patch:
            patch.setattr(segmentations, "add_segment", slicerio.add_segment)
            write_seg_nrrd(segmentation, tmp_path / f"{index}.slicerio.seg.nrrd")
        assert (tmp_path / f"{index}.seg.nrrd").read_bytes() == (tmp_path / f"{index}.slicerio.seg.nrrd").read_bytes(), case
        voxels = slicerio.read_segmentation(str(tmp_path / f"{index}.seg.nrrd"))["voxels"]
        layers[case] = voxels.shape[0] if voxels.ndim == 4 else 1
    assert layers["two atlases, overlapping"] > 1 and layers["a picture (2D), overlapping"] == 2 and layers["60 blobs"] > 2
    assert layers["one atlas, apart, many empty"] == 1


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_add_segment_follows_slicerio_add_segment(dtype):
    """Overlapping random blobs, an empty one, and 300 single voxels (a uint8 layer holds 255 values: the rest go on a
    new layer) are placed as slicerio.add_segment places them: the same voxels, layers, values and extents."""
    shape = (14, 17, 19)  # (i, j, k), as slicerio takes masks
    masks = [blob.transpose(2, 1, 0) for blob in _blobs(shape[::-1], 25, seed=11)] + [np.zeros(shape, bool)]
    points = np.zeros((300, *shape), bool)
    points.reshape(300, -1)[np.arange(300), np.arange(300) * 7] = True
    masks += list(points)
    ours, theirs = (slicerio.create_segmentation(shape, np.eye(4), dtype=dtype) for _ in range(2))
    for index, mask in enumerate(masks):
        segment = {"id": f"Segment_{index}", "name": f"s{index}", "color": [0.1, 0.2, 0.3]}
        assert list(add_segment(ours, mask, segment).items()) == list(slicerio.add_segment(theirs, mask, segment).items())
    assert ours["voxels"].dtype == theirs["voxels"].dtype and ours["voxels"].shape == theirs["voxels"].shape
    np.testing.assert_array_equal(ours["voxels"], theirs["voxels"])
    assert [list(s.items()) for s in ours["segments"]] == [list(s.items()) for s in theirs["segments"]]
    assert ours["voxels"].ndim == 4
